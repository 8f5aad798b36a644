// Differential fuzz target: a random well-typed function whose every choice is read from the
// fuzzer's bytes (RandomGraphGenerator(bytes:), with its extras: conds on constant predicates,
// simplifiable patterns, foldable constants, and for half the inputs only guards that always
// hold), then inputs drawn from the rest of the bytes. The function and its optimized form
// (`Passes.defaultPipeline` with verify-each) are compiled into one shared library (compile,
// linkSharedLibrary, SharedLibrary, CompiledEntry, as the codegen tests do); the compiled
// function, the interpreted optimized one and the compiled optimized one must each agree with
// the interpreted original under the project's comparison (exactMismatch: integers exactly,
// floats bit for bit, any NaN equals any NaN; both failing with the same error also agrees;
// where the original fails in a kernel, the optimized one may succeed or fail in another
// kernel, but a failing guard must fail the same way). The pipeline may refuse a function whose
// guard is constant false (prune's error); the original must then fail when run. Both printed
// texts must load back to the same text too. One compile per input, so functions are small.

import Foundation
import NNCCodegen
import NNCFuzzSupport
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport

/// A private directory for this process's objects and libraries.
let workDirectory: String = {
  var template = Array((NSTemporaryDirectory() + "/nnc-fuzz-diff-XXXXXX").utf8CString)
  guard let p = mkdtemp(&template) else { fatalError("mkdtemp failed") }
  return String(cString: p)
}()
nonisolated(unsafe) var compiled = 0

func describe(_ inputs: [NDArray]) -> String {
  inputs.enumerated().map { "input \($0.offset): \($0.element.type) \($0.element.storage)" }.joined(separator: "\n")
}

func fuzzDiff(_ bytes: [UInt8]) {
  var gen = RandomGraphGenerator(bytes: bytes)
  gen.maxOps = 8
  // Without hand-written fused ops until prune renames uses inside fused regions
  // (FusionPassTests.pruneRenamesUsesInsideFusedRegions).
  let extras = RandomGraphGenerator.Extras.all.subtracting(.fused)
  gen.extras = gen.rng.chance(0.5) ? extras : extras.subtracting(.trueGuards)
  let f = gen.function(name: "f")
  let graph = Graph(functions: [f])
  let text = graph.text()
  do {
    try graph.verify()
  } catch {
    fuzzFailure("the generator made a function that does not verify: \(error)\n\(text)")
  }
  checkRoundTrip(text)
  var optimized = graph
  var pipelineError: Diagnostic?
  do {
    try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&optimized)
  } catch {
    // The one error a pass may report: a guard whose predicate is constant false (prune).
    guard error.message.contains("always fails") else {
      fuzzFailure("the default pipeline fails on a function that verifies: \(error)\n\(text)")
    }
    pipelineError = error
  }
  var g = optimized.functions[0]
  g.name = "f_opt"
  let optimizedText = Graph(functions: [g]).text()
  checkRoundTrip(optimizedText)
  let n = gen.rng.int(0...3)
  let seed = gen.rng.next()
  let special = Double(gen.rng.int(0...4)) / 10
  let args = specialMixInputs(f, n: n, seed: seed, special: special)

  compiled += 1
  let obj = "\(workDirectory)/m\(compiled).o"
  let lib = "\(workDirectory)/m\(compiled).so"
  let entry: CompiledEntry
  let optimizedEntry: CompiledEntry
  do {
    let module = try compile(Graph(functions: pipelineError == nil ? [f, g] : [f]))
    try Data(module.object).write(to: URL(fileURLWithPath: obj))
    try linkSharedLibrary(object: obj, output: lib)
    let library = try SharedLibrary(path: lib)
    entry = try CompiledEntry(function: f, library: library, symbol: EntryNames(f.name).packed)
    optimizedEntry = pipelineError == nil ? try CompiledEntry(function: g, library: library, symbol: EntryNames(g.name).packed) : entry
  } catch {
    fuzzFailure("a function that verifies does not compile: \(error)\n\(text)\n\(optimizedText)")
  }
  unlink(obj)
  unlink(lib)

  let want = Result { () throws(RuntimeError) in try Interpreter.run(f, args) }
  if let pipelineError {
    // Prune called a guard hopeless: the original must fail too (on that guard, or on a
    // kernel before it).
    guard case .failure = want else {
      fuzzFailure("the default pipeline says \(pipelineError), but the function runs: \(want)\n\(text)\n\(describe(args))")
    }
  }
  var checks: [(String, Result<[NDArray], RuntimeError>, Bool)] = [
    ("compiled code", Result { () throws(RuntimeError) in try entry.run(args) }, false)
  ]
  if pipelineError == nil {
    checks += [
      ("the interpreted optimized function", Result { () throws(RuntimeError) in try Interpreter.run(g, args) }, true),
      ("the compiled optimized function", Result { () throws(RuntimeError) in try optimizedEntry.run(args) }, true),
    ]
  }
  for (what, got, optimized) in checks {
    if let problem = disagreement(want, got, optimized: optimized) {
      fuzzFailure(
        "\(what) and the interpreter disagree (symbols = \(n)): \(problem)\n\(text)"
          + (optimized ? "--- optimized:\n\(optimizedText)" : "") + "\n\(describe(args))")
    }
  }
}

/// The printed `text` loads and prints to the same text.
func checkRoundTrip(_ text: String) {
  do {
    let again = try loadGraph(text, file: "printed").text()
    if again != text { fuzzFailure("printing is not stable\n--- first:\n\(text)\n--- second:\n\(again)") }
  } catch {
    fuzzFailure("the printed function does not load: \(error)\n\(text)")
  }
}

/// nil when `got` agrees with the interpreted original's `want`: the same results, or the same
/// error. For an optimized function (`optimized`), where the original fails in a kernel (not a
/// guard), succeeding or failing in another kernel also agrees: passes may remove dead code
/// that would fail, or change which failing op runs first.
func disagreement(
  _ want: Result<[NDArray], RuntimeError>, _ got: Result<[NDArray], RuntimeError>, optimized: Bool
) -> String? {
  func isGuard(_ e: RuntimeError) -> Bool {
    if case .guardFailed = e { return true }
    return false
  }
  // The optimized function is called f_opt (both live in one library); a guard failure names it.
  var got = got
  if optimized, case .failure(.guardFailed(let function, let message, let location)) = got {
    let renamed = function == "f_opt" ? "f" : function
    got = .failure(.guardFailed(function: renamed, message: message, location: location == "@f_opt" ? "@f" : location))
  }
  switch (want, got) {
  case (.success(let w), .success(let a)):
    if w.count != a.count { return "\(a.count) results, expected \(w.count)" }
    for (k, (x, y)) in zip(a, w).enumerated() {
      if let m = exactMismatch(x, y) { return "result \(k): \(m)" }
    }
    return nil
  case (.failure(let e), .failure(let a)):
    if e == a || (optimized && !isGuard(e) && !isGuard(a)) { return nil }
    return "interpreter: \(e), other: \(a)"
  case (.failure(let e), .success):
    return optimized && !isGuard(e) ? nil : "interpreter: \(want), other: \(got)"
  case (.success, .failure):
    return "interpreter: \(want), other: \(got)"
  }
}

/// libFuzzer's entry point, which its own `main` (linked by -sanitize=fuzzer) refers to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  fuzzDiff(fuzzInput(data, size))
  return 0
}

/// The entry point of both builds (see NNCFuzzSupport).
@main struct FuzzDiffMain {
  static func main() { fuzzMain(fuzzDiff) }
}
