// The workspace plan (NNCPasses/Memory/WorkspacePlan.swift), checked without compiling: live
// intervals recomputed here a different way, then every pair of workspace values whose
// intervals overlap must occupy disjoint bytes (brute force over all pairs, for several
// bindings of the size symbols), the peak must be the highest region end, and the planned
// workspace is never larger than the unplanned sum.

import Foundation
import NNCIR
import NNCPasses
import NNCTestSupport
import Testing

/// Live intervals computed independently of the planner: every use is first recorded at its
/// own position, then each `cond` moves the uses inside its regions of values defined before it
/// to its end (outer conds last, so the outermost one wins).
func referenceIntervals(_ f: Function) -> [Int: LiveInterval] {
  var returned: Set<Int> = []
  let topResults = Set(f.body.instructions.flatMap { $0.results.map(\.id) })
  for v in f.body.terminator where topResults.contains(v.id) { returned.insert(v.id) }
  var def: [Int: Int] = [:]
  var lastUse: [Int: Int] = [:]
  var position = 0
  func note(_ v: Value, _ at: Int) { lastUse[v.id] = max(lastUse[v.id] ?? at, at) }
  // Returns the values used inside `block` (and its nested regions) with their positions.
  func walk(_ block: Block) -> [(Value, Int)] {
    var seen: [(Value, Int)] = []
    for inst in block.instructions {
      let start = position
      for o in inst.operands { seen.append((o, start)) }
      for r in inst.results { def[r.id] = start }
      position += 1
      // A fused kernel's region never reaches memory.
      if case .fused = inst.op { continue }
      var inner: [(Value, Int)] = []
      for region in inst.regions {
        inner += walk(region)
        inner += region.terminator.map { ($0, position) }
        position += 1
      }
      if !inst.regions.isEmpty {
        let end = position
        position += 1
        // The yields are copied into the results at the end: written there.
        for r in inst.results { note(r, end) }
        // Values defined before this cond and used inside it are live to its end.
        for (v, at) in inner { seen.append((v, (def[v.id] ?? -1) < start ? end : at)) }
      }
    }
    return seen
  }
  let uses = walk(f.body) + f.body.terminator.map { ($0, position) }
  for (v, at) in uses { note(v, at) }
  var out: [Int: LiveInterval] = [:]
  for (id, d) in def where !returned.contains(id) { out[id] = LiveInterval(d, max(d, lastUse[id] ?? d)) }
  return out
}

/// Checks the plan of `f`; returns (planned, unplanned) bytes with every symbol bound to 3.
@discardableResult
func checkPlan(_ f: Function, sourceLocation: SourceLocation = #_sourceLocation) -> (Int, Int) {
  let plan = WorkspacePlan(f)
  let reference = referenceIntervals(f)
  #expect(plan.intervals == reference, "@\(f.name): intervals", sourceLocation: sourceLocation)
  #expect(Set(plan.values.map(\.id)) == Set(reference.keys), sourceLocation: sourceLocation)
  var peak = 0
  for v in plan.values {
    if let o = plan.offsets[v.id], let s = plan.alignedSizes[v.id] {
      #expect(o % WorkspacePlan.alignment == 0, sourceLocation: sourceLocation)
      peak = max(peak, o + s)
    }
  }
  #expect(plan.staticBytes == peak, "@\(f.name): the static part is the highest region end", sourceLocation: sourceLocation)
  let bindings: [[String: Int]] = [[:], ["N": 1, "M": 1], ["N": 3, "M": 2], ["N": 64, "M": 5], ["N": 1000, "M": 7]]
  for symbols in bindings {
    let bound = symbols.isEmpty ? Dictionary(uniqueKeysWithValues: f.sizeSymbols.map { ($0, 0) }) : symbols
    var regions: [(Value, Range<Int>)] = []
    for v in plan.values {
      let size = WorkspacePlan.alignedByteSize(f.type(of: v)!, symbols: bound)
      let offset = plan.offset(of: v, symbols: bound)!
      #expect(offset % WorkspacePlan.alignment == 0, sourceLocation: sourceLocation)
      #expect(offset + size <= plan.plannedBytes(symbols: bound), sourceLocation: sourceLocation)
      regions.append((v, offset..<(offset + size)))
    }
    for i in regions.indices {
      for j in regions.indices where j > i {
        let (a, ra) = regions[i]
        let (b, rb) = regions[j]
        guard reference[a.id]!.overlaps(reference[b.id]!), !ra.isEmpty, !rb.isEmpty else { continue }
        #expect(
          !ra.overlaps(rb),
          "@\(f.name) \(symbols): \(a) \(reference[a.id]!) at \(ra) and \(b) \(reference[b.id]!) at \(rb)",
          sourceLocation: sourceLocation)
      }
    }
    #expect(plan.plannedBytes(symbols: bound) <= plan.unplannedBytes(symbols: bound), sourceLocation: sourceLocation)
  }
  let three = Dictionary(uniqueKeysWithValues: f.sizeSymbols.map { ($0, 3) })
  return (plan.plannedBytes(symbols: three), plan.unplannedBytes(symbols: three))
}

