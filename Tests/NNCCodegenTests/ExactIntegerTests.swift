// Integer pad values and constants reach results exactly, in the interpreter and in compiled
// code; the exact comparison `nnc run --check` uses; the allocation check.

import NNCIR
import NNCPasses
import NNCRuntime
import Testing

@Suite struct ExactIntegerTests {
  static let graph = """
    swiftgraph 1
    func @f(%x: i64[1], %y: f32[1], %z: i32[1]) -> (i64[2], i64[3], i64[2], i64[3], f32[2], i32[2]) {
      %0 = pad %x low=[1] high=[0] value=9007199254740993
      %1 = const 9007199254740993 : i64[]
      %2 = add %x, %1
      %3 = pad %2 low=[0] high=[2] value=-9223372036854775808
      %4 = const [9007199254740993, -9007199254740993] : i64[2]
      %5 = const 9223372036854775807 : i64[3]
      %6 = pad %y low=[1] high=[0] value=1152921573326323713
      %7 = pad %z low=[0] high=[1] value=3000000000
      return %0, %3, %4, %5, %6, %7
    }
    """

  /// Hand-computed: 2^53 + 1 and its sum with 5; Int64.min; Int64.max; the f32 nearest to
  /// 2^60 + 2^36 + 1 (bits 0x5D800001, rounded once); 3e9 saturated to Int32.max.
  static let expected: [NDArray] = [
    NDArray([9_007_199_254_740_993, 5] as [Int64], shape: [2]),
    NDArray([9_007_199_254_740_998, .min, .min] as [Int64], shape: [3]),
    NDArray([9_007_199_254_740_993, -9_007_199_254_740_993] as [Int64], shape: [2]),
    NDArray([.max, .max, .max] as [Int64], shape: [3]),
    NDArray([Float(bitPattern: 0x5D80_0001), 1.5], shape: [2]),
    NDArray([7, .max] as [Int32], shape: [2]),
  ]

  static let inputs = [
    NDArray([5] as [Int64], shape: [1]), NDArray([1.5] as [Float], shape: [1]), NDArray([7] as [Int32], shape: [1]),
  ]

  @Test func interpreterIsExact() throws {
    let f = try loadGraph(Self.graph).functions[0]
    #expect(try Interpreter.run(f, Self.inputs) == Self.expected)
  }

  @Test func compiledCodeIsExact() throws {
    let g = try loadGraph(Self.graph)
    let entry = try #require(try compileAndLoad(g)["f"])
    #expect(try entry.run(Self.inputs) == Self.expected)
  }

  // MARK: - exact comparison

  @Test func floatsCompareByBitsExceptNaN() {
    let a = NDArray([0.0, 1, .nan] as [Float], shape: [3])
    #expect(ExactComparison.firstDifference(a, NDArray([0.0, 1, -Float.nan] as [Float], shape: [3])) == nil)
    #expect(ExactComparison.firstDifference(a, NDArray([0.0, 1, Float(bitPattern: 0x7FC0_0001)] as [Float], shape: [3])) == nil)
    #expect(ExactComparison.firstDifference(a, NDArray([-0.0, 1, .nan] as [Float], shape: [3])) == 0)
    #expect(ExactComparison.firstDifference(a, NDArray([0.0, 1.0000001, .nan] as [Float], shape: [3])) == 1)
    #expect(ExactComparison.firstDifference(a, NDArray([0.0, 1, 1] as [Float], shape: [3])) == 2)
    let d = NDArray([1e300, 0] as [Double], shape: [2])
    #expect(ExactComparison.firstDifference(d, NDArray([1e300, -0.0] as [Double], shape: [2])) == 1)
  }

  @Test func integersCompareExactly() {
    // Equal as Doubles (both 2^53), different as integers.
    let a = NDArray([9_007_199_254_740_993] as [Int64], shape: [1])
    #expect(ExactComparison.firstDifference(a, NDArray([9_007_199_254_740_992] as [Int64], shape: [1])) == 0)
    #expect(ExactComparison.firstDifference(a, a) == nil)
    #expect(ExactComparison.firstDifference(NDArray([true, false], shape: [2]), NDArray([true, true], shape: [2])) == 1)
    #expect(ExactComparison.firstDifference(NDArray([1] as [Int32], shape: [1]), NDArray([1] as [Int64], shape: [1])) == 0)
  }

  @Test func mismatchMessageNamesResultCoordinatesAndValues() {
    let compiled = NDArray([1, 2, 3, 4, 5, -0.0] as [Float], shape: [2, 3])
    let interpreted = NDArray([1, 2, 3, 4, 5, 0] as [Float], shape: [2, 3])
    #expect(
      ExactComparison.mismatch(result: 1, compiled: compiled, interpreted: interpreted)
        == "result 1 differs from the interpreter at [1, 2]: compiled -0.0, interpreter 0.0")
    #expect(ExactComparison.mismatch(result: 0, compiled: compiled, interpreted: compiled) == nil)
    #expect(
      ExactComparison.mismatch(
        result: 0, compiled: NDArray([9_007_199_254_740_993] as [Int64], shape: []),
        interpreted: NDArray([9_007_199_254_740_992] as [Int64], shape: []))
        == "result 0 differs from the interpreter at []: compiled 9007199254740993, interpreter 9007199254740992")
    #expect(
      ExactComparison.mismatch(
        result: 2, compiled: NDArray([Float.nan, 1e20], shape: [2]), interpreted: NDArray([Float.nan, 1e-7], shape: [2]))
        == "result 2 differs from the interpreter at [1]: compiled 1e+20, interpreter 1e-07")
    #expect(
      ExactComparison.mismatch(result: 0, compiled: NDArray([true], shape: [1]), interpreted: NDArray([false], shape: [1]))
        == "result 0 differs from the interpreter at [0]: compiled true, interpreter false")
    #expect(
      ExactComparison.mismatch(result: 0, compiled: NDArray([1] as [Int32], shape: [1]), interpreted: NDArray([1] as [Int64], shape: [1]))
        == "result 0 is i32[1] compiled but i64[1] in the interpreter")
  }

  // MARK: - allocation checks

  @Test func bytesAreFormattedWithThreeDigits() {
    #expect(Memory.format(bytes: 1) == "1 byte")
    #expect(Memory.format(bytes: 999) == "999 bytes")
    #expect(Memory.format(bytes: 1500) == "1.5 kB")
    #expect(Memory.format(bytes: 12_345_678) == "12.3 MB")
    #expect(Memory.format(bytes: 999_500) == "1 MB")
    #expect(Memory.format(bytes: 400_000_000_000) == "400 GB")
    #expect(Memory.format(bytes: 4_000_000_000_000_000) == "4 PB")
  }

  @Test func impossibleAllocationsThrowNamingTheBuffer() throws {
    // No machine has 2^62 bytes.
    #expect(throws: OutOfMemoryError.self) { try Memory.checkAllocation(bytes: 1 << 62, what: "x") }
    do {
      try Memory.checkArray(TensorType(.f32, [.int(100_000), .int(100_000), .int(10)]), what: "result 0 of @f")
      Issue.record("400 GB was accepted")
    } catch {
      #expect(error.bytes == 400_000_000_000)
      #expect(error.description.hasPrefix("result 0 of @f: f32[100000,100000,10] needs 400 GB: out of memory (at most "))
    }
    // Small buffers pass; an overflowed (negative) size does not.
    try Memory.checkAllocation(bytes: 4096, what: "small")
    #expect(throws: OutOfMemoryError.self) { try Memory.checkAllocation(bytes: -1, what: "overflow") }
    #expect(Memory.limit > 1 << 20)
  }
}
