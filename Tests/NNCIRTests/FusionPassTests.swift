// The fuse pass without compiling: on random fusion-heavy functions (FusionGraphGenerator) and
// random functions of the whole op set, the fused function interpreted computes exactly what
// the unfused one computes (exactMismatch: bit for bit, any NaN equals any NaN), fusion
// happens in most of them, and the workspace plan of a fused function holds no value from
// inside a fused region and gives no two live values the same bytes.

import Foundation
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// Symbol sizes, input seeds and fractions of special input values (0 makes empty tensors).
private let runs: [(n: Int, seed: UInt64, special: Double)] = [(1, 1, 0), (3, 2, 0.3), (2, 3, 0.6), (0, 4, 0)]

/// Fusion-heavy function `k`.
func fusionFunction(_ k: Int) -> Function {
  var gen = FusionGraphGenerator(seed: UInt64(70_000 + k))
  return gen.function(name: "z\(k)")
}

/// `f` after `passes` with verify-each.
func applying(_ passes: [Pass], to f: Function) throws(Diagnostic) -> Function {
  var g = Graph(functions: [f])
  try PassManager(passes: passes, verifyEach: true).run(&g)
  return g.functions[0]
}

/// The `fused` instructions of `f` and the values defined inside their regions.
func fusedOps(_ f: Function) -> (count: Int, inner: Set<Int>) {
  var count = 0
  var inner: Set<Int> = []
  f.forEachInstruction { inst in
    guard case .fused = inst.op else { return }
    count += 1
    for b in inst.regions[0].instructions { for r in b.results { inner.insert(r.id) } }
  }
  return (count, inner)
}

/// nil when the fused function's results equal the original's on `inputs` (or both fail alike).
private func disagreement(_ f: Function, _ g: Function, _ inputs: [NDArray]) -> String? {
  let want = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
  let got = Result { () throws(RuntimeError) in try Interpreter.run(g, inputs) }
  switch (want, got) {
  case (.success(let w), .success(let a)):
    return exactMismatch(a, w)
  case (.failure(let e), .failure(let a)):
    return e == a ? nil : "unfused: \(e), fused: \(a)"
  case (.failure(let e), .success):
    return "unfused: \(e), fused: no failure"
  case (.success, .failure(let a)):
    return "unfused succeeds, fused: \(a)"
  }
}

@Suite struct FusionPassTests {
  static let chunks = 8
  /// Fusion-heavy functions per chunk (NNC_FUSION_PASS_FUNCTIONS overrides the total).
  static let total = ProcessInfo.processInfo.environment["NNC_FUSION_PASS_FUNCTIONS"].flatMap(Int.init) ?? 800

  /// The fuse pass alone, interpreted, against the function as generated.
  @Test(arguments: 0..<chunks)
  func fusedFunctionsInterpretLikeTheUnfused(_ chunk: Int) throws {
    for k in stride(from: chunk, to: Self.total, by: Self.chunks) {
      let f = fusionFunction(k)
      let text = Graph(functions: [f]).text()
      do {
        try f.verify()
      } catch {
        Issue.record("the generator made a function that does not verify: \(error)\n\(text)")
        continue
      }
      let g: Function
      do {
        g = try applying([Passes.fuse], to: f)
      } catch {
        Issue.record("fuse failed: \(error)\n\(text)")
        continue
      }
      for (n, seed, special) in runs {
        let inputs = specialMixInputs(f, n: n, seed: UInt64(k * 10) + seed, special: special)
        if let d = disagreement(f, g, inputs) {
          Issue.record("@\(f.name) n=\(n): \(d)\n--- unfused:\n\(text)\n--- fused:\n\(Graph(functions: [g]).text())")
        }
      }
    }
  }

  /// Functions of the whole op set (conds, guards, concat, pooling, argmax, hand-written fused
  /// ops among them) through the fuse pass alone, interpreted.
  @Test(arguments: 0..<4)
  func fusedRandomFunctionsInterpretLikeTheUnfused(_ chunk: Int) throws {
    for k in stride(from: chunk, to: 200, by: 4) {
      var gen = RandomGraphGenerator(seed: UInt64(90_000 + k))
      gen.extras = k % 2 == 0 ? .all : [.trueGuards]
      let f = gen.function(name: "r\(k)")
      let text = Graph(functions: [f]).text()
      let g: Function
      do {
        g = try applying([Passes.fuse], to: f)
      } catch {
        Issue.record("fuse failed: \(error)\n\(text)")
        continue
      }
      for (n, seed, special) in runs {
        let inputs = specialMixInputs(f, n: n, seed: UInt64(k * 10) + seed, special: special)
        if let d = disagreement(f, g, inputs) {
          Issue.record("@\(f.name) n=\(n): \(d)\n--- unfused:\n\(text)\n--- fused:\n\(Graph(functions: [g]).text())")
        }
      }
    }
  }

