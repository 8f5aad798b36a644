// The Tensor API at the edges, where it follows PyTorch (true division, the default float dtype,
// integer sums and powers, printing, item(), contiguity) and where it deliberately differs
// (integer x / 0, misuse instead of exceptions). Expected values are worked out by hand in the
// comments; NumPy-computed cases are in Tests/Fixtures/tensor_ops.json.

import Foundation
import NNC
import NNCIR
import NNCPasses
import NNCRuntime
import Testing

/// The error `body` throws inside `withTensorErrors` (nil when none).
private func misuse(_ body: () -> Void) -> TensorError? {
  do { try withTensorErrors(body) } catch let e as TensorError { return e } catch {}
  return nil
}

/// A line of this file, as a TensorError locates it.
private func line(_ n: Int) -> Location { Location(file: "NNCTests/TensorSemanticsTests.swift", line: n) }

private func ints(_ t: Tensor) -> [Int64] { t.scalars(as: Int64.self) }
private func floats(_ t: Tensor) -> [Float] { t.scalars(as: Float.self) }

@Suite struct TensorSemanticsTests {
  // MARK: - 1. true division

  @Test func integerTrueDivisionIsFloat() {
    // The MNIST case: pixels / 255 keeps the fractions (it truncated to 0 before).
    let img = Tensor([0, 3, 128, 255] as [Int])
    let x = img / 255
    #expect(x.dtype == .f32)
    #expect(floats(x) == [0, Float(3) / 255, Float(128) / 255, 1])
    #expect(img.div(255).dtype == .f32)
    #expect((Tensor([1, 2] as [Int32]) / Tensor([2, 4] as [Int32])).scalars(as: Float.self) == [0.5, 0.5])
    // An f64 operand keeps f64; an f32 one f32.
    #expect((img / Tensor([2.0], dtype: .f64)).dtype == .f64)
    #expect((Tensor([true, false]) / 2).scalars(as: Float.self) == [0.5, 0])
    // Integer true division by zero is float division: 1/0 = inf, 0/0 = nan (as in PyTorch).
    let z = Tensor([1, 0] as [Int]) / 0
    #expect(floats(z)[0] == .infinity && floats(z)[1].isNaN)
  }

  @Test func roundingDivisionKeepsIntegers() {
    let a = Tensor([-7, 7, -7, 7, 6, 0] as [Int])
    let b = Tensor([2, 2, -2, -2, 3, 5] as [Int])
    // -7 / 2 = -3.5: trunc -3, floor -4; 7 / -2: trunc -3, floor -4; -7 / -2 = 3.5: 3 and 3.
    #expect(ints(a.div(b, roundingMode: .trunc)) == [-3, 3, 3, -3, 2, 0])
    #expect(ints(a.div(b, roundingMode: .floor)) == [-4, 3, 3, -4, 2, 0])
    #expect(ints(a.floorDivide(b)) == [-4, 3, 3, -4, 2, 0])
    #expect(a.floorDivide(2).dtype == .i64)
    #expect(Tensor([-7] as [Int32]).floorDivide(2).scalars(as: Int32.self) == [-4])
    // Integer division by zero gives 0 in both modes (the IR's rule; PyTorch raises).
    #expect(ints(Tensor([-7, 7, 0] as [Int]).div(0, roundingMode: .floor)) == [0, 0, 0])
    #expect(ints(Tensor([-7, 7, 0] as [Int]).div(0, roundingMode: .trunc)) == [0, 0, 0])
    // Int64.min / -1 wraps to Int64.min (floor and trunc agree: the remainder is 0).
    #expect(ints(Tensor([Int64.min]).floorDivide(-1)) == [Int64.min])
    // Floats: trunc(-3.75) = -3, floor(-3.75) = -4; the dtype stays f32.
    let f = Tensor([-7.5, 7.5] as [Float])
    #expect(floats(f.div(2, roundingMode: .trunc)) == [-3, 3])
    #expect(floats(f.div(2, roundingMode: .floor)) == [-4, 3])
    #expect(misuse { _ = Tensor([true]).floorDivide(Tensor([true])) }?.message == "div: rounding mode floor is not defined for bool tensors: bool[1] / bool[1]")
  }

