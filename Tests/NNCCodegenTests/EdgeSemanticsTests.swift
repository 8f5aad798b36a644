// The rules of docs/swiftgraph.md "Semantics at the edges", each on hand-computed values, on both
// paths: the interpreter and compiled code must each give the expected result (exactMismatch:
// bit for bit, any NaN equals any NaN, +0.0 and -0.0 differ). NaN propagates through every
// max-like op, argmax/argmin return the first NaN, max/min are IEEE 754-2019
// maximum/minimum for signed zeros, and float sums follow SummationOrder.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

private let nan = Float.nan

/// One function (named `@f`), its inputs and the results it must give.
struct EdgeCase: CustomStringConvertible, Sendable {
  var name: String
  var text: String
  var inputs: [NDArray]
  var expected: [NDArray]
  var description: String { name }
}

private func f32(_ v: [Float], _ shape: [Int]? = nil) -> NDArray { NDArray(v, shape: shape ?? [v.count]) }
private func f64(_ v: [Double], _ shape: [Int]? = nil) -> NDArray { NDArray(v, shape: shape ?? [v.count]) }
private func i64(_ v: [Int64], _ shape: [Int]? = nil) -> NDArray { NDArray(v, shape: shape ?? [v.count]) }

/// `[1e8, 1, -1e8, 1]` repeated: the exact sum of n terms is n/2. Summed left to right in f32 it
/// is 1 (each 1 after 1e8 is lost); in SummationOrder lanes 0, 4 hold +1e8s, lanes 2, 6 the
/// -1e8s (equal, exact multiples of 1e8, which is exact in f32), the odd lanes the 1s: exact.
private func cancelling(_ n: Int) -> [Float] { (0..<n).map { [1e8, 1, -1e8, 1][$0 % 4] } }