  /// Most fusion-heavy functions get at least one fused op, many get several, and every kind
  /// of kernel (pointwise flat and indexed, row, epilogue) is among them.
  @Test func fusionHappensInMostFunctions() throws {
    var withFused = 0
    var fused = 0
    var ops = 0
    var kinds: [String: Int] = [:]
    for k in 0..<200 {
      let g = try applying(Passes.defaultPipeline, to: fusionFunction(k))
      let (count, inner) = fusedOps(g)
      if count > 0 { withFused += 1 }
      fused += count
      ops += inner.count
      g.forEachInstruction { inst in
        guard case .fused = inst.op else { return }
        switch FusedKernelShape.classify(inst, types: g.type(of:)) {
        case .success(.pointwise(_, let flat)): kinds[flat ? "flat" : "indexed", default: 0] += 1
        case .success(.rows): kinds["rows", default: 0] += 1
        case .success(.epilogue): kinds["epilogue", default: 0] += 1
        case .failure(let why): Issue.record("the pass formed a group that is not one kernel: \(why)\n\(Graph(functions: [g]).text())")
        }
      }
    }
    #expect(withFused >= 170, "\(withFused) of 200 functions have a fused op")
    #expect(fused >= 250 && ops >= 3 * fused, "\(fused) fused ops of \(ops) ops")
    for kind in ["flat", "indexed", "rows", "epilogue"] {
      #expect(kinds[kind, default: 0] >= 15, "\(kinds)")
    }
  }

  /// The plan of a fused function (after the default pipeline, as compiled): no value defined
  /// inside a fused region has workspace, and values live at once never share bytes
  /// (checkPlan's brute force over all pairs, its live intervals computed independently).
  @Test(arguments: 0..<4)
  func fusedFunctionsHaveSoundWorkspacePlans(_ chunk: Int) throws {
    var planned = 0
    for k in stride(from: chunk, to: 200, by: 4) {
      let g = try applying(Passes.defaultPipeline, to: fusionFunction(k))
      let (count, inner) = fusedOps(g)
      guard count > 0 else { continue }
      let plan = WorkspacePlan(g)
      let insideFused = plan.values.filter { inner.contains($0.id) }
      #expect(insideFused.isEmpty, "@\(g.name): \(insideFused) are inside fused regions\n\(Graph(functions: [g]).text())")
      checkPlan(g)
      planned += 1
    }
    #expect(planned >= 30)
  }

  /// A hand-written fused op with a region of several values and two results: the plan gives
  /// the region's values nothing, and its results are live from the fused op on.
  @Test func workspaceOfAHandWrittenFusedOp() throws {
    let f = try loadGraph(
      """
      swiftgraph 1
      func @f(%x: f32[64], %b: f32[64]) -> f32[64] {
        %e, %s = fused %x, %b -> (f32[64], f32[64]) {
          %h = add %x, %b
          %t = exp %h
          %u = neg %t
          yield %u, %h
        }
        %n = neg %e
        %o = add %n, %s
        return %o
      }
      """
    ).functions[0]
    let (count, inner) = fusedOps(f)
    #expect(count == 1 && inner.count == 3)
    let plan = WorkspacePlan(f)
    #expect(plan.values.allSatisfy { !inner.contains($0.id) })
    #expect(plan.values.count == 3, "\(plan.values)")  // %e, %s and %n
    checkPlan(f)
  }

