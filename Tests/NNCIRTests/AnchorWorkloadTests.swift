// The anchor workloads' graphs (AnchorWorkload, used by nnc-bench section 8) compute the numpy
// formulas: the interpreter against the formulas written directly in Swift, on a few elements.
// The elementwise ones take the same steps in the same order through the same libm, so they
// must agree bit for bit; softmax and layernorm sum in SummationOrder, not left to right, so
// they agree to rounding.

import Foundation
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct AnchorWorkloadTests {
  /// Values with both signs, zero, small and large magnitudes (tanh and exp saturate past 9 and 88).
  static let xs: [Float] = [
    0, -0.0, 0.25, -0.25, 1, -1, 1.5, -2.75, 3.1, -4.2, 9.5, -12, 20, -90, 0.001, -1e-6, 0.7, -0.3,
  ]

  private func run(_ w: AnchorWorkload, size: Int, _ inputs: [NDArray]) throws -> [Float] {
    let f = try loadGraph(w.text(size: size)).functions[0]
    #expect(f.name == w.functionName)
    #expect(f.parameterTypes.map { $0.staticShape! } == w.parameterShapes(size: size))
    guard case .f32(let out) = try Interpreter.run(f, inputs)[0].storage else {
      Issue.record("\(w.rawValue): not an f32 result")
      return []
    }
    return out
  }

  private func expectBits(_ got: [Float], _ want: [Float], _ what: String) {
    #expect(got.count == want.count, "\(what): \(got.count) results, expected \(want.count)")
    for (i, (g, e)) in zip(got, want).enumerated() where g.bitPattern != e.bitPattern {
      Issue.record("\(what)[\(i)] (x = \(Self.xs[i % Self.xs.count])): \(g), formula gives \(e)")
    }
  }

  private func expectClose(_ got: [Float], _ want: [Float], _ what: String) {
    #expect(got.count == want.count, "\(what): \(got.count) results, expected \(want.count)")
    for (i, (g, e)) in zip(got, want).enumerated() where !(abs(g - e) <= 1e-6 + 1e-5 * abs(e)) {
      Issue.record("\(what)[\(i)]: \(g), formula gives \(e)")
    }
  }

  @Test func ewChainIsTheFormula() throws {
    let got = try run(.ewChain, size: Self.xs.count, [NDArray(Self.xs, shape: [Self.xs.count])])
    let want = Self.xs.map { x -> Float in
      let t = VectorMath.tanh(ScalarMath(), x * 1.5 + 0.5)
      let s = Float(1) / (Float(1) + VectorMath.exp(ScalarMath(), -x))
      return t * s - x / 3
    }
    expectBits(got, want, "ew_chain")
  }

  @Test func geluTanhIsTheFormula() throws {
    let got = try run(.geluTanh, size: Self.xs.count, [NDArray(Self.xs, shape: [Self.xs.count])])
    let c = AnchorWorkload.geluC
    #expect(c == Float(0.7978845608028654))
    let want = Self.xs.map { x -> Float in
      let half = 0.5 * x
      let cube = Float(0.044715) * x * x * x
      return half * (1 + VectorMath.tanh(ScalarMath(), c * (x + cube)))
    }
    expectBits(got, want, "gelu_tanh")
  }

  @Test func axpyIsTheFormula() throws {
    let ys = Self.xs.reversed().map { $0 * 0.5 - 1 }
    let n = Self.xs.count
    let got = try run(.axpy, size: n, [NDArray(Self.xs, shape: [n]), NDArray(Array(ys), shape: [n])])
    let want = zip(Self.xs, ys).map { x, y in AnchorWorkload.axpyScale * x + y }
    expectBits(got, want, "axpy")
  }

  /// Three rows of 1024: a ramp with a large value, the test values repeated, and all equal.
  private func rows() -> [Float] {
    let width = AnchorWorkload.rowWidth
    var v: [Float] = []
    for k in 0..<width { v.append(Float(k % 37) * 0.125 - 2 + (k == 500 ? 30 : 0)) }
    for k in 0..<width { v.append(Self.xs[k % Self.xs.count] * 0.1) }
    v += Array(repeating: 0.75, count: width)
    return v
  }

  @Test func softmaxRowsIsTheFormula() throws {
    let width = AnchorWorkload.rowWidth
    let x = rows()
    let got = try run(.softmaxRows, size: 3, [NDArray(x, shape: [3, width])])
    var want: [Float] = []
    for r in 0..<3 {
      let row = x[r * width..<(r + 1) * width]
      let m = row.max()!
      let e = row.map { exp($0 - m) }
      let s = e.reduce(0, +)
      want += e.map { $0 / s }
    }
    expectClose(got, want, "softmax_rows")
    // Every row sums to 1, and equal inputs give equal outputs.
    for r in 0..<3 { #expect(abs(got[r * width..<(r + 1) * width].reduce(0, +) - 1) < 1e-4) }
    #expect(got[2 * width..<3 * width].allSatisfy { $0 == Float(1) / Float(width) })
  }

  @Test func layernormIsTheFormula() throws {
    let width = AnchorWorkload.rowWidth
    let x = rows()
    let w = (0..<width).map { 1 + 0.1 * Float($0 % 7 - 3) }
    let b = (0..<width).map { 0.1 * Float($0 % 5 - 2) }
    let got = try run(
      .layernorm, size: 3, [NDArray(x, shape: [3, width]), NDArray(w, shape: [width]), NDArray(b, shape: [width])])
    var want: [Float] = []
    for r in 0..<3 {
      let row = x[r * width..<(r + 1) * width]
      let mu = row.reduce(0, +) / Float(width)
      let xc = row.map { $0 - mu }
      let v = xc.map { $0 * $0 }.reduce(0, +) / Float(width)
      let sd = (v + AnchorWorkload.layernormEps).squareRoot()
      want += xc.enumerated().map { k, c in c / sd * w[k] + b[k] }
    }
    expectClose(got, want, "layernorm")
    // A constant row normalizes to the bias exactly (xc = 0).
    #expect(Array(got[2 * width..<3 * width]) == b)
  }

  /// The constants in the text are the f32 values themselves.
  @Test func constantsAreExact() throws {
    for w in AnchorWorkload.allCases {
      let g = try loadGraph(w.text(size: 2))
      #expect(g.functions.count == 1, "\(w.rawValue)")
    }
    #expect(AnchorWorkload.geluTanh.text(size: 2).contains("const 0.7978845834732056 : f32[]"))
    #expect(AnchorWorkload.layernorm.text(size: 2).contains("const 9.999999747378752e-06 : f32[]"))
  }
}
