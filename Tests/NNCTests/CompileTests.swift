// compile(trace): traced Tensor programs compiled to native code (through the on-disk cache)
// give the interpreter's results; bad inputs and failed guards are thrown errors, not crashes.
//
// `CompileCache` comes from NNCCache (a dependency of NNC and of this test target).

import Foundation
import NNC
import NNCCache
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// A cache of this test run's own, so tests neither read nor fill the user's cache.
private let testCache: CompileCache = {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnc-compile-tests-\(UUID().uuidString)")
  return try! CompileCache(directory: dir.path)
}()

/// The description of the error `body` throws ("" when it does not throw).
private func thrownMessage(_ body: () throws -> Void) -> String {
  do {
    try body()
    return ""
  } catch {
    return "\(error)"
  }
}

@Suite struct CompileTests {
  @Test func mlpMatchesInterpreter() throws {
    let (t, inputs) = mlp()
    let f = try compile(t, cache: testCache)
    let got = try f(inputs)
    let expected = try Interpreter.run(t.function, inputs.map(\.array))
    #expect(got.count == 1)
    #expect(got[0].shape == [4, 10])
    #expect(mismatch(got[0].array, expected[0], rtol: 1e-5, atol: 1e-5) == nil)
    #expect(mismatch(got[0].array, t.outputs[0].array, rtol: 1e-5, atol: 1e-5) == nil)
    // Other data of the same shapes.
    let (_, other) = mlp(seed: 52)
    let again = try f(other[0], other[1], other[2], other[3], other[4])
    #expect(mismatch(again[0].array, try Interpreter.run(t.function, other.map(\.array))[0], rtol: 1e-5, atol: 1e-5) == nil)
  }

  @Test func lenetMatchesInterpreter() throws {
    let (t, inputs) = lenet()
    let f = try compile(t, cache: testCache)
    let got = try f(inputs)
    let expected = try Interpreter.run(t.function, inputs.map(\.array))
    #expect(got[0].shape == [2, 10])
    #expect(mismatch(got[0].array, expected[0], rtol: 1e-5, atol: 1e-5) == nil)
  }

  /// The second compile of the same function is a cache hit and behaves the same.
  @Test func secondCompileHitsTheCache() throws {
    let (t, inputs) = mlp(batch: 3, seed: 53)
    let first = try compile(t, cache: testCache)
    let second = try compile(t, cache: testCache)
    #expect(!first.cacheHit)
    #expect(second.cacheHit)
    #expect(first.cacheKey == second.cacheKey)
    #expect(try first(inputs)[0].array == second(inputs)[0].array)
  }

  @Test func shapeMismatchNamesParameterAndShapes() throws {
    let (t, inputs) = mlp()
    let f = try compile(t, cache: testCache)
    var bad = inputs
    bad[0] = Tensor.zeros([3, 784])
    #expect(throws: RuntimeError.self) { try f(bad) }
    let message = thrownMessage { _ = try f(bad) }
    #expect(message.contains("%x"), "\(message)")
    #expect(message.contains("f32[4,784]") && message.contains("f32[3,784]"), "\(message)")
    // Wrong rank, and the wrong number of inputs.
    bad[0] = Tensor.zeros([4 * 784])
    #expect(thrownMessage { _ = try f(bad) }.contains("f32[3136]"))
    #expect(thrownMessage { _ = try f(Array(inputs.prefix(4))) }.contains("takes 5 inputs, got 4"))
  }

  @Test func wrongDtypeThrows() throws {
    let (t, inputs) = mlp()
    let f = try compile(t, cache: testCache)
    var bad = inputs
    bad[2] = inputs[2].to(.f64)
    let message = thrownMessage { _ = try f(bad) }
    #expect(message.contains("%b1") && message.contains("f32[256]") && message.contains("f64[256]"), "\(message)")
    bad[2] = Tensor.zeros([256], dtype: .i32)
    #expect(throws: RuntimeError.self) { try f(bad) }
  }