let edgeCases: [EdgeCase] = [
  // 1. NaN through max-like ops.
  EdgeCase(
    name: "maxpool2d: a NaN in the window wins",
    text: "func @f(%x: f32[1,1,1,2]) -> f32[1,1,1,1] {\n  %0 = maxpool2d %x kernel=[1,2]\n  return %0\n}",
    inputs: [f32([nan, 1], [1, 1, 1, 2])], expected: [f32([nan], [1, 1, 1, 1])]),
  EdgeCase(
    name: "maxpool2d: NaN second in the window, all-NaN window, padded and strided windows",
    text: """
      func @f(%x: f32[1,1,2,4]) -> (f32[1,1,1,2], f32[1,1,3,3]) {
        %0 = maxpool2d %x kernel=[2,2]
        %1 = maxpool2d %x kernel=[2,2] stride=[1,2] padding=[1,1]
        return %0, %1
      }
      """,
    // Rows [1, nan, 5, 6] and [nan, nan, 7, -inf].
    inputs: [f32([1, nan, 5, 6, nan, nan, 7, -.infinity], [1, 1, 2, 4])],
    // Padded: windows over rows (-1,0), (0,1), (1,2) and columns (-1,0), (1,2), (3,4); padding
    // never wins.
    expected: [f32([nan, 7], [1, 1, 1, 2]), f32([1, nan, 6, nan, nan, 6, nan, nan, -.infinity], [1, 1, 3, 3])]),
  EdgeCase(
    name: "maxpool2d f64 and avgpool2d: NaN propagates",
    text: """
      func @f(%x: f64[1,1,1,4]) -> (f64[1,1,1,2], f64[1,1,1,2]) {
        %0 = maxpool2d %x kernel=[1,2]
        %1 = avgpool2d %x kernel=[1,2]
        return %0, %1
      }
      """,
    inputs: [f64([2, .nan, -.infinity, -1], [1, 1, 1, 4])],
    expected: [f64([.nan, -1], [1, 1, 1, 2]), f64([.nan, -.infinity], [1, 1, 1, 2])]),
  EdgeCase(
    name: "argmax/argmin return the first NaN; reduce_max/min propagate it",
    text: """
      func @f(%x: f32[4]) -> (i64[], i64[], f32[], f32[]) {
        %0 = argmax %x axis=0
        %1 = argmin %x axis=0
        %2 = reduce_max %x axes=[0]
        %3 = reduce_min %x axes=[0]
        return %0, %1, %2, %3
      }
      """,
    inputs: [f32([3, nan, 1, 5])],
    expected: [i64([1], []), i64([1], []), f32([nan], []), f32([nan], [])]),
  EdgeCase(
    name: "argmax along both axes of a matrix with NaNs and ties",
    text: """
      func @f(%x: f64[3,3]) -> (i64[3], i64[3], i64[3], i64[3]) {
        %0 = argmax %x axis=0
        %1 = argmax %x axis=1
        %2 = argmin %x axis=0
        %3 = argmin %x axis=1
        return %0, %1, %2, %3
      }
      """,
    // [[5, 5, nan], [nan, 7, nan], [5, -1, 2]]
    inputs: [f64([5, 5, .nan, .nan, 7, .nan, 5, -1, 2], [3, 3])],
    expected: [i64([1, 1, 0]), i64([2, 0, 0]), i64([1, 2, 0]), i64([2, 0, 1])]),
  EdgeCase(
    name: "max/min with NaN on either side, elementwise",
    text: """
      func @f(%x: f32[3], %y: f32[3]) -> (f32[3], f32[3]) {
        %0 = max %x, %y
        %1 = min %x, %y
        return %0, %1
      }
      """,
    inputs: [f32([nan, 1, nan]), f32([2, nan, nan])],
    expected: [f32([nan, nan, nan]), f32([nan, nan, nan])]),
  // 2. Signed zero: IEEE 754-2019 maximum/minimum.
  EdgeCase(
    name: "max/min of +0.0 and -0.0 in both orders (f32 and f64)",
    text: """
      func @f(%x: f32[4], %y: f32[4], %a: f64[2], %b: f64[2]) -> (f32[4], f32[4], f64[2], f64[2]) {
        %0 = max %x, %y
        %1 = min %x, %y
        %2 = max %a, %b
        %3 = min %a, %b
        return %0, %1, %2, %3
      }
      """,
    inputs: [f32([0, -0.0, -0.0, 0]), f32([-0.0, 0, -0.0, 0]), f64([0, -0.0]), f64([-0.0, 0])],
    expected: [f32([0, 0, -0.0, 0]), f32([-0.0, -0.0, -0.0, 0]), f64([0, 0]), f64([-0.0, -0.0])]),
  EdgeCase(
    name: "reduce_max/min and maxpool2d over signed zeros",
    text: """
      func @f(%x: f32[1,1,1,2]) -> (f32[], f32[], f32[1,1,1,1], f32[]) {
        %0 = reduce_max %x axes=[0,1,2,3]
        %1 = reduce_min %x axes=[0,1,2,3]
        %2 = maxpool2d %x kernel=[1,2]
        %3 = reduce_sum %x axes=[0,1,2,3]
        return %0, %1, %2, %3
      }
      """,
    inputs: [f32([-0.0, 0], [1, 1, 1, 2])],
    expected: [f32([0], []), f32([-0.0], []), f32([0], [1, 1, 1, 1]), f32([0], [])]),
  // 4. Summation order.
  EdgeCase(
    name: "reduce_sum of [1e8, 1, -1e8, 1] x 256 over a symbolic N is exact (512)",
    text: "func @f(%x: f32[N]) -> f32[] {\n  %0 = reduce_sum %x axes=[0]\n  return %0\n}",
    inputs: [f32(cancelling(1024))], expected: [f32([512], [])]),
  EdgeCase(
    name: "reduce_sum rows with a tail (N = 13: one vector group and five tail terms)",
    text: "func @f(%x: f32[2,13]) -> f32[2] {\n  %0 = reduce_sum %x axes=[1]\n  return %0\n}",
    // Row 0: columns 0..7 (1e8 each) fill lanes 0..7; the tail columns 8..12 (1s) go to lanes
    // 0..4, where 1e8 + 1 rounds to 1e8 (f32 spacing 8): the lanes combine to 8e8 exactly.
    // Row 1: 2^24 and twelve 1s. Lane 0 = 2^24 + 1 = 2^24 (spacing 2, ties to even); lanes 1..4
    // = 2, lanes 5..7 = 1. ((l0+l4)+(l2+l6)) = (2^24+2)+3 = 16777221 -> 16777220 (ties to
    // even); ((l1+l5)+(l3+l7)) = 6; total 16777226. (Left to right gives 16777216; exact is
    // 16777228.)
    inputs: [f32([Float](repeating: 1e8, count: 8) + [Float](repeating: 1, count: 5) + [16_777_216] + [Float](repeating: 1, count: 12), [2, 13])],
    expected: [f32([8e8, 16_777_226])]),
  EdgeCase(
    name: "reduce_sum over the first axis adds row by row from -0.0; empty sums are +0.0",
    text: """
      func @f(%x: f32[3,2], %e: f32[0,2], %z: f32[2,2]) -> (f32[2], f32[2], f32[0], f32[2]) {
        %0 = reduce_sum %x axes=[0]
        %1 = reduce_sum %e axes=[0]
        %2 = reduce_sum %e axes=[1]
        %3 = reduce_sum %z axes=[1]
        return %0, %1, %2, %3
      }
      """,
    // Column 0: (1e8 + 1) + -1e8 = 0 in f32; column 1: -0.0 three times.
    inputs: [f32([1e8, -0.0, 1, -0.0, -1e8, -0.0], [3, 2]), f32([], [0, 2]), f32([-0.0, -0.0, -0.0, 0], [2, 2])],
    expected: [f32([0, -0.0]), f32([0, 0]), f32([], [0]), f32([-0.0, 0])]),
  EdgeCase(
    name: "matmul, conv2d and avgpool2d add their terms in order from +0.0",
    text: """
      func @f(%a: f32[1,4], %b: f32[4,1], %x: f32[1,1,1,4], %w: f32[1,1,1,4], %z: f32[1,1], %o: f32[1,1]) -> (f32[1,1], f32[1,1,1,1], f32[1,1,1,1], f32[1,1]) {
        %0 = matmul %a, %b
        %1 = conv2d %x, %w
        %2 = avgpool2d %x kernel=[1,4]
        %3 = matmul %z, %o
        return %0, %1, %2, %3
      }
      """,
    // ((((0 + 1e8) + 1) - 1e8) + 1) = 1 in f32 (the first 1 is lost next to 1e8); the average
    // divides that by 4. A product of -0.0 added to +0.0 is +0.0.
    inputs: [
      f32([1e8, 1, -1e8, 1], [1, 4]), f32([1, 1, 1, 1], [4, 1]), f32([1e8, 1, -1e8, 1], [1, 1, 1, 4]),
      f32([1, 1, 1, 1], [1, 1, 1, 4]), f32([-0.0], [1, 1]), f32([1], [1, 1]),
    ],
    expected: [f32([1], [1, 1]), f32([1], [1, 1, 1, 1]), f32([0.25], [1, 1, 1, 1]), f32([0], [1, 1])]),
  EdgeCase(
    name: "reduce_sum whose partial sums overflow follows the order (inf - inf = NaN)",
    text: "func @f(%x: f32[N]) -> f32[] {\n  %0 = reduce_sum %x axes=[0]\n  return %0\n}",
    // [3e38, -3e38] x 512: the even lanes overflow to +inf, the odd ones to -inf.
    inputs: [f32((0..<1024).map { $0 % 2 == 0 ? 3e38 : -3e38 })], expected: [f32([nan], [])]),
]

