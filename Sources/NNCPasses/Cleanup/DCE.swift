// Dead-code elimination: removes instructions whose results nothing uses, unless they (or code
// in their regions) have side effects such as `guard`.

import NNCIR

extension Passes {
  public static let dce = Pass(
    name: "dce", summary: "remove computations whose results are unused (guards are kept)"
  ) { (f: inout Function, context: inout PassContext) throws(Diagnostic) -> Bool in
    var used: Set<Int> = []
    var changed = false
    f.body = dceBlock(f.body, &used, &changed, &context)
    return changed
  }

  static func hasEffects(_ inst: Instruction) -> Bool {
    inst.op.hasSideEffects || inst.regions.contains { $0.instructions.contains(where: hasEffects) }
  }

  /// Walks backwards so that a use is seen before its definition.
  private static func dceBlock(
    _ block: Block, _ used: inout Set<Int>, _ changed: inout Bool, _ context: inout PassContext
  ) -> Block {
    var b = block
    for v in b.terminator { used.insert(v.id) }
    var kept: [Instruction] = []
    for var inst in b.instructions.reversed() {
      if !hasEffects(inst) && !inst.results.contains(where: { used.contains($0.id) }) {
        changed = true
        context.remark("removed unused '\(inst.op.mnemonic)'", at: [inst.provenance])
        continue
      }
      inst.regions = inst.regions.map { dceBlock($0, &used, &changed, &context) }
      inst.recomputeFusedOperands()
      for v in inst.operands { used.insert(v.id) }
      kept.append(inst)
    }
    b.instructions = kept.reversed()
    return b
  }
}