  @Test func inPlaceTrueDivisionOfIntegersIsAMisuse() throws {
    let a = Tensor([4, 6] as [Int])
    let e = try #require(misuse { a.div_(Tensor([2] as [Int])) })
    #expect(e.message == "in-place op: result type f32 can't be cast to the desired output type i64")
    #expect(e.location == line(#line - 2))
    #expect(ints(a) == [4, 6])
    #expect(misuse { a += 0.5 }?.message == "in-place op: result type f32 can't be cast to the desired output type i64")
    let f = Tensor([4, 6] as [Float])
    f.div_(Tensor([2] as [Int]))
    #expect(floats(f) == [2, 3])
  }

  @Test func divisionModesTraceAndMatchEager() throws {
    let a = Tensor([-7, 7, -9, 9, 0, 5] as [Int])
    let b = Tensor([2, 2, -4, 4, 3, 0] as [Int])
    let t = trace([a, b], names: ["a", "b"]) { x in
      [x[0].div(x[1], roundingMode: .floor), x[0].div(x[1], roundingMode: .trunc), x[0] / x[1], x[0].pow(x[1].abs())]
    }
    let results = try Interpreter.run(t.function, [a.array, b.array])
    // -7 // 2 = -4, 7 // 2 = 3, -9 // -4 = 2, 9 // 4 = 2, 0 // 3 = 0, 5 // 0 = 0.
    #expect(results[0] == Tensor([-4, 3, 2, 2, 0, 0] as [Int]).array)
    #expect(results[1] == Tensor([-3, 3, 2, 2, 0, 0] as [Int]).array)
    #expect(results[2].dtype == .f32)
    // (-7)^2 = 49, 7^2 = 49, (-9)^4 = 6561, 9^4 = 6561, 0^3 = 0, 5^0 = 1.
    #expect(results[3] == Tensor([49, 49, 6561, 6561, 0, 1] as [Int]).array)
  }

  // MARK: - 2. default float dtype

  @Test func doublesMakeF32TensorsByDefault() {
    #expect(Tensor([1.0, 2.0]).dtype == .f32)
    #expect(Tensor([[1.0, 2.0], [3.0, 4.0]]).dtype == .f32)
    #expect(Tensor([[[1.0]]]).dtype == .f32)
    #expect(Tensor(scalar: 2.5).dtype == .f32)
    #expect(Tensor([1.0, 2.0, 3.0, 4.0], shape: [2, 2]).dtype == .f32)
    // Mixing with f32 weights stays f32 (it promoted everything to f64 before).
    let w = Tensor.randn([2, 2], generator: RandomGenerator(seed: 1))
    #expect((Tensor([1.0, 2.0]).matmul(w) + Tensor([0.5, 0.5])).dtype == .f32)
    // dtype: .f64 keeps Doubles exactly.
    let exact = Tensor([0.1, 1e300, 5e-324], dtype: .f64)
    #expect(exact.dtype == .f64)
    #expect(exact.scalars(as: Double.self) == [0.1, 1e300, 5e-324])
    #expect(Tensor(scalar: 0.1, dtype: .f64).item(as: Double.self) == 0.1)
    // Creation functions: float defaults are f32; integer fill values give i64, exactly.
    #expect(Tensor.full([2], 7.5).dtype == .f32)
    #expect(Tensor.full([2], 7).dtype == .i64)
    #expect(Tensor.full([1], 9_007_199_254_740_993).item(as: Int64.self) == 9_007_199_254_740_993)
    #expect(Tensor.arange(0.0, 1.0, step: 0.5).dtype == .f32)
    #expect(Tensor.linspace(0, 1, count: 3).dtype == .f32)
    #expect(Tensor.rand([2]).dtype == .f32)
    #expect(Tensor.randn([2]).dtype == .f32)
    #expect(Tensor.eye(2).dtype == .f32)
    #expect(Tensor.zeros([2]).dtype == .f32)
    #expect(Tensor.arange(3).dtype == .i64)
  }

  // MARK: - 3. integer sums