  /// A branch on tensor data compiles to a guard; data taking the other branch throws the
  /// guard's error instead of computing the wrong branch.
  @Test func failedGuardThrows() throws {
    func program(_ x: Tensor) -> Tensor {
      if (x.sum() .> 0).item() { return x.exp() } else { return x.neg() }
    }
    let up = Tensor([1, 2, 3] as [Float])
    let t = trace(up, program)
    let f = try compile(t, cache: testCache)
    let ok = try f(Tensor([0.5, -0.25, 1] as [Float]))
    #expect(mismatch(ok[0].array, Tensor([0.5, -0.25, 1] as [Float]).exp().array, rtol: 1e-6, atol: 1e-6) == nil)
    let down = Tensor([-1, -2, -3] as [Float])
    #expect {
      try f(down)
    } throws: { error in
      guard case RuntimeError.guardFailed(let function, let message, _) = error else { return false }
      return function == "main" && message == (t.function.guardMessages.first ?? "")
    }
    // The same error the interpreter gives.
    let interpreted = thrownMessage { _ = try Interpreter.run(t.function, [down.array]) }
    #expect(thrownMessage { _ = try f(down) } == interpreted)
  }

  /// A hand-written function with a symbolic size runs at several sizes; a conflicting binding
  /// of the symbol is an error.
  @Test func symbolicFunction() throws {
    let g = try loadGraph(
      """
      swiftgraph 1
      func @scale(%x: f32[N,2], %s: f32[N]) -> f32[N,2] {
        %0 = reshape %s shape=[N,1]
        %1 = mul %x, %0
        return %1
      }
      """)
    let f = try compile(g.functions[0], cache: testCache)
    for n in [0, 1, 5] {
      let x = Tensor.randn([n, 2], generator: RandomGenerator(seed: UInt64(n)))
      let s = Tensor.randn([n], generator: RandomGenerator(seed: 99))
      let got = try f(x, s)
      #expect(got[0].array == (try Interpreter.run(g.functions[0], [x.array, s.array]))[0])
    }
    let message = thrownMessage { _ = try f(Tensor.zeros([3, 2]), Tensor.zeros([4])) }
    #expect(message.contains("symbol N is 3") && message.contains("4"), "\(message)")
  }

  /// Views (transposed, sliced) are valid inputs: they are materialized first.
  @Test func viewInputs() throws {
    let t = trace(Tensor.zeros([3, 2]), Tensor.zeros([3, 2])) { a, b in a * b + a }
    let f = try compile(t, cache: testCache)
    let base = Tensor.randn([2, 3], generator: RandomGenerator(seed: 7))
    let other = Tensor.randn([4, 2], generator: RandomGenerator(seed: 8))[1...]
    let got = try f(base.transpose(0, 1), other)
    let expected = base.transpose(0, 1) * other + base.transpose(0, 1)
    #expect(mismatch(got[0].array, expected.array, rtol: 1e-6, atol: 1e-6) == nil)
  }

  /// Every traced program of TraceTests (every Tensor operation at least once), compiled, gives
  /// the interpreter's results.
  @Test(arguments: traceCases)
  func tracedCasesMatchInterpreter(_ c: TraceCase) throws {
    let t = trace(c.inputs, c.body)
    let f = try compile(t, cache: testCache)
    let got = try f(c.inputs)
    let expected = try Interpreter.run(t.function, c.inputs.map(\.array))
    #expect(got.count == expected.count)
    for (k, (a, e)) in zip(got, expected).enumerated() {
      let m = mismatch(a.array, e, rtol: 1e-5, atol: 1e-5)
      #expect(m == nil, "\(c.name) output \(k): \(m ?? "")")
    }
  }

  /// Results that are parameters, constants, repeated values, 0-d, bool and integer tensors.
  @Test func unusualResults() throws {
    let w = Tensor([[1, 2], [3, 4]] as [[Float]])
    let t = trace([Tensor([1, -2] as [Float]), Tensor([3, 4] as [Int])]) { p in
      let (x, n) = (p[0], p[1])
      let s = x.sum()
      return [x, w, s, s, x .> 0.0, n * 2, n.argmax(), w.matmul(x)]
    }
    let f = try compile(t, cache: testCache)
    let inputs = [Tensor([0.5, 7] as [Float]), Tensor([9, -1] as [Int])]
    let got = try f(inputs)
    let expected = try Interpreter.run(t.function, inputs.map(\.array))
    #expect(got.map(\.array) == expected)
  }

  /// A function that does not verify is an error, not a crash.
  @Test func invalidFunctionThrows() throws {
    var f = mlp().0.function
    f.body.terminator = [Value(9999)]
    #expect(throws: (any Error).self) { try compile(f, cache: testCache) }
  }
}
