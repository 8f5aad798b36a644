// Random well-typed functions (every op, conds, guards, symbols, special constants), compiled
// in one module and run on random inputs: the compiled code must agree with the interpreter,
// including which guard fails. Exact (exactMismatch: bit for bit, any NaN equals any NaN).

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// How many random functions (`NNC_RANDOM_FUNCTIONS` overrides).
private let randomCount = ProcessInfo.processInfo.environment["NNC_RANDOM_FUNCTIONS"].flatMap(Int.init) ?? 150

private let randomGraph: Graph = {
  var g = Graph()
  for k in 0..<randomCount {
    var gen = RandomGraphGenerator(seed: UInt64(1000 + k))
    g.functions.append(gen.function(name: "r\(k)"))
  }
  return g
}()

private let randomEntries: Result<[String: CompiledEntry], Error> = Result { try compileAndLoad(randomGraph) }

@Suite struct RandomDifferentialTests {
  @Test(arguments: 0..<randomCount)
  func randomFunctionMatchesInterpreter(_ k: Int) throws {
    let entries = try randomEntries.get()
    let f = randomGraph.functions[k]
    for (n, seed) in [(1, 1), (3, 2)] {
      let inputs = randomInputs(f, n: n, seed: UInt64(k * 10 + seed))
      let expected: Result<[NDArray], RuntimeError> = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
      let actual: Result<[NDArray], RuntimeError> = Result { () throws(RuntimeError) in try entries[f.name]!.run(inputs) }
      switch (expected, actual) {
      case (.success(let e), .success(let a)):
        for (i, (x, y)) in zip(a, e).enumerated() {
          let d = exactMismatch(x, y)
          #expect(d == nil, "\(f.name) n=\(n) result \(i): \(d ?? "")\n\(Graph(functions: [f]).text())")
        }
      case (.failure(let e), .failure(let a)):
        #expect(a == e, "\(f.name) n=\(n)")
      default:
        Issue.record("\(f.name) n=\(n): interpreter \(expected), compiled \(actual)\n\(Graph(functions: [f]).text())")
      }
    }
  }
}