  @Test func integerSumsAreI64() throws {
    // 2147483647 + 1 = 2147483648 (wrapped to -2147483648 in i32 before).
    let s = Tensor([Int32.max, 1])
    #expect(s.sum().dtype == .i64)
    #expect(s.sum().item(as: Int64.self) == 2_147_483_648)
    #expect(Tensor([true, true, false]).sum().item(as: Int64.self) == 2)
    #expect(Tensor([[1, 2], [3, 4]] as [[Int32]]).sum(axis: 0).scalars(as: Int64.self) == [4, 6])
    // max and min keep the dtype, bool included.
    #expect(Tensor([true, false]).max().dtype == .bool)
    #expect(Tensor([Int32(3), 5]).max().dtype == .i32)
    let e = try #require(misuse { _ = Tensor([1, 2] as [Int]).mean() })
    #expect(e.message == "mean: could not infer output dtype. Input dtype must be a floating point dtype, got i64")
    #expect(e.location == line(#line - 2))
    #expect(misuse { _ = Tensor([true]).mean(axis: 0) } != nil)
    #expect(Tensor([1, 2] as [Int]).to(.f32).mean().item() == 1.5)
  }

  // MARK: - 4. integer pow

  @Test func integerPowKeepsTheDtype() throws {
    let p = Tensor.arange(4).pow(2)
    #expect(p.dtype == .i64)
    #expect(ints(p) == [0, 1, 4, 9])
    #expect(Tensor([Int32(-2)]).pow(3).scalars(as: Int32.self) == [-8])
    // 3^40 = 12157665459056928801 wraps mod 2^64 to -6289078614652622815.
    #expect(ints(Tensor([3] as [Int]).pow(40)) == [-6_289_078_614_652_622_815])
    // 0^0 = 1; a negative tensor exponent truncates: 1^-1 = 1, (-1)^-3 = -1, (-1)^-2 = 1, 2^-1 = 0.
    #expect(ints(Tensor([0, 1, -1, -1, 2] as [Int]).pow(Tensor([0, -1, -3, -2, -1] as [Int]))) == [1, 1, -1, 1, 0])
    // A float tensor keeps its dtype with an integer exponent; a float exponent makes ints f32.
    #expect(Tensor([1.5] as [Float]).pow(2).scalars(as: Float.self) == [2.25])
    #expect(Tensor([4] as [Int]).pow(0.5).dtype == .f32)
    let e = try #require(misuse { _ = Tensor([2] as [Int]).pow(-1) })
    #expect(e.message == "pow: Integers to negative integer powers are not allowed.")
    #expect(e.location == line(#line - 2))
    #expect(Tensor([2.0] as [Float]).pow(-1).scalars(as: Float.self) == [0.5])
  }

  // MARK: - 5. printing

  @Test func integersPrintExactly() {
    #expect(Tensor([Int64.max]).description == "[9223372036854775807]\n[Tensor i64 1]")
    #expect(Tensor([Int64.min, 0]).description == "[-9223372036854775808,                    0]\n[Tensor i64 2]")
    // 2^53 + 1 printed through Double would read 9007199254740992.
    #expect(Tensor([Int64(1 << 53) + 1]).description == "[9007199254740993]\n[Tensor i64 1]")
    #expect(Tensor([Int32.min]).description == "[-2147483648]\n[Tensor i32 1]")
  }