@Suite struct WorkspacePlanTests {
  @Test(arguments: ["lenet", "mlp", "select_branch", "select_branch_const"])
  func sampleModels(_ name: String) throws {
    let url = sampleModelURL(name)
    var g = try loadGraph([UInt8](Data(contentsOf: url)), file: url.path)
    for f in g.functions { checkPlan(f) }
    try PassManager(passes: Passes.defaultPipeline).run(&g)
    for f in g.functions { checkPlan(f) }
  }

  @Test func lenetReusesSlots() throws {
    let url = sampleModelURL("lenet")
    let f = try loadGraph([UInt8](Data(contentsOf: url)), file: url.path).functions[0]
    let plan = WorkspacePlan(f)
    #expect(!plan.isStatic)
    #expect(plan.sizeSymbols == ["N"])
    // A chain of layers: far fewer slots than values, and much less memory at any batch.
    #expect(plan.slots.count < plan.values.count / 2)
    for n in [1, 8, 64] {
      #expect(plan.plannedBytes(symbols: ["N": n]) * 2 < plan.unplannedBytes(symbols: ["N": n]))
    }
  }

  @Test(arguments: [1, 2, 10, 160])
  func unrolledRNN(_ steps: Int) throws {
    let f = try loadGraph(UnrolledRNN(steps: steps).text).functions[0]
    let (planned, unplanned) = checkPlan(f)
    let plan = WorkspacePlan(f)
    #expect(plan.isStatic)
    // A step's values are dead by the next step: the workspace does not grow with T.
    let step = 4 * 64 * 4  // one f32[4,64]
    #expect(planned <= 4 * step, "T=\(steps): \(planned) bytes planned")
    if steps == 160 { #expect(unplanned == 160 * (2 * 512 + 5 * step) - step) }
    let symbolic = try loadGraph(UnrolledRNN(steps: steps, symbolicBatch: true).text).functions[0]
    checkPlan(symbolic)
    #expect(WorkspacePlan(symbolic).slots.count <= 8)
  }

  @Test(arguments: 0..<150)
  func randomFunctions(_ k: Int) throws {
    var gen = RandomGraphGenerator(seed: UInt64(1000 + k))
    checkPlan(gen.function(name: "r\(k)"))
    var extra = RandomGraphGenerator(seed: UInt64(5000 + k))
    extra.extras = .all
    var g = Graph(functions: [extra.function(name: "e\(k)")])
    checkPlan(g.functions[0])
    // After the default pipeline (conds folded or pruned, dead code removed) as compiled.
    if (try? PassManager(passes: Passes.defaultPipeline).run(&g)) != nil { checkPlan(g.functions[0]) }
  }

  /// A chain of N ops on one shape needs two buffers, not N; values returned stay out.
  @Test func chainReusesTwoBuffers() throws {
    var lines = ["swiftgraph 1", "func @chain(%x: f32[256]) -> f32[256] {", "  %v0 = exp %x"]
    for k in 1..<50 { lines.append("  %v\(k) = neg %v\(k - 1)") }
    lines += ["  return %v49", "}"]
    let f = try loadGraph(lines.joined(separator: "\n")).functions[0]
    checkPlan(f)
    let plan = WorkspacePlan(f)
    #expect(plan.values.count == 49)
    #expect(plan.staticBytes == 2 * 1024)
    #expect(plan.unplannedBytes() == 49 * 1024)
  }

  /// Hundreds of values live at once (all read by one concat), with short-lived ones between
  /// them: the planner walks all placed values instead of sorting conflicts; still correct.
  @Test func manyValuesLiveAtOnce() throws {
    var lines = ["swiftgraph 1", "func @wide(%x: f32[16]) -> f32[7200] {"]
    var kept: [String] = []
    for k in 0..<300 {
      lines.append(k % 2 == 0 ? "  %t\(k) = neg %x" : "  %t\(k) = concat %x, %x axis=0")
      lines.append("  %v\(k) = exp %t\(k)")
      kept.append("%v\(k)")
    }
    lines += ["  %c = concat \(kept.joined(separator: ", ")) axis=0", "  return %c", "}"]
    let f = try loadGraph(lines.joined(separator: "\n")).functions[0]
    let (planned, unplanned) = checkPlan(f)
    // The 300 kept values (64 or 128 bytes each) plus one short-lived value at a time.
    #expect(planned == 150 * 64 + 150 * 128 + 128, "\(planned)")
    #expect(unplanned == 2 * (150 * 64 + 150 * 128))
  }

  /// A cond result nothing reads is still written by the yield copies at the end of a region:
  /// it lives over the whole cond and shares with nothing inside (a one-byte bool result
  /// sharing with a value a region computed once overwrote that value's first byte).
  @Test func unusedCondResultLivesToTheEnd() throws {
    let text = unusedCondResultGraph
    let f = try loadGraph(text).functions[0]
    checkPlan(f)
    let plan = WorkspacePlan(f)
    let u = f.body.instructions[1].results[0]
    #expect(plan.intervals[u.id] == LiveInterval(1, 5))  // cond 1, yield 2, e 3, yield 4, end 5
  }

  /// Values used inside a cond's regions live to its end; its results from its start.
  @Test func condIntervals() throws {
    let text = """
      swiftgraph 1
      func @c(%x: f32[16], %p: bool[]) -> f32[16] {
        %a = exp %x
        %b = neg %x
        %r = cond %p -> f32[16] {
          %t = add %a, %a
          yield %t
        } else {
          %e = neg %b
          yield %e
        }
        %z = add %r, %x
        return %z
      }
      """
    let f = try loadGraph(text).functions[0]
    checkPlan(f)
    let plan = WorkspacePlan(f)
    // Positions: a 0, b 1, cond 2, t 3, yield 4, e 5, yield 6, end 7, z 8, return 9.
    let byName = f.displayNames()
    func interval(_ name: String) -> LiveInterval {
      plan.intervals[byName.first { $0.value == name }!.key]!
    }
    #expect(interval("%0") == LiveInterval(0, 7))  // a, read in the then region
    #expect(interval("%1") == LiveInterval(1, 7))  // b, read in the else region
    #expect(interval("%2") == LiveInterval(2, 8))  // the cond's result
    #expect(interval("%3") == LiveInterval(3, 4))  // t, yielded
    #expect(interval("%4") == LiveInterval(5, 6))  // e, yielded
    #expect(plan.staticBytes == 4 * 64)  // a, b, r at once, t or e (they share)
  }
}
