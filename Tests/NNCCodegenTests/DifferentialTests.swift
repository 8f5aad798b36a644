// Compiled code against the reference interpreter: every NumPy fixture graph (all ops, edge
// sizes, broadcasting, symbolic dims) compiled in one module, run on the fixture inputs.
// Exact (exactMismatch: bit for bit, any NaN equals any NaN): float sums follow one defined
// order in both (SummationOrder).

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// Every fixture (and error case) as one graph with functions renamed `c0`, `c1`, ...
let fixtureGraph: (Graph, [OpFixtureCase]) = {
  let file = OpFixtureFile.ops
  let all = file.cases + file.error_cases
  var g = Graph()
  for (k, c) in all.enumerated() {
    var f = try! loadGraph(c.graph, file: c.name).functions[0]
    f.name = "c\(k)"
    g.functions.append(f)
  }
  return (g, all)
}()

/// Compiled once for the whole suite.
let fixtureEntries: Result<[String: CompiledEntry], Error> = Result { try compileAndLoad(fixtureGraph.0) }

@Suite struct DifferentialTests {
  @Test(arguments: Array(fixtureGraph.1.indices))
  func fixtureMatchesInterpreter(_ k: Int) throws {
    let entries = try fixtureEntries.get()
    let c = fixtureGraph.1[k]
    let f = fixtureGraph.0.functions[k]
    let inputs = c.inputs.map(\.array)
    let expected: Result<[NDArray], RuntimeError> = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
    let actual: Result<[NDArray], RuntimeError> = Result { () throws(RuntimeError) in try entries[f.name]!.run(inputs) }
    switch (expected, actual) {
    case (.success(let e), .success(let a)):
      for (x, y) in zip(a, e) {
        let d = exactMismatch(x, y)
        #expect(d == nil, "\(c.name): \(d ?? "")")
      }
    case (.failure(let e), .failure(let a)):
      #expect(a == e, "\(c.name)")
    default:
      Issue.record("\(c.name): interpreter \(expected), compiled \(actual)")
    }
  }
}
