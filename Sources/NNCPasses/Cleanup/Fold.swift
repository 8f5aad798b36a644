// Constant folding: an instruction whose operands are all constants is replaced by a `const`
// holding its value, computed by the reference interpreter's kernels (one semantics). Limits
// are in `ConstantEvaluator`. Regions are folded inside; `cond` and `guard` are `prune`'s.

import NNCIR

extension Passes {
  public static let fold = Pass(
    name: "fold",
    summary: "replace ops on constants by their value (interpreter kernels; static results up to "
      + "\(ConstantEvaluator.maxFoldedElements) elements, splats of any size)"
  ) { (f: inout Function, context: inout PassContext) throws(Diagnostic) -> Bool in
    var table = ConstantTable()
    var changed = false
    f.body = foldBlock(f.body, f, &table, &changed, &context)
    return changed
  }

  private static func foldBlock(
    _ block: Block, _ f: Function, _ table: inout ConstantTable, _ changed: inout Bool, _ context: inout PassContext
  ) -> Block {
    var b = block
    for k in b.instructions.indices {
      var inst = b.instructions[k]
      inst.regions = inst.regions.map { foldBlock($0, f, &table, &changed, &context) }
      inst.recomputeFusedOperands()
      defer {
        b.instructions[k] = inst
        table.note(inst)
      }
      guard inst.results.count == 1, inst.regions.isEmpty, !inst.op.hasSideEffects, !inst.operands.isEmpty,
        let type = f.type(of: inst.results[0])
      else { continue }
      var operands: [Constant] = []
      for v in inst.operands {
        guard let c = table[v] else { break }
        operands.append(c)
      }
      guard operands.count == inst.operands.count,
        let value = ConstantEvaluator.evaluate(inst.op, operands, resultType: type)
      else { continue }
      let expression = inst.op.mnemonic + " " + operands.map(ConstantEvaluator.describe).joined(separator: ", ")
      context.foldedExpressions[inst.results[0].id] = expression
      context.remark("folded '\(expression)' to \(ConstantEvaluator.describe(value))", at: [inst.provenance])
      inst.op = .constant(value)
      inst.operands = []
      changed = true
    }
    return b
  }
}
