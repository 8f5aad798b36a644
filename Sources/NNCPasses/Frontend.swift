// Loading a `.swiftgraph` file the way every tool does: parse, infer shapes, verify.

import NNCIR

/// Parses `bytes`, fills in result types and verifies the result.
public func loadGraph(_ bytes: [UInt8], file: String) throws(Diagnostic) -> Graph {
  var graph = try parseGraph(bytes, file: file)
  try PassManager(passes: [Passes.inferShapes]).run(&graph)
  try graph.verify()
  return graph
}

/// `loadGraph` for text in a String.
public func loadGraph(_ text: String, file: String = "<input>") throws(Diagnostic) -> Graph {
  try loadGraph(Array(text.utf8), file: file)
}