  @Test func printingFormatsOnlyWhatIsShown() {
    // 2000x2000: only the 6x6 corner elements are shown. The hidden elements below would widen
    // every column (Int64.min) or switch floats to scientific notation (1e30) if they were
    // formatted too.
    let n = 2000
    let i = Tensor.zeros([n, n], dtype: .i64)
    i[0, 0] = 7
    i[1000, 1000] = Int(Int64.min)
    i[1999, 1999] = -12
    let row = "[  0,   0,   0, ...,   0,   0,   0]"
    #expect(
      i.description == """
        [[  7,   0,   0, ...,   0,   0,   0],
         \(row),
         \(row),
         ...,
         \(row),
         \(row),
         [  0,   0,   0, ...,   0,   0, -12]]
        [Tensor i64 2000x2000]
        """)
    let f = Tensor.zeros([n, n])
    f[0, 1] = 1.5
    f[500, 500] = 1e30
    f[3, 0] = -1e-9
    let text = f.description
    #expect(!text.contains("e+") && !text.contains("e-"))
    #expect(text.hasPrefix("[[0.0000, 1.5000, 0.0000, ..., 0.0000, 0.0000, 0.0000],\n [0.0000, 0.0000,"))
    #expect(text.split(separator: "\n").count == 8)
    // Views print their own elements (strides followed, nothing copied).
    #expect(Tensor.arange(6).view(2, 3).t().description == "[[0, 3],\n [1, 4],\n [2, 5]]\n[Tensor i64 3x2]")
    #expect(Tensor.zeros([2, 0]).description == "[[],\n []]\n[Tensor f32 2x0]")
  }

  // MARK: - 6. item() types

  @Test func itemIsExact() {
    let big = Tensor([Int64.max])
    #expect(big.item(as: Int64.self) == Int64.max)
    let typed: Int64 = big.item()
    #expect(typed == Int64.max)
    let asInt: Int = Tensor([Int64(1 << 53) + 1]).item()
    #expect(asInt == (1 << 53) + 1)
    #expect(Tensor([0.1], dtype: .f64).item(as: Double.self) == 0.1)
    let d: Double = Tensor([0.1], dtype: .f64).item()
    #expect(d == 0.1)
    // The Float convenience rounds to the nearest Float.
    #expect(Tensor([Int64(1 << 24) + 1]).item() == Float(1 << 24))
    // Other types convert as `to(_:)`: i64 -> i32 wraps, f32 -> i64 truncates and saturates.
    #expect(Tensor([Int64(1 << 32) + 5]).item(as: Int32.self) == 5)
    #expect(Tensor([-2.75] as [Float]).item(as: Int64.self) == -2)
    #expect(Tensor([Float.infinity]).item(as: Int64.self) == Int64.max)
    #expect(Tensor([Int64.max, Int64.min + 1]).scalars(as: Int64.self) == [Int64.max, Int64.min + 1])
    #expect(Tensor([9_007_199_254_740_993] as [Int]).scalars(as: Int.self) == [9_007_199_254_740_993])
    // A bool reading of an integer: non-zero is true.
    #expect(Tensor([Int64(1) << 40]).item(as: Bool.self))
    #expect(misuse { let _: Int64 = Tensor.zeros([0], dtype: .i64).item() }?.message == "item: i64[0] has 0 elements, not 1")
  }

  // MARK: - 7. contiguity

  @Test func emptyAndSizeOneDimsAreContiguous() {
    let empty = Tensor.zeros([2, 0])
    #expect(empty.isContiguous)
    #expect(empty.reshape(0, 2).shape == [0, 2])
    #expect(empty.view(0, 5).shape == [0, 5])
    #expect(empty.t().isContiguous)
    let x = Tensor.arange(12).view(3, 4)
    let column = x[.all, 1..<2]
    #expect(!column.isContiguous)
    let v = column.view(3)
    #expect(v.storage === x.storage)
    #expect(ints(v) == [1, 5, 9])
    #expect(v.strides == [4])
    v[0] = 100
    #expect(ints(x)[1] == 100)
    // Splitting and merging dims that keep their spacing are views too (PyTorch's rule):
    // every other column of a 4x6 matrix is one walk with step 2.
    let strided = Tensor.arange(24).view(4, 6)[.all, .stride(0..<6, by: 2)]  // shape [4, 3], strides [6, 2]
    #expect(strided.view(2, 2, 3).strides == [12, 6, 2])
    #expect(strided.view(12).strides == [2])
    #expect(strided.view(12).storage === strided.storage)
    #expect(ints(strided.view(12)) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22])
    // The first 3 columns: rows 0,1,2 then 6,7,8, so merging rows needs a copy: view refuses,
    // reshape copies.
    let left = Tensor.arange(24).view(4, 6)[.all, 0..<3]  // shape [4, 3], strides [6, 1]
    #expect(left.view(2, 2, 3).strides == [12, 6, 1])
    #expect(misuse { _ = left.view(12) }?.message == "view: i64[4,3] with strides [6, 1] cannot be viewed as [12] without a copy; use reshape(), which copies")
    #expect(ints(left.reshape(12)) == [0, 1, 2, 6, 7, 8, 12, 13, 14, 18, 19, 20])
    #expect(left.reshape(12).storage !== left.storage)
  }

  @Test func viewsOfNonContiguousTensorsTrace() throws {
    let x = Tensor.arange(12).view(3, 4)
    let t = trace([x], names: ["x"]) { x in
      let v = x[0][.all, 1..<2].view(3)
      v[1] = -1
      return [v * 2, x[0]]
    }
    let results = try Interpreter.run(t.function, [Tensor.arange(12).view(3, 4).array])
    #expect(results[0] == Tensor([2, -2, 18] as [Int]).array)
    #expect(results[1] == Tensor([0, 1, 2, 3, 4, -1, 6, 7, 8, 9, 10, 11] as [Int], shape: [3, 4]).array)
  }

  // MARK: - 8. huge sizes

  @Test func hugeAllocationsAreMisuses() throws {
    let e = try #require(misuse { _ = Tensor.zeros([1 << 20, 1 << 20]) })
    #expect(e.message.hasPrefix("zeros: f32[1048576,1048576] needs 4.4 TB: out of memory (at most ") == true)
    #expect(e.location == line(#line - 2))
    #expect(misuse { _ = Tensor.ones([1 << 21, 1 << 20], dtype: .f64) }?.message.hasPrefix("ones: f64[2097152,1048576] needs 17.6 TB: out of memory (at most ") == true)
    #expect(misuse { _ = Tensor.full([3 << 19, 1 << 20], 1) }?.message.hasPrefix("full: i64[1572864,1048576] needs 13.2 TB: out of memory (at most ") == true)
    #expect(misuse { _ = Tensor.randn([1 << 40]) }?.message.hasPrefix("randn: f32[1099511627776] needs 4.4 TB: out of memory (at most ") == true)
    #expect(misuse { _ = Tensor.rand([1 << 40]) } != nil)
    #expect(misuse { _ = Tensor.randint(0, 2, [1 << 40]) } != nil)
    #expect(misuse { _ = Tensor.eye(1 << 20) }?.message.hasPrefix("eye: f32[1048576,1048576] needs 4.4 TB: out of memory (at most ") == true)
    #expect(misuse { _ = Tensor.arange(0, 1 << 42) }?.message.hasPrefix("arange: i64[4398046511104] needs 35.2 TB: out of memory (at most ") == true)
    #expect(misuse { _ = Tensor.arange(Int.min, Int.max) }?.message == "arange: \(Int.min)..<\(Int.max) by 1 has more than 2^48 elements")
    #expect(misuse { _ = Tensor.arange(0.0, 1e300) }?.message == "arange: 0.0..<1e+300 by 1.0 has too many elements")
    #expect(misuse { _ = Tensor.linspace(0, 1, count: 1 << 40) } != nil)
    // An expanded view stores one element but stands for 2^40: computing with it is the misuse.
    let wide = Tensor.zeros([1]).expand([1 << 20, 1 << 20])
    #expect(misuse { _ = wide.sum() }?.message.hasPrefix("sum: f32[1048576,1048576] needs 4.4 TB: out of memory (at most ") == true)
    #expect(misuse { _ = wide + 1 }?.message.hasPrefix("add: f32[1048576,1048576] needs 4.4 TB: out of memory (at most ") == true)
    // Copies and reads of it check too, and a wrong count of values for a huge shape does not
    // allocate that shape as its placeholder.
    #expect(misuse { _ = wide.contiguous() }?.message.hasPrefix("contiguous: f32[1048576,1048576] needs 4.4 TB: out of memory (at most ") == true)
    #expect(misuse { _ = wide.clone() } != nil)
    // Flattening the all-stride-0 view is still a view (stride 0), as in PyTorch; flattening
    // one whose rows differ needs the copy.
    #expect(wide.reshape(-1).strides == [0])
    let rows = Tensor.zeros([2, 1]).expand([2, 1 << 40])
    #expect(misuse { _ = rows.reshape(-1) }?.message.hasPrefix("contiguous: f32[2,1099511627776] needs 8.8 TB: out of memory (at most ") == true)
    #expect(misuse { _ = wide.scalars(as: Float.self) }?.message.hasPrefix("scalars: f32[1048576,1048576] needs 4.4 TB: out of memory (at most ") == true)
    #expect(misuse { _ = Tensor([1.0], shape: [1 << 20, 1 << 20]) }?.message == "Tensor(_:shape:): 1 values do not fill shape [1048576, 1048576]")
    // Sizes past 2^48 elements are reported as bad shapes.
    #expect(misuse { _ = Tensor.zeros([1 << 30, 1 << 30]) }?.message == "zeros: bad shape [1073741824, 1073741824] (sizes must be >= 0 and hold at most 2^48 elements)")
    // A 1 MiB tensor is fine.
    #expect(Tensor.zeros([1 << 18]).count == 1 << 18)
  }

  // MARK: - 9. method forms carry the caller's line

  @Test func methodFormsOfOperatorsCarryTheLine() throws {
    let a = Tensor.zeros([2, 3])
    let b = Tensor.zeros([4])
    /// The misuse `body` reports is located at line `l` (the line `body` is written on).
    func located(_ body: () -> Void, _ l: Int) {
      let e = misuse(body)
      #expect(e != nil && e?.location == line(l), "line \(l)")
    }
    located({ _ = a.gt(b) }, #line)
    located({ _ = a.lt(b) }, #line)
    located({ _ = a.ge(b) }, #line)
    located({ _ = a.le(b) }, #line)
    located({ _ = a.eq(b) }, #line)
    located({ _ = a.ne(b) }, #line)
    located({ _ = a.add(b) }, #line)
    located({ _ = a.sub(b) }, #line)
    located({ _ = a.mul(b) }, #line)
    located({ _ = a.div(b) }, #line)
    located({ _ = a.neg().add(b) }, #line)
    located({ a.add_(b) }, #line)
    located({ a.sub_(b) }, #line)
    located({ a.mul_(b) }, #line)
    located({ a.div_(b) }, #line)
    let i = Tensor([1, 2] as [Int])
    located({ i.add_(0.5) }, #line)
    located({ i.div_(2) }, #line)
    i.mul_(3)
    i.sub_(1)
    #expect(ints(i) == [2, 5])
    let f = Tensor([1, 2] as [Float])
    f.div_(2)
    f.add_(0.25)
    #expect(floats(f) == [0.75, 1.25])
    // Operators have no location outside a trace.
    #expect(misuse { _ = a .> b }?.location == nil)
    // Scalar method forms are weak like the operators.
    #expect(Tensor([1, 2] as [Int32]).add(1).dtype == .i32)
    #expect(Tensor([1, 2] as [Int32]).mul(0.5).dtype == .f32)
    #expect(ints(Tensor([1, 2] as [Int]).rsub(10)) == [9, 8])
    #expect(floats(Tensor([2, 4] as [Int]).rdiv(1)) == [0.5, 0.25])
    #expect(Tensor([1, 5] as [Int]).gt(2).scalars(as: Bool.self) == [false, true])
    #expect(Tensor([1.5] as [Float]).le(1.5).item())
  }
}

@Suite struct ExactPadTests {
  /// An integer fill reaches an i64 tensor exactly (eager and traced), 2^53 + 1 included.
  @Test func integerPadValueIsExact() throws {
    let x = Tensor([5] as [Int64])
    let big = (1 << 53) + 1
    #expect(x.padded(low: [1], high: [0], value: big).scalars(as: Int64.self) == [9_007_199_254_740_993, 5])
    let t = trace(x) { x in x.padded(low: [1], high: [0], value: big) }
    #expect(t.text.contains("value=9007199254740993"), "\(t.text)")
    #expect(try Interpreter.run(t.function, [x.array])[0] == NDArray([9_007_199_254_740_993, 5] as [Int64], shape: [2]))
  }
}
