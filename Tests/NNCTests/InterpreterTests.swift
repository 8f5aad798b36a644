// The reference interpreter against NumPy-computed fixtures, plus its input checking.

import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct InterpreterTests {
  @Test(arguments: Fixtures.cases)
  func fixture(_ c: OpFixture) throws {
    let g = try loadGraph(c.graph, file: c.name)
    let out = try Interpreter.run(g.functions[0], c.inputs)
    #expect(out.count == c.outputs.count)
    for (a, e) in zip(out, c.outputs) {
      let m = mismatch(a, e, rtol: c.rtol, atol: c.atol)
      #expect(m == nil, "\(c.name): \(m ?? "")")
    }
  }

  @Test(arguments: Fixtures.errorCases)
  func failingGuard(_ c: OpFixture) throws {
    let g = try loadGraph(c.graph, file: c.name)
    #expect(throws: RuntimeError.self) { try Interpreter.run(g.functions[0], c.inputs) }
    do {
      _ = try Interpreter.run(g.functions[0], c.inputs)
    } catch {
      guard case .guardFailed(_, let message, _) = error else {
        Issue.record("expected a guard failure, got \(error)")
        return
      }
      #expect(message == c.errorMessage)
    }
  }

  @Test func inputChecks() throws {
    let g = try loadGraph(
      """
      swiftgraph 1
      func @f(%x: f32[N,3], %y: f32[N,3]) -> f32[N,3] {
        %0 = add %x, %y
        return %0
      }
      """)
    let f = g.functions[0]
    #expect(throws: RuntimeError.inputCount(function: "f", expected: 2, got: 1)) {
      try Interpreter.run(f, [NDArray.zeros(.f32, [2, 3])])
    }
    #expect(throws: RuntimeError.inputType(function: "f", parameter: "y", expected: TensorType(.f32, ["N", 3]), got: TensorType(.f32, [2, 4]))) {
      try Interpreter.run(f, [NDArray.zeros(.f32, [2, 3]), NDArray.zeros(.f32, [2, 4])])
    }
    #expect(throws: RuntimeError.symbolConflict(function: "f", symbol: "N", first: 2, second: 5, parameter: "y")) {
      try Interpreter.run(f, [NDArray.zeros(.f32, [2, 3]), NDArray.zeros(.f32, [5, 3])])
    }
    let ok = try Interpreter.run(f, [NDArray([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3]), NDArray([1, 1, 1, 1, 1, 1] as [Float], shape: [2, 3])])
    #expect(ok == [NDArray([2, 3, 4, 5, 6, 7] as [Float], shape: [2, 3])])
  }
}
