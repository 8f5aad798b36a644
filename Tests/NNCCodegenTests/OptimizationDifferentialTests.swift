// Random functions with what optimizing passes look for (RandomGraphGenerator.Extras.all:
// conds on constant and data-dependent predicates, guards that always hold, patterns an
// algebraic simplifier rewrites, subgraphs of constants), optimized by `Passes.defaultPipeline`
// with verify-each: the optimized function must compute exactly what the original computes
// (exactMismatch: bit for bit, any NaN equals any NaN), in the interpreter for every function
// and compiled for the first few. The pipeline is whatever the default is, so this test gets
// stronger as passes join it.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// How many random functions are optimized and interpreted (`NNC_OPTIMIZATION_FUNCTIONS`
/// overrides), in how many test cases, and how many of them are also compiled.
private let optimizationCount = ProcessInfo.processInfo.environment["NNC_OPTIMIZATION_FUNCTIONS"].flatMap(Int.init) ?? 400
private let chunks = 8
private let compiledCount = min(40, optimizationCount)

/// Symbol sizes, input seeds and the fraction of special input values each function runs
/// with (0 makes empty tensors; `specialMixInputs`). Special values (signed zeros, infinities,
/// NaN, extremes) are where a rewrite that is an identity only for ordinary numbers (x + 0.0,
/// x*0, x - x) gives another result.
private let runs: [(n: Int, seed: UInt64, special: Double)] = [(1, 1, 0), (3, 2, 0.3), (2, 3, 0.6), (0, 4, 0)]

/// Function `k` as generated, and as the default pipeline leaves it (or the pipeline's error).
private func optimizationCase(_ k: Int) -> (original: Function, optimized: Result<Function, Diagnostic>) {
  var gen = RandomGraphGenerator(seed: UInt64(50_000 + k))
  gen.extras = .all
  let f = gen.function(name: "o\(k)")
  let optimized = Result { () throws(Diagnostic) -> Function in
    var g = Graph(functions: [f])
    try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&g)
    return g.functions[0]
  }
  return (f, optimized)
}

private let compiledCases: [(original: Function, optimized: Result<Function, Diagnostic>)] =
  (0..<compiledCount).map(optimizationCase)

private let compiledEntries: Result<[String: CompiledEntry], Error> = Result {
  try compileAndLoad(Graph(functions: compiledCases.compactMap { try? $0.optimized.get() }))
}

/// nil when `got` (from the optimized function) agrees with `want` (from the original): the
/// same results, or the same guard failure. Where the original fails in a kernel (an argmax
/// over an axis of size 0), the optimized function may succeed or fail in another kernel:
/// passes may remove dead code that would have failed, or fold or reorder what fails first.
private func disagreement(
  want: Result<[NDArray], RuntimeError>, got: Result<[NDArray], RuntimeError>
) -> String? {
  func isGuard(_ e: RuntimeError) -> Bool {
    if case .guardFailed = e { return true }
    return false
  }
  switch (want, got) {
  case (.success(let w), .success(let a)):
    return exactMismatch(a, w)
  case (.failure(let e), .failure(let a)):
    return e == a || (!isGuard(e) && !isGuard(a)) ? nil : "original: \(e), optimized: \(a)"
  case (.failure(let e), .success):
    return isGuard(e) ? "original: \(e), optimized: no failure" : nil
  case (.success, .failure(let a)):
    return "original succeeds, optimized: \(a)"
  }
}

@Suite struct OptimizationDifferentialTests {
  @Test(arguments: 0..<chunks)
  func optimizedFunctionsComputeWhatTheOriginalsCompute(_ chunk: Int) throws {
    for k in stride(from: chunk, to: optimizationCount, by: chunks) {
      let (f, optimized) = optimizationCase(k)
      let text = Graph(functions: [f]).text()
      do {
        try f.verify()
      } catch {
        Issue.record("the generator made a function that does not verify: \(error)\n\(text)")
        continue
      }
      let g: Function
      switch optimized {
      case .success(let o): g = o
      case .failure(let e):
        Issue.record("the default pipeline failed: \(e)\n\(text)")
        continue
      }
      #expect(g.parameterTypes == f.parameterTypes && g.resultTypes == f.resultTypes, "\(f.name)")
      for (n, seed, special) in runs {
        let inputs = specialMixInputs(f, n: n, seed: UInt64(k * 10) + seed, special: special)
        let want = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
        // Guards that always hold are the only guards generated.
        if case .failure(.guardFailed(_, let m, let l)) = want {
          Issue.record("a guard failed (\(m) at \(l)) in \(f.name), n=\(n)\n\(text)")
        }
        let got = Result { () throws(RuntimeError) in try Interpreter.run(g, inputs) }
        if let d = disagreement(want: want, got: got) {
          Issue.record("@\(f.name) n=\(n): \(d)\n--- original:\n\(text)\n--- optimized:\n\(Graph(functions: [g]).text())")
        }
      }
    }
  }

  /// Found by the test above: simplify's select-constant rule read element 0 of an empty
  /// predicate constant and trapped.
  @Test func selectOnAnEmptyConstantPredicateIsLeftAlone() throws {
    var g = try loadGraph(
      """
      swiftgraph 1
      func @f(%x: f32[0,3], %y: f32[0,3]) -> f32[0,3] {
        %p = const [] : bool[0,3]
        %r = select %p, %x, %y
        return %r
      }
      """)
    try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&g)
    let inputs = [NDArray([Float](), shape: [0, 3]), NDArray([Float](), shape: [0, 3])]
    #expect(try Interpreter.run(g.functions[0], inputs)[0].shape == [0, 3])
  }

  @Test func theGeneratorMakesWhatTheOptimizerLooksFor() {
    var mnemonics: [String: Int] = [:]
    var constantPredicates = 0
    for k in 0..<100 {
      let f = optimizationCase(k).original
      var constants: Set<Value> = []
      f.forEachInstruction { inst in
        mnemonics[inst.op.mnemonic, default: 0] += 1
        if case .constant = inst.op { constants.formUnion(inst.results) }
        if case .cond = inst.op, constants.contains(inst.operands[0]) { constantPredicates += 1 }
      }
    }
    #expect(constantPredicates >= 10, "\(constantPredicates) conds on a constant predicate")
    for op in ["cond", "guard", "reshape", "permute", "expand", "slice", "cast", "select", "neg", "mul", "max"] {
      #expect(mnemonics[op, default: 0] >= 10, "\(op): \(mnemonics[op, default: 0])")
    }
  }

  @Test(arguments: 0..<compiledCount)
  func compiledOptimizedFunctionsMatchTheInterpretedOriginals(_ k: Int) throws {
    let (f, optimized) = compiledCases[k]
    guard let g = try? optimized.get() else { return }  // reported by the interpreter test
    let entry = try #require(try compiledEntries.get()[g.name])
    for (n, seed, special) in runs {
      let inputs = specialMixInputs(f, n: n, seed: UInt64(k * 10) + seed, special: special)
      let want = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
      let got = Result { () throws(RuntimeError) in try entry.run(inputs) }
      if let d = disagreement(want: want, got: got) {
        Issue.record(
          "@\(f.name) n=\(n): \(d)\n--- original:\n\(Graph(functions: [f]).text())\n--- optimized:\n\(Graph(functions: [g]).text())")
      }
    }
  }
}
