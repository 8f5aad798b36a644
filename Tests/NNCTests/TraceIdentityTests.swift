// Traces never mix: a tensor used by many traces (captured weights, one trace's outputs in
// another) gets each trace's own value, however memory is reused between them; inputs that
// share storage are read correctly and a write to one of them is rejected; names that the
// .swiftgraph text cannot spell are rejected at the trace call.

import Foundation
import NNC
import NNCCache
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

private let identityCache: CompileCache = {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnc-trace-identity-\(UUID().uuidString)")
  return try! CompileCache(directory: dir.path)
}()

/// The trace's function run by the interpreter on `inputs`.
private func interpret(_ t: Trace, _ inputs: [Tensor]) throws -> [[Float]] {
  try Interpreter.run(t.function, inputs.map(\.array)).map { Tensor($0).scalars(as: Float.self) }
}

/// The misuse `body` reports inside `withTensorErrors` ("" when none).
private func misuseMessage(_ body: () throws -> Void) -> String {
  do {
    try withTensorErrors { try body() }
    return ""
  } catch {
    return "\(error)"
  }
}

@Suite struct TraceIdentityTests {
  /// The reported case: the second trace recorded the first trace's constant 3 where `w` is.
  @Test func capturedTensorInTwoTraces() throws {
    let w = Tensor([10, 20, 30, 40] as [Float])
    let x = Tensor([1, 2, 3, 4] as [Float])
    let t1 = trace(x) { x in x + w }
    let t2 = trace(x) { x in x * 3 + w }
    #expect(try interpret(t1, [x]) == [[11, 22, 33, 44]])
    #expect(try interpret(t2, [x]) == [[13, 26, 39, 52]])
    #expect(try compile(t2, cache: identityCache)(x)[0].scalars(as: Float.self) == [13, 26, 39, 52])
  }

  /// Many traces of one model with captured weights at several batch sizes, interleaved with
  /// compiles, compiled runs and garbage tensors (so freed tracers' memory is reused): every
  /// trace records the weights, and its function gives the eager result (computed here by hand
  /// from the weights: y = relu(x w1) w2 with integer-valued data, so exact in f32).
  @Test func oneModelTracedManyTimes() throws {
    let w1 = Tensor((0..<12).map { Float($0 % 5) - 2 }).view(4, 3)
    let w2 = Tensor((0..<6).map { Float($0) - 1 }).view(3, 2)
    func expected(_ x: [Float], batch: Int) -> [Float] {
      var out: [Float] = []
      for r in 0..<batch {
        var h = [Float](repeating: 0, count: 3)
        for j in 0..<3 { for k in 0..<4 { h[j] += x[r * 4 + k] * (Float((k * 3 + j) % 5) - 2) } }
        h = h.map { max($0, 0) }
        for j in 0..<2 { out.append((0..<3).reduce(0) { $0 + h[$1] * (Float($1 * 2 + j) - 1) }) }
      }
      return out
    }
    for round in 0..<25 {
      for batch in [1, 2, 4, 8] {
        let data = (0..<batch * 4).map { Float(($0 * 7 + round) % 9) - 4 }
        let x = Tensor(data).view(batch, 4)
        let t = trace(x, names: ["x"], name: "mlp") { x in x.mm(w1).relu().mm(w2) }
        let want = expected(data, batch: batch)
        #expect(t.outputs[0].scalars(as: Float.self) == want)
        #expect(try interpret(t, [x]) == [want], "round \(round) batch \(batch)\n\(t.text)")
        if round % 8 == 0 {
          #expect(try compile(t, cache: identityCache)(x)[0].scalars(as: Float.self) == want)
        }
        _ = (0..<3).map { _ in Tensor.zeros([batch, 5]) + 1 }
      }
    }
  }

  /// One trace's output used in a later trace is a constant of its value (it recorded
  /// `sub %1, %1`, zeros, when the later tracer reused the earlier one's identity).
  @Test func outputOfOneTraceInAnother() throws {
    let x = Tensor([1, 2, 3] as [Float])
    for _ in 0..<50 {
      let t1 = trace(x) { x in x * 2 }
      let y = t1.outputs[0]
      let t2 = trace(x) { x in x - y }
      #expect(try interpret(t2, [Tensor([5, 5, 5] as [Float])]) == [[3, 1, -1]])
      let t3 = trace(y) { y in y + x }
      #expect(try interpret(t3, [y]) == [[3, 6, 9]])
    }
  }

  /// Inputs on one storage are read correctly; writing one of them is a misuse naming both.
  @Test func aliasedInputs() throws {
    let x = Tensor([1, 2, 3] as [Float])
    let t = trace(x, x, names: ["a", "b"]) { a, b in a * b + a }
    #expect(try interpret(t, [x, x]) == [[2, 6, 12]])

    let write = misuseMessage { _ = trace(x, x) { a, b in a += 1; return b * 1 } }
    #expect(write.contains("inputs 'x0' and 'x1' share storage"), "\(write)")
    let viaView = misuseMessage { _ = trace(x, x[0], names: ["whole", "first"]) { a, b in b += 1; return a * 1 } }
    #expect(viaView.contains("inputs 'whole' and 'first' share storage"), "\(viaView)")
    let slice = misuseMessage { _ = trace(x, x[0..<2]) { a, b in a[1] = Tensor(scalar: 9 as Float); return b * 1 } }
    #expect(slice.contains("share storage"), "\(slice)")
    // The caller's tensor is untouched, and distinct tensors may be written.
    #expect(x.scalars(as: Float.self) == [1, 2, 3])
    let y = x.clone()
    let ok = trace(x, y) { a, b in a += 1; return b * a }
    #expect(try interpret(ok, [x, y]) == [[2, 6, 12]])
  }

  /// Names the text format cannot spell, duplicates and a wrong count are misuses at the call.
  @Test(arguments: [
    (["my input", "b"], "main", "input name 'my input' is not a .swiftgraph name"),
    (["a", "a"], "main", "input name 'a' is used twice"),
    (["x", "y"], "my fn", "function name 'my fn' is not a .swiftgraph name"),
    (["a", "1x"], "main", "input name '1x' is not a .swiftgraph name"),
    (["a", "b", "c"], "main", "3 names for 2 inputs"),
  ])
  func badNamesAreRejected(_ names: [String], _ name: String, _ message: String) throws {
    let x = Tensor([1, 2] as [Float])
    let got = misuseMessage { _ = trace(x, x.clone(), names: names, name: name) { a, b in a + b } }
    #expect(got.contains("trace: \(message)"), "\(got)")
    #expect(got.contains("TraceIdentityTests.swift:"), "located at the trace call: \(got)")
  }

  /// A valid trace's text parses back (names with '.' and '_' included).
  @Test func tracedNamesRoundTrip() throws {
    let x = Tensor([1, 2] as [Float])
    let t = trace(x, x.clone(), names: ["in.a", "_b2"], name: "block.fwd") { a, b in a * b }
    let g = try loadGraph(t.text)
    #expect(g.functions[0].parameters.map(\.name) == ["in.a", "_b2"])
    #expect(g.functions[0].name == "block.fwd")
  }
}
