// Fuzz target for the text front end. Any bytes that load (parse, infer-shapes, verify) must
// print canonically and load again to the same text, and the default pass pipeline with
// verify-each must leave them valid (and still round-tripping) or reject them for a guard that
// can never hold. Inputs that do not load must be rejected with a diagnostic, never a crash.

import NNCFuzzSupport
import NNCIR
import NNCPasses

func roundTrip(_ graph: Graph, _ what: String) -> String {
  let text = graph.text()
  let again: Graph
  do {
    again = try loadGraph(text, file: "printed")
  } catch {
    fuzzFailure("\(what): the printed graph does not load: \(error)\n--- printed:\n\(text)")
  }
  let text2 = again.text()
  if text2 != text { fuzzFailure("\(what): printing is not stable\n--- first:\n\(text)\n--- second:\n\(text2)") }
  return text
}

func fuzzText(_ bytes: [UInt8]) {
  guard var graph = try? loadGraph(bytes, file: "input") else { return }
  let before = roundTrip(graph, "loaded input")
  do {
    try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&graph)
  } catch {
    // The one rejection a valid graph may get: prune proves an always-running guard false.
    if error.message.contains("always fails: its predicate is") && !error.message.hasPrefix("after pass") { return }
    fuzzFailure("the default pipeline broke a graph that loaded: \(error)\n--- input:\n\(before)")
  }
  _ = roundTrip(graph, "after the default pipeline")
}

/// libFuzzer's entry point, which its own `main` (linked by -sanitize=fuzzer) refers to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  fuzzText(fuzzInput(data, size))
  return 0
}

/// The entry point of both builds (see NNCFuzzSupport).
@main struct FuzzTextMain {
  static func main() { fuzzMain(fuzzText) }
}