private let edgeEntries: Result<[String: CompiledEntry], Error> = Result {
  var g = Graph()
  for (k, c) in edgeCases.enumerated() {
    var f = try loadGraph("swiftgraph 1\n" + c.text, file: "edge\(k)").functions[0]
    f.name = "e\(k)"
    g.functions.append(f)
  }
  return try compileAndLoad(g)
}

@Suite struct EdgeSemanticsTests {
  @Test(arguments: Array(edgeCases.indices))
  func bothPathsGiveTheRuleValue(_ k: Int) throws {
    let c = edgeCases[k]
    let entry = try #require(try edgeEntries.get()["e\(k)"])
    let interpreted = try Interpreter.run(entry.function, c.inputs)
    let compiled = try entry.run(c.inputs)
    for (i, e) in c.expected.enumerated() {
      #expect(exactMismatch(interpreted[i], e) == nil, "\(c.name): interpreter result \(i): \(exactMismatch(interpreted[i], e) ?? "")")
      #expect(exactMismatch(compiled[i], e) == nil, "\(c.name): compiled result \(i): \(exactMismatch(compiled[i], e) ?? "")")
    }
  }

  /// `nnc run --check` (compiled code against the interpreter, from the command line) passes on
  /// every case, and the compiled results it writes are the rule values.
  @Test(arguments: Array(edgeCases.indices))
  func checkPassesFromTheCommandLine(_ k: Int) throws {
    let c = edgeCases[k]
    let dir = ScratchDirectory()
    try dir.write("edge.swiftgraph", "swiftgraph 1\n" + c.text)
    let f = try loadGraph("swiftgraph 1\n" + c.text).functions[0]
    var args = ["run", "edge.swiftgraph", "--check"]
    for (p, x) in zip(f.parameters, c.inputs) {
      try Npy.write(x, to: dir.path("\(p.name).npy"))
      args += ["--input", "\(p.name)=\(p.name).npy"]
    }
    for i in c.expected.indices { args += ["--output", "out\(i).npy"] }
    let r = try NNCTool.nnc(args, in: dir.url)
    #expect(r.status == 0, "\(c.name): \(r.stderr)")
    for (i, e) in c.expected.enumerated() {
      let got = try Npy.read(contentsOf: dir.path("out\(i).npy"))
      #expect(exactMismatch(got, e) == nil, "\(c.name): result \(i): \(exactMismatch(got, e) ?? "")")
    }
  }

