// The NumPy-computed op fixtures (Tests/Fixtures/ops.json, made by
// tools/fixtures/gen_op_fixtures.py) as test arguments: graph, inputs, expected outputs.

import NNCRuntime
import NNCTestSupport

/// One fixture: a graph, its inputs, and the outputs NumPy computed.
struct OpFixture: CustomStringConvertible, Sendable {
  var name: String
  var graph: String
  var inputs: [NDArray]
  var outputs: [NDArray]
  var rtol: Double
  var atol: Double
  /// For error cases: the guard message expected.
  var errorMessage: String?
  var description: String { name }
}

enum Fixtures {
  static func convert(_ c: OpFixtureCase) -> OpFixture {
    OpFixture(
      name: c.name, graph: c.graph, inputs: c.inputs.map(\.array), outputs: (c.outputs ?? []).map(\.array),
      rtol: c.rtol ?? 0, atol: c.atol ?? 0, errorMessage: c.message)
  }

  static let cases = OpFixtureFile.ops.cases.map(convert)
  static let errorCases = OpFixtureFile.ops.error_cases.map(convert)
}
