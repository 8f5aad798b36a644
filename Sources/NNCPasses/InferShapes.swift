// Shape inference: fills in every result type the text left out, by each op's shape rule, and
// checks the ones it gave. Symbolic dims flow from the parameters through the rules.

import NNCIR

extension Passes {
  /// Fills missing result types; a declared type that disagrees with the rule is an error.
  public static let inferShapes = Pass(
    name: "infer-shapes", summary: "fill in result types by each op's shape rule (symbolic dims included)"
  ) { (f: inout Function, context: inout PassContext) throws(Diagnostic) -> Bool in
    var changed = false
    f.body = try inferBlock(f.body, &f, &changed)
    return changed
  }

  static func inferBlock(_ block: Block, _ f: inout Function, _ changed: inout Bool) throws(Diagnostic) -> Block {
    var b = block
    for k in b.instructions.indices {
      var inst = b.instructions[k]
      for r in inst.regions.indices { inst.regions[r] = try inferBlock(inst.regions[r], &f, &changed) }
      b.instructions[k] = inst
      var operandTypes: [TensorType] = []
      for v in inst.operands {
        // Only reachable on invalid input (use before definition); the verifier names it.
        guard let t = f.type(of: v) else {
          throw Diagnostic(diagnosticPos(inst, in: f), "\(inst.op.mnemonic): operand has no type")
        }
        operandTypes.append(t)
      }
      let inferred: [TensorType]
      if inst.op.resultsDeclared {
        // A cond takes the types its then-region yields.
        guard let first = inst.regions.first else { continue }
        var ts: [TensorType] = []
        for v in first.terminator {
          guard let t = f.type(of: v) else { break }
          ts.append(t)
        }
        guard ts.count == first.terminator.count else { continue }
        guard ts.count == inst.results.count else {
          // The verifier's message, given here because the results stay untyped otherwise.
          throw Diagnostic(
            first.terminatorPos ?? diagnosticPos(inst, in: f),
            "yield has \(ts.count) value\(ts.count == 1 ? "" : "s"), expected \(inst.results.count)")
        }
        inferred = ts
      } else {
        do {
          inferred = try inst.op.resultTypes(for: operandTypes)
        } catch {
          throw Diagnostic(diagnosticPos(inst, in: f), "\(inst.op.mnemonic): \(error.message)")
        }
      }
      guard inferred.count == inst.results.count else {
        throw Diagnostic(diagnosticPos(inst, in: f), "\(inst.op.mnemonic): has \(inferred.count) results, \(inst.results.count) given")
      }
      for (r, t) in zip(inst.results, inferred) {
        if let declared = f.type(of: r) {
          if declared != t && !inst.op.resultsDeclared {
            throw Diagnostic(
              diagnosticPos(inst, in: f), "\(inst.op.mnemonic): result type \(declared) does not match the inferred \(t)")
          }
        } else {
          f.valueTypes[r.id] = t
          changed = true
        }
      }
    }
    return b
  }
}