  /// Empty tensors with huge other dims (`[2^48, 2^48, 0]`, a batch of 2^30 empty matrices):
  /// every op finishes at once on both paths (no loop runs through the outer dims) and gives
  /// the empty result or the identity.
  @Test func emptyIterationSpacesFinishAtOnce() throws {
    let big = 281_474_976_710_656  // 2^48
    let g = try loadGraph(
      """
      swiftgraph 1
      func @f(%x: f32[\(big),\(big),0], %m: f32[1073741824,0,4], %w: f32[4,5], %a: f32[1099511627776,3,0]) -> (f32[], f32[\(big),0], f32[1073741824,0,5], i64[1099511627776,0], f32[\(big),\(big),0], f32[\(big),\(big),0]) {
        %0 = reduce_sum %x axes=[0,1,2]
        %1 = reduce_max %x axes=[1]
        %2 = matmul %m, %w
        %3 = argmax %a axis=1
        %4 = neg %x
        %5 = concat %x, %4 axis=2
        return %0, %1, %2, %3, %4, %5
      }
      """)
    let entry = try #require(try compileAndLoad(g)["f"])
    let inputs = [
      NDArray([Float](), shape: [big, big, 0]), NDArray([Float](), shape: [1 << 30, 0, 4]),
      NDArray([Float](repeating: 1, count: 20), shape: [4, 5]), NDArray([Float](), shape: [1 << 40, 3, 0]),
    ]
    #expect(disagreement(entry, inputs) == nil, "\(disagreement(entry, inputs) ?? "")")
    let got = try entry.run(inputs)
    #expect(got[0] == NDArray([Float(0)], shape: []))
    #expect(got[1].shape == [big, 0] && got[1].count == 0)
    #expect(got[3].dtype == .i64 && got[3].count == 0)
  }

  /// The summation order on random data of many shapes, symbolic sizes included: compiled and
  /// interpreted sums agree bit for bit (tails of every length 0..<8, several reduced axes).
  @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 31, 100])
  func sumsAgreeBitForBit(_ n: Int) throws {
    let g = try loadGraph(
      """
      swiftgraph 1
      func @s(%x: f32[3,N], %y: f64[N,2,N], %z: f32[N,5,3]) -> (f32[3], f32[], f64[2], f64[N], f64[N,N], f32[5], f32[N]) {
        %0 = reduce_sum %x axes=[1]
        %1 = reduce_sum %x axes=[0,1]
        %2 = reduce_sum %y axes=[0,2]
        %3 = reduce_sum %y axes=[1,2]
        %4 = reduce_sum %y axes=[1]
        %5 = reduce_sum %z axes=[0,2]
        %6 = reduce_sum %z axes=[1,2]
        return %0, %1, %2, %3, %4, %5, %6
      }
      """)
    let entry = try #require(try compileAndLoad(g)["s"])
    // Values spanning many magnitudes, so that the order shows in the last bits.
    var state: UInt64 = 0x2545_F491_4F6C_DD1D &+ UInt64(n)
    func next() -> Double {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let u = Double(state >> 11) / Double(1 << 53)
      return (u - 0.5) * pow(10, Double(Int(state % 9)) - 4)
    }
    let inputs = [
      NDArray((0..<3 * n).map { _ in Float(next()) }, shape: [3, n]),
      NDArray((0..<n * 2 * n).map { _ in next() }, shape: [n, 2, n]),
      NDArray((0..<n * 15).map { _ in Float(next()) }, shape: [n, 5, 3]),
    ]
    #expect(disagreement(entry, inputs) == nil, "\(disagreement(entry, inputs) ?? "")")
  }
}
