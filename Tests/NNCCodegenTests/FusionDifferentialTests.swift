// Random fusion-heavy functions (FusionGraphGenerator: elementwise chains with broadcasts,
// casts, selects, movement, last-axis reductions, matmul/conv2d epilogues, values with several
// consumers, symbolic dims) through the default pipeline, which ends with `fuse`, compiled
// with their fused kernels: the compiled fused function computes exactly what the unfused
// function computes in the interpreter (exactMismatch: bit for bit, any NaN equals any NaN), on
// random inputs and inputs with special values. Also `nnc compile --stats` on the fusion
// golden file.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// How many functions (`NNC_FUSION_FUNCTIONS` overrides), compiled as how many modules (one
/// compile per batch keeps the debug-build test short).
private let fusionCount = ProcessInfo.processInfo.environment["NNC_FUSION_FUNCTIONS"].flatMap(Int.init) ?? 240
private let batches = 8

/// Symbol sizes, input seeds and fractions of special input values (0 makes empty tensors).
private let runs: [(n: Int, seed: UInt64, special: Double)] = [(1, 1, 0), (3, 2, 0.3), (2, 3, 0.6), (0, 4, 0), (5, 5, 0.1)]

private func fusionCase(_ k: Int) -> (original: Function, fused: Result<Function, Diagnostic>) {
  var gen = FusionGraphGenerator(seed: UInt64(70_000 + k))
  let f = gen.function(name: "z\(k)")
  let fused = Result { () throws(Diagnostic) -> Function in
    var g = Graph(functions: [f])
    try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&g)
    return g.functions[0]
  }
  return (f, fused)
}

@Suite struct FusionDifferentialTests {
  @Test(arguments: 0..<batches)
  func compiledFusedFunctionsMatchTheInterpretedUnfused(_ batch: Int) throws {
    let cases = stride(from: batch, to: fusionCount, by: batches).map { ($0, fusionCase($0)) }
    var compiled: [Function] = []
    var fusedOps = 0
    for (_, c) in cases {
      switch c.fused {
      case .success(let g):
        compiled.append(g)
        g.forEachInstruction { if case .fused = $0.op { fusedOps += 1 } }
      case .failure(let e):
        Issue.record("the default pipeline failed: \(e)\n\(Graph(functions: [c.original]).text())")
      }
    }
    // Most functions fuse something (the generator makes what the pass groups).
    #expect(fusedOps >= cases.count, "\(fusedOps) fused ops in \(cases.count) functions")
    let entries = try compileAndLoad(Graph(functions: compiled))
    for (k, c) in cases {
      guard let g = try? c.fused.get() else { continue }  // reported above
      let entry = try #require(entries[g.name], "@\(g.name) was not compiled")
      for (n, seed, special) in runs {
        let inputs = specialMixInputs(c.original, n: n, seed: UInt64(k * 10) + seed, special: special)
        let want = Result { () throws(RuntimeError) in try Interpreter.run(c.original, inputs) }
        let got = Result { () throws(RuntimeError) in try entry.run(inputs) }
        var problem: String?
        switch (want, got) {
        case (.success(let w), .success(let a)):
          problem = exactMismatch(a, w)
        case (.failure(let e), .failure(let a)):
          if e != a { problem = "interpreted: \(e), compiled: \(a)" }
        case (.failure(let e), .success):
          problem = "interpreted: \(e), compiled: no failure"
        case (.success, .failure(let a)):
          problem = "interpreted succeeds, compiled: \(a)"
        }
        if let problem {
          Issue.record(
            "@\(g.name) n=\(n) special=\(special): \(problem)\n--- unfused:\n\(Graph(functions: [c.original]).text())\n--- fused:\n\(Graph(functions: [g]).text())"
          )
        }
      }
    }
  }

  /// Hand-written fused ops (RandomGraphGenerator's `Extras.fused`: runs of any ops without
  /// regions or effects, conds and guards around them) compiled as written: the ones that are
  /// one kernel lower as fused kernels, the others are split back into their ops; either way
  /// the compiled function computes what the interpreter computes, failures included.
  @Test func handWrittenFusedOpsCompileToWhatTheyMean() throws {
    var functions: [Function] = []
    var fusedOps = 0
    for k in 0..<80 {
      var gen = RandomGraphGenerator(seed: UInt64(1000 + k))
      gen.extras = [.fused]
      let f = gen.function(name: "h\(k)")
      f.forEachInstruction { if case .fused = $0.op { fusedOps += 1 } }
      functions.append(f)
    }
    #expect(fusedOps >= 80, "\(fusedOps) fused ops")
    let entries = try compileAndLoad(Graph(functions: functions))
    for (k, f) in functions.enumerated() {
      let entry = try #require(entries[f.name])
      for (n, seed, special) in runs {
        let inputs = specialMixInputs(f, n: n, seed: UInt64(k * 10) + seed, special: special)
        if let d = disagreement(entry, inputs) {
          Issue.record("n=\(n) special=\(special): \(d)\n\(Graph(functions: [f]).text())")
        }
      }
    }
  }

  /// `nnc compile --stats` counts a fused kernel as one kernel call: the softmax and layernorm
  /// are one row kernel each, matmul + bias + relu one epilogue kernel, and a value two kernels
  /// read is stored by one and read by the other.
  @Test func compileStatsOfFusedFunctions() throws {
    let dir = ScratchDirectory()
    let golden = packageRoot.appendingPathComponent("Tests/NNCIRTests/Golden/fuse.swiftgraph").path
    let r = try NNCTool.nnc(["compile", golden, "-o", dir.path("f.o"), "--stats"])
    #expect(r.status == 0, "\(r.stderr)")
    // One kernel per function where everything fused: its only value is the result, so no
    // workspace. Where two kernels remain, the value between them is the whole workspace
    // (exp's f32[4,8] read by the matmul; exp's f32[8]; the f32[4,1] row sums).
    #expect(
      r.stdout == """
        @chain: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @bias: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @cast_select: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @movement: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @softmax: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @layernorm: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @matmul_bias_relu: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @conv_bias_relu: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @conv_bias_expanded_relu: 1 kernel calls (1 distinct, 1 fused), workspace 0 bytes planned, 0 unplanned
        @two_consumers: 2 kernel calls (2 distinct, 1 fused), workspace 128 bytes planned, 128 unplanned
        @expensive_broadcast: 2 kernel calls (2 distinct, 0 fused), workspace 64 bytes planned, 64 unplanned
        @reduce_into_matmul: 2 kernel calls (2 distinct, 0 fused), workspace 64 bytes planned, 64 unplanned

        """, "\(r.stdout)")
  }
}
