// Regression tests for bugs found in review: traces that must give the eager results (writes
// through expanded views, guards on NaN), Swift integers beyond 2^53, and expand misuse.

import Foundation
import NNC
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// The trace of `body` on `inputs`, run by the interpreter, against the eager outputs (exact).
private func traceDisagreement(_ inputs: [Tensor], _ body: ([Tensor]) -> [Tensor]) -> String? {
  let t = trace(inputs, body)
  do {
    let out = try Interpreter.run(t.function, inputs.map(\.array))
    for (k, (a, e)) in zip(out, t.outputs).enumerated() {
      if let m = mismatch(a, e.array, rtol: 0, atol: 0) { return "output \(k): \(m)\n\(t.text)" }
    }
  } catch {
    return "\(error)\n\(t.text)"
  }
  return nil
}

@Suite struct ReviewRegressionTests {
  /// A write through a row of an expanded view reaches the source (eagerly, and in PyTorch);
  /// the trace dropped it.
  @Test func writesThroughExpandedViewsAreTraced() {
    let x = Tensor([1, 2, 3] as [Float])
    var d = traceDisagreement([x]) { x in
      let e = x[0].expand([2, 3])
      e[1] = Tensor([4, 5, 6] as [Float])
      return [x[0] * 1.0]
    }
    #expect(d == nil, "\(d ?? "")")
    d = traceDisagreement([x]) { x in
      let e = x[0].expand([1, 3])
      e[0, 1] = 7.0
      return [x[0] * 1.0, e * 1.0]
    }
    #expect(d == nil, "\(d ?? "")")
    let m = Tensor.arange(6).view(2, 1, 3)
    d = traceDisagreement([m]) { x in
      let e = x[0].expand([4, 2, 5, 3])
      e[2, .all, 3].t()[.stride(from: 1, by: 2)] = Tensor([-1, -2] as [Int])
      e[3, 1, 0, 0] = 99
      return [x[0] * 1, e * 1]
    }
    #expect(d == nil, "\(d ?? "")")
  }

  /// `item()` on a NaN recorded `eq(x, nan)`, which never holds: the trace failed its own guard
  /// on the inputs it was traced with.
  @Test func guardOnANaNHoldsForNaN() throws {
    let x = Tensor([1, .nan, 3] as [Float])
    let d = traceDisagreement([x]) { x in
      if x[0].sum().item() > 0 { return [x[0] * 2.0] }
      return [x[0] * 3.0]
    }
    #expect(d == nil, "\(d ?? "")")
    let t = trace([x]) { x in
      _ = x[0].sum().item() as Float
      return [x[0] * 1.0]
    }
    #expect(throws: RuntimeError.self) { try Interpreter.run(t.function, [Tensor([1, 2, 3] as [Float]).array]) }
  }

  /// Swift `Int` scalars went through Double: integers beyond 2^53 were rounded.
  @Test func intScalarsKeepEveryBit() {
    let big = (1 << 53) + 1
    let x = Tensor([1 << 54, 0] as [Int])
    #expect((x + big).scalars(as: Int.self) == [(1 << 54) + big, big])
    #expect((big - x).scalars(as: Int.self) == [big - (1 << 54), big])
    #expect((x .== (1 << 54)).scalars(as: Bool.self) == [true, false])
    #expect(((x + big) .> (1 << 54) + big - 1).scalars(as: Bool.self) == [true, false])
    x[1] = big
    #expect(x.scalars(as: Int.self) == [1 << 54, big])
    // Small integers with float tensors are unchanged.
    #expect((Tensor([1.5] as [Float]) + 2).scalars(as: Float.self) == [3.5])
    #expect((Tensor([7] as [Int32]) * 3).dtype == .i32)
  }

  /// A negative size in `expand` made a tensor of negative shape (trapping later, even inside
  /// `withTensorErrors`) instead of reporting a misuse; so did a shape past 2^48 elements, and
  /// `view` trapped on the overflowing product of a huge shape.
  @Test func badShapesInExpandAndViewAreMisuses() {
    #expect(throws: TensorError.self) {
      try withTensorErrors { _ = Tensor([1] as [Float]).expand([-1, 1]).sum() }
    }
    #expect(throws: TensorError.self) {
      try withTensorErrors { _ = Tensor([1, 2] as [Float]).expand([-2, 2]).sum() }
    }
    #expect(throws: TensorError.self) {
      try withTensorErrors { _ = Tensor([1] as [Float]).expand([1 << 40, 1 << 40]).sum() }
    }
    #expect(throws: TensorError.self) {
      try withTensorErrors { _ = Tensor.arange(4).view([1 << 62, 4]) }
    }
    #expect(throws: TensorError.self) {
      try withTensorErrors { _ = Tensor.arange(4).view([1 << 62, 4, -1]) }
    }
  }

  /// A huge slice step trapped on `span + step - 1` (and on stride * step); in a trace, writing
  /// through a one-element strided slice padded the step out past 2^48 and failed.
  @Test func hugeSliceStepsSelectOneElement() throws {
    let m = Tensor.arange(30).view(5, 6)
    let r = m[.stride(from: 1, by: Int.max)]
    #expect(r.shape == [1, 6])
    #expect(r.scalars(as: Int.self) == [6, 7, 8, 9, 10, 11])
    #expect(m[.all, .stride(from: 4, by: Int.max)].scalars(as: Int.self) == [4, 10, 16, 22, 28])
    let d = traceDisagreement([m]) { x in
      x[0][.stride(from: 1, by: 1 << 50), .stride(from: 2, by: 3)].fill(-7)
      x[0][.all, .stride(from: 5, by: Int.max)] = Tensor(scalar: 9 as Int)
      return [x[0] * 1]
    }
    #expect(d == nil, "\(d ?? "")")
  }
}