  /// Random functions with hand-written fused ops (`Extras.all`, which holds `.fused`) through
  /// the cleanup passes that descend into fused regions and then `fuse`, verified after each
  /// pass and interpreted. Prune is left out until it renames uses inside fused regions (see
  /// `pruneRenamesUsesInsideFusedRegions`); with it, the whole default pipeline is checked by
  /// OptimizationDifferentialTests once `.fused` joins its extras there.
  @Test(arguments: 0..<4)
  func cleanupsKeepHandWrittenFusedOpsValid(_ chunk: Int) throws {
    let passes = [Passes.fold, Passes.simplify, Passes.cse, Passes.dce, Passes.fuse]
    for k in stride(from: chunk, to: 200, by: 4) {
      var gen = RandomGraphGenerator(seed: UInt64(50_000 + k))
      gen.extras = .all
      let f = gen.function(name: "o\(k)")
      let text = Graph(functions: [f]).text()
      let g: Function
      do {
        g = try applying(passes, to: f)
      } catch {
        Issue.record("the cleanups failed: \(error)\n\(text)")
        continue
      }
      for (n, seed, special) in runs {
        let inputs = specialMixInputs(f, n: n, seed: UInt64(k * 10) + seed, special: special)
        let want = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
        let got = Result { () throws(RuntimeError) in try Interpreter.run(g, inputs) }
        // Passes may remove dead code that would have failed in a kernel (see
        // OptimizationDifferentialTests); only results are compared.
        guard case .success(let w) = want else { continue }
        guard case .success(let a) = got, a.count == w.count else {
          Issue.record("@\(f.name) n=\(n): the original succeeds, the optimized gives \(got)\n\(text)")
          continue
        }
        for (j, (x, y)) in zip(a, w).enumerated() {
          if let m = exactMismatch(x, y) {
            Issue.record("@\(f.name) n=\(n) result \(j): \(m)\n--- original:\n\(text)\n--- optimized:\n\(Graph(functions: [g]).text())")
          }
        }
      }
    }
  }

  /// prune inlines the region a constant predicate takes and renames later uses of the cond's
  /// results, but not uses inside a fused op's region: the fused op's operand becomes %n while
  /// its body still reads %r, which no longer exists (the verifier after prune: "fused: the
  /// body reads %<2>, which is not an operand of the fused op").
  @Test
  func pruneRenamesUsesInsideFusedRegions() throws {
    var g = try loadGraph(
      """
      swiftgraph 1
      func @f(%x: f32[4]) -> f32[4] {
        %p = const true : bool[]
        %r = cond %p -> f32[4] {
          %n = neg %x
          yield %n
        } else {
          yield %x
        }
        %o = fused %r -> f32[4] {
          %e = exp %r
          yield %e
        }
        return %o
      }
      """)
    let before = g.functions[0]
    try PassManager(passes: [Passes.prune], verifyEach: true).run(&g)
    #expect(!g.text().contains("cond"))
    let x = NDArray([Float](arrayLiteral: 1, -2, 0, 3), shape: [4])
    #expect(exactMismatch(try Interpreter.run(g.functions[0], [x])[0], try Interpreter.run(before, [x])[0]) == nil)
  }

  /// A conv2d bias given as f32[C] and reshaped to [C,1,1] (or [1,C,1,1]) is the same epilogue
  /// as a bias given as f32[C,1,1]: the reshape is of the bias, not of the contraction's value.
  /// The pass first groups the reshape with the add and relu, and the conv2d then cannot join
  /// ("a contraction's epilogue takes elementwise ops only"): it stays a kernel of its own and
  /// its whole output goes through memory. The same for matmul with a reshaped f32[1,C] bias.
  @Test
  func aReshapedBiasStillFusesAsAnEpilogue() throws {
    var g = try loadGraph(
      """
      swiftgraph 1
      func @conv(%x: f32[2,3,8,8], %w: f32[4,3,3,3], %b: f32[4]) -> f32[2,4,6,6] {
        %c = conv2d %x, %w
        %b3 = reshape %b shape=[4,1,1]
        %cb = add %c, %b3
        %zero = const 0.0 : f32[]
        %r = max %cb, %zero
        return %r
      }
      func @mm(%x: f32[N,8], %w: f32[8,4], %b: f32[1,4]) -> f32[N,4] {
        %h = matmul %x, %w
        %b2 = reshape %b shape=[4]
        %hb = add %h, %b2
        return %hb
      }
      """)
    try PassManager(passes: [Passes.fuse], verifyEach: true).run(&g)
    for f in g.functions {
      #expect(f.body.instructions.count == 1, "@\(f.name): one epilogue kernel\n\(Graph(functions: [f]).text())")
      if let inst = f.body.instructions.last, case .success(let shape) = FusedKernelShape.classify(inst, types: f.type(of:)) {
        guard case .epilogue = shape else { Issue.record("@\(f.name): \(shape)"); continue }
      }
    }
  }
}
