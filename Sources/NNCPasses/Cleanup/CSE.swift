// Common-subexpression elimination: an instruction equal to an earlier visible one (same op,
// attributes and operands) is dropped and its uses take the earlier result. The survivor's
// location is fused with the dropped one's, so both origins stay on record.

import NNCIR

extension Passes {
  public static let cse = Pass(
    name: "cse", summary: "replace repeated computations by their first occurrence (locations fused)"
  ) { (f: inout Function, context: inout PassContext) throws(Diagnostic) -> Bool in
    var state = CSEState()
    f.body = cseBlock(f.body, available: [:], &state, &context)
    if !state.fusedLocations.isEmpty { f.body = applyFusedLocations(f.body, state.fusedLocations) }
    return state.changed
  }

  private struct Key: Hashable {
    var op: Op
    var operands: [Value]
  }

  private struct Prior {
    var results: [Value]
    var provenance: Location?
  }

  private struct CSEState {
    var replace: [Int: Value] = [:]
    var changed = false
    /// The survivor's new location, by the id of its first result.
    var fusedLocations: [Int: Location] = [:]
  }

  private static func cseBlock(
    _ block: Block, available: [Key: Prior], _ state: inout CSEState, _ context: inout PassContext
  ) -> Block {
    var available = available
    var out = Block(terminatorPos: block.terminatorPos)
    for var inst in block.instructions {
      inst.operands = inst.operands.map { state.replace[$0.id] ?? $0 }
      // Regions see what is available outside them; what they define stays inside.
      inst.regions = inst.regions.map { cseBlock($0, available: available, &state, &context) }
      inst.recomputeFusedOperands()
      if inst.regions.isEmpty && !inst.op.hasSideEffects && !inst.results.isEmpty {
        let key = Key(op: inst.op, operands: inst.operands)
        if var prior = available[key] {
          for (r, p) in zip(inst.results, prior.results) { state.replace[r.id] = p }
          state.changed = true
          let here = inst.provenance
          context.remark(
            "merged '\(inst.op.mnemonic)' into the identical one at \(prior.provenance?.description ?? "an earlier line")",
            at: [here, prior.provenance])
          if let fused = Location.fusing(prior.provenance, here), fused != prior.provenance {
            prior.provenance = fused
            state.fusedLocations[prior.results[0].id] = fused
            available[key] = prior
          }
          continue
        }
        available[key] = Prior(results: inst.results, provenance: inst.provenance)
      }
      out.instructions.append(inst)
    }
    out.terminator = block.terminator.map { state.replace[$0.id] ?? $0 }
    return out
  }

  /// Sets the fused location of each survivor (found by its first result), regions included.
  static func applyFusedLocations(_ block: Block, _ locations: [Int: Location]) -> Block {
    var b = block
    for k in b.instructions.indices {
      if let first = b.instructions[k].results.first, let loc = locations[first.id] {
        b.instructions[k].loc = loc
      }
      b.instructions[k].regions = b.instructions[k].regions.map { applyFusedLocations($0, locations) }
    }
    return b
  }
}
