// Common-subexpression elimination: an instruction equal to an earlier visible one (same op,
// attributes and operands) is dropped and its uses take the earlier result.

import NNCIR

extension Passes {
  public static let cse = Pass(
    name: "cse", summary: "replace repeated computations by their first occurrence"
  ) { (f: inout Function) throws(Diagnostic) -> Bool in
    var replace: [Int: Value] = [:]
    var changed = false
    f.body = cseBlock(f.body, available: [:], &replace, &changed)
    return changed
  }

  private struct Key: Hashable {
    var op: Op
    var operands: [Value]
  }

  private static func cseBlock(
    _ block: Block, available: [Key: [Value]], _ replace: inout [Int: Value], _ changed: inout Bool
  ) -> Block {
    var available = available
    var out = Block(terminatorPos: block.terminatorPos)
    for var inst in block.instructions {
      inst.operands = inst.operands.map { replace[$0.id] ?? $0 }
      // Regions see what is available outside them; what they define stays inside.
      inst.regions = inst.regions.map { cseBlock($0, available: available, &replace, &changed) }
      if inst.regions.isEmpty && !inst.op.hasSideEffects {
        let key = Key(op: inst.op, operands: inst.operands)
        if let prior = available[key] {
          for (r, p) in zip(inst.results, prior) { replace[r.id] = p }
          changed = true
          continue
        }
        available[key] = inst.results
      }
      out.instructions.append(inst)
    }
    out.terminator = block.terminator.map { replace[$0.id] ?? $0 }
    return out
  }
}
