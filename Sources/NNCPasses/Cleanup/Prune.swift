// Branch pruning: a `cond` whose predicate is known at compile time (a constant, possibly folded,
// or an op on constants such as `lt %c, %d`) is replaced by the instructions of the region it
// takes, inlined; the other region is dropped. A `guard` whose predicate is known true is
// removed; one known false that always runs is a compile-time error naming the guard's message
// and location. (A guard known false inside a region that stays is kept: it fails only when that
// region runs, which is the program's business, and a remark says so.) Conds that stay are
// pruned inside.

import NNCIR

extension Passes {
  public static let prune = Pass(
    name: "prune",
    summary: "inline the taken region of a cond with a known predicate; drop guards proven true, "
      + "reject guards proven false"
  ) { (f: inout Function, context: inout PassContext) throws(Diagnostic) -> Bool in
    var state = PruneState()
    f.body = try pruneBlock(f.body, f, conditional: false, &state, &context)
    return state.changed
  }

  private struct PruneState {
    var table = ConstantTable()
    /// Instructions by result id, to evaluate a predicate computed from constants.
    var definitions: [Int: Instruction] = [:]
    var replace: [Int: Value] = [:]
    var changed = false
  }

  /// The predicate's value when known, and how it is known with the value (`'lt 10.0, 0.0' =
  /// false`, `the constant true`), for remarks and errors.
  private static func known(
    _ v: Value, _ f: Function, _ state: PruneState, _ context: PassContext
  ) -> (value: Bool, reason: String)? {
    if let c = state.table[v], let truth = ConstantEvaluator.truth(c) {
      let reason = context.foldedExpressions[v.id].map { "'\($0)' = \(truth)" } ?? "the constant \(truth)"
      return (truth, reason)
    }
    guard let def = state.definitions[v.id], let type = f.type(of: v) else { return nil }
    var operands: [Constant] = []
    for o in def.operands {
      guard let c = state.table[o] else { return nil }
      operands.append(c)
    }
    guard !operands.isEmpty, let value = ConstantEvaluator.evaluate(def.op, operands, resultType: type),
      let truth = ConstantEvaluator.truth(value)
    else { return nil }
    return (truth, "'" + def.op.mnemonic + " " + operands.map(ConstantEvaluator.describe).joined(separator: ", ") + "' = \(truth)")
  }

  /// `1 matmul, 2 add` for the instructions of `block` (regions included), `no ops` if none.
  static func opCounts(_ block: Block) -> String {
    var order: [String] = []
    var counts: [String: Int] = [:]
    func walk(_ b: Block) {
      for inst in b.instructions {
        let m = inst.op.mnemonic
        if counts[m] == nil { order.append(m) }
        counts[m, default: 0] += 1
        inst.regions.forEach(walk)
      }
    }
    walk(block)
    return order.isEmpty ? "no ops" : order.map { "\(counts[$0]!) \($0)" }.joined(separator: ", ")
  }

  private static func pruneBlock(
    _ block: Block, _ f: Function, conditional: Bool, _ state: inout PruneState, _ context: inout PassContext
  ) throws(Diagnostic) -> Block {
    var out = Block(terminatorPos: block.terminatorPos)
    for var inst in block.instructions {
      inst.operands = inst.operands.map { state.replace[$0.id] ?? $0 }
      switch inst.op {
      case .cond:
        if let (taken, reason) = known(inst.operands[0], f, state, context) {
          let keep = taken ? 0 : 1
          let names = ["then-branch", "else-branch"]
          context.remark(
            "cond predicate is \(reason); kept \(names[keep]) (\(opCounts(inst.regions[keep]))), "
              + "removed \(names[1 - keep]) (\(opCounts(inst.regions[1 - keep])))",
            at: [inst.provenance])
          let inlined = try pruneBlock(inst.regions[keep], f, conditional: conditional, &state, &context)
          out.instructions += inlined.instructions
          for (r, y) in zip(inst.results, inlined.terminator) { state.replace[r.id] = y }
          state.changed = true
          continue
        }
        var regions: [Block] = []
        for r in inst.regions { regions.append(try pruneBlock(r, f, conditional: true, &state, &context)) }
        inst.regions = regions
      case .fused:
        // The region reads outer values by name: rename there too.
        inst.regions = inst.regions.map { FusionPlanner.substitute($0, state.replace) }
        inst.recomputeFusedOperands()
      case .guardTrue(let message):
        if let (holds, reason) = known(inst.operands[0], f, state, context) {
          let quoted = message.isEmpty ? "guard" : "guard '\(message)'"
          if holds {
            context.remark("removed \(quoted): its predicate is \(reason)", at: [inst.provenance])
            state.changed = true
            continue
          }
          if !conditional {
            let at = inst.textPos == nil ? "" : inst.loc.map { " (traced at \($0))" } ?? ""
            throw Diagnostic(
              diagnosticPos(inst, in: f), "\(quoted) always fails: its predicate is \(reason)\(at)")
          }
          context.remark(
            "kept \(quoted), which always fails when its region runs: its predicate is \(reason)",
            at: [inst.provenance])
        }
      default:
        break
      }
      state.table.note(inst)
      for r in inst.results { state.definitions[r.id] = inst }
      out.instructions.append(inst)
    }
    out.terminator = block.terminator.map { state.replace[$0.id] ?? $0 }
    return out
  }
}
