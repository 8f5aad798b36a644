// Algebraic simplification: a table of named rewrite rules, each exact under the IR's semantics
// (IEEE 754 for floats, wrapping for integers): a rule may only fire when the rewritten code gives
// bit-identical results for every input, NaN, infinities and signed zeros included (NaN payloads
// and signs are unspecified by the IR, docs/swiftgraph.md). So `x*1 -> x` is here and `x*0 -> 0`
// is not (NaN*0 is NaN, -1*0 is -0); `x+(-0.0) -> x` is here and `x+0.0 -> x` is not
// (-0.0 + 0.0 is +0.0). Rules exact only up to rounding (reassociation, `x/c -> x*(1/c)`)
// belong to a fast-math pass, not this one.

import NNCIR

/// What a rule does to an instruction.
public enum Rewrite {
  /// Every use of the instruction's (one) result takes this existing value instead; the
  /// instruction becomes dead.
  case forward(Value)
  /// The instruction is replaced by this one (same results).
  case replace(Instruction)
}

/// One rewrite rule of `simplify`: a name for remarks and tests, why it is exact, and the
/// matcher. `apply` returns nil when the rule does not match.
public struct RewriteRule: Sendable {
  public let name: String
  /// One line: the identity and why it holds for every input.
  public let justification: String
  let apply: @Sendable (Instruction, SimplifyFacts) -> Rewrite?
}

/// What rules may look at: value types, the instruction defining a value (as simplified so
/// far), and constants.
public struct SimplifyFacts {
  let function: Function
  var definitions: [Int: Instruction] = [:]
  var constants = ConstantTable()

  func type(_ v: Value) -> TensorType? { function.type(of: v) }
  func definition(_ v: Value) -> Instruction? { definitions[v.id] }

  /// The one value every element of the constant `v` has, when `v` is such a constant.
  func splat(_ v: Value) -> ConstantData? {
    // An empty constant has no element to name.
    guard let c = constants[v], c.data.count > 0 else { return nil }
    switch c.data {
    case .floats(let x): return x.allSatisfy({ $0.bitPattern == x[0].bitPattern }) ? .floats([x[0]]) : nil
    case .ints(let x): return x.allSatisfy({ $0 == x[0] }) ? .ints([x[0]]) : nil
    case .bools(let x): return x.allSatisfy({ $0 == x[0] }) ? .bools([x[0]]) : nil
    }
  }

  /// True when `v` is a constant whose every element is the float `f` (bit for bit) or, for
  /// integer constants, the integer `i`.
  func isSplat(_ v: Value, float f: Double, int i: Int64?) -> Bool {
    switch splat(v) {
    case .floats(let x)?: return x[0].bitPattern == f.bitPattern
    case .ints(let x)?: return i.map { x[0] == $0 } ?? false
    default: return false
    }
  }

  /// `x` when replacing `result` by it keeps the type exactly (no broadcast hidden in the op).
  func same(_ x: Value, as result: Value) -> Rewrite? {
    guard let a = type(x), let b = type(result), a == b else { return nil }
    return .forward(x)
  }
}

extension Passes {
  /// The rules of `simplify`, in the order they are tried.
  public static let simplifyRules: [RewriteRule] = [
    RewriteRule(
      name: "mul-one", justification: "1 is the identity of multiplication: x*1 = x for every x (NaN, inf, -0.0 too)"
    ) { i, f in
      guard case .binary(.mul) = i.op else { return nil }
      let (a, b) = (i.operands[0], i.operands[1])
      if f.isSplat(b, float: 1, int: 1), let r = f.same(a, as: i.results[0]) { return r }
      if f.isSplat(a, float: 1, int: 1), let r = f.same(b, as: i.results[0]) { return r }
      return nil
    },
    RewriteRule(
      name: "add-neg-zero",
      justification: "-0.0 is the identity of IEEE addition (+0.0 + -0.0 = +0.0, -0.0 + -0.0 = -0.0); 0 of integers"
    ) { i, f in
      guard case .binary(.add) = i.op else { return nil }
      let (a, b) = (i.operands[0], i.operands[1])
      if f.isSplat(b, float: -0.0, int: 0), let r = f.same(a, as: i.results[0]) { return r }
      if f.isSplat(a, float: -0.0, int: 0), let r = f.same(b, as: i.results[0]) { return r }
      return nil
    },
    RewriteRule(
      name: "sub-zero", justification: "x - (+0.0) = x for every x (-0.0 - +0.0 = -0.0); x - 0 = x for integers"
    ) { i, f in
      guard case .binary(.sub) = i.op, f.isSplat(i.operands[1], float: 0.0, int: 0) else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(name: "div-one", justification: "x/1 = x for every x, float or integer") { i, f in
      guard case .binary(.div) = i.op, f.isSplat(i.operands[1], float: 1, int: 1) else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(
      name: "max-min-self", justification: "max(x,x) = min(x,x) = x (IEEE maximum/minimum of equal operands)"
    ) { i, f in
      guard case .binary(let b) = i.op, b == .max || b == .min, i.operands[0] == i.operands[1] else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(name: "and-or-self", justification: "x and x = x or x = x for booleans") { i, f in
      guard case .binary(let b) = i.op, b == .and || b == .or, i.operands[0] == i.operands[1] else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(
      name: "involution",
      justification: "neg(neg x) = x and not(not x) = x exactly (integer neg wraps at the minimum both times)"
    ) { i, f in
      guard case .unary(let u) = i.op, u == .neg || u == .not, let inner = f.definition(i.operands[0]),
        case .unary(u) = inner.op
      else { return nil }
      return f.same(inner.operands[0], as: i.results[0])
    },
    RewriteRule(name: "abs-abs", justification: "abs(abs x) = abs x: abs is idempotent") { i, f in
      guard case .unary(.abs) = i.op, let inner = f.definition(i.operands[0]), case .unary(.abs) = inner.op else {
        return nil
      }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(name: "cast-same", justification: "a cast to the operand's own dtype changes no bit") { i, f in
      guard case .cast(let t) = i.op, f.type(i.operands[0])?.dtype == t else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(
      name: "select-constant", justification: "select with a predicate that is all true (all false) is its 2nd (3rd) operand"
    ) { i, f in
      guard case .select = i.op, case .bools(let p)? = f.splat(i.operands[0]) else { return nil }
      return f.same(p[0] ? i.operands[1] : i.operands[2], as: i.results[0])
    },
    RewriteRule(name: "reshape-identity", justification: "a reshape to the operand's own shape moves nothing") { i, f in
      guard case .reshape = i.op else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(
      name: "reshape-reshape", justification: "reshapes keep row-major order, so only the last one's shape matters"
    ) { i, f in
      guard case .reshape = i.op, let inner = f.definition(i.operands[0]), case .reshape = inner.op else { return nil }
      var merged = i
      merged.operands = [inner.operands[0]]
      merged.loc = Location.fusing(inner.provenance, i.provenance)
      return .replace(merged)
    },
    RewriteRule(name: "permute-identity", justification: "the identity permutation moves nothing") { i, f in
      guard case .permute(let p) = i.op, p == Array(p.indices) else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(
      name: "permute-permute", justification: "two permutations compose into one: result axis k is axis p1[p2[k]]"
    ) { i, f in
      guard case .permute(let p2) = i.op, let inner = f.definition(i.operands[0]), case .permute(let p1) = inner.op else {
        return nil
      }
      var merged = i
      merged.op = .permute(perm: p2.map { p1[$0] })
      merged.operands = [inner.operands[0]]
      merged.loc = Location.fusing(inner.provenance, i.provenance)
      return .replace(merged)
    },
    RewriteRule(name: "expand-identity", justification: "an expand to the operand's own shape repeats nothing") { i, f in
      guard case .expand = i.op else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(
      name: "slice-full", justification: "a slice from 0 with step 1 that keeps the shape takes every element in order"
    ) { i, f in
      guard case .slice(let start, _, let step) = i.op, start.allSatisfy({ $0 == 0 }), step.allSatisfy({ $0 == 1 }) else {
        return nil
      }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(name: "pad-none", justification: "a pad of 0 elements on every side adds nothing") { i, f in
      guard case .pad(let lo, let hi, _) = i.op, (lo + hi).allSatisfy({ $0 == 0 }) else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
    RewriteRule(name: "concat-single", justification: "a concat of one operand is that operand") { i, f in
      guard case .concat = i.op, i.operands.count == 1 else { return nil }
      return f.same(i.operands[0], as: i.results[0])
    },
  ]

  public static let simplify = Pass(
    name: "simplify",
    summary: "apply exact algebraic rewrite rules (x*1, x+(-0.0), neg(neg x), reshape/permute chains, ...)"
  ) { (f: inout Function, context: inout PassContext) throws(Diagnostic) -> Bool in
    var facts = SimplifyFacts(function: f)
    var replace: [Int: Value] = [:]
    var changed = false
    f.body = simplifyBlock(f.body, &facts, &replace, &changed, &context)
    return changed
  }

  /// How often rules are retried on an instruction a rule replaced (a rewrite can enable another:
  /// `reshape(reshape x)` to x's own shape becomes `reshape x`, then `x`).
  static let maxRewritesPerInstruction = 8

  private static func simplifyBlock(
    _ block: Block, _ facts: inout SimplifyFacts, _ replace: inout [Int: Value], _ changed: inout Bool,
    _ context: inout PassContext
  ) -> Block {
    var out = Block(terminatorPos: block.terminatorPos)
    for var inst in block.instructions {
      inst.operands = inst.operands.map { replace[$0.id] ?? $0 }
      inst.regions = inst.regions.map { simplifyBlock($0, &facts, &replace, &changed, &context) }
      inst.recomputeFusedOperands()
      var forwarded = false
      if inst.results.count == 1 && inst.regions.isEmpty && !inst.op.hasSideEffects {
        rewriting: for _ in 0..<maxRewritesPerInstruction {
          for rule in simplifyRules {
            guard let rewrite = rule.apply(inst, facts) else { continue }
            changed = true
            switch rewrite {
            case .forward(let v):
              context.remark("\(rule.name): replaced '\(inst.op.mnemonic)' by its operand", at: [inst.provenance])
              replace[inst.results[0].id] = v
              forwarded = true
              break rewriting
            case .replace(let new):
              context.remark(
                "\(rule.name): rewrote '\(inst.op.mnemonic)' of '\(facts.definition(inst.operands[0])?.op.mnemonic ?? "?")' "
                  + "into one '\(new.op.mnemonic)'",
                at: [new.provenance])
              inst = new
              continue rewriting
            }
          }
          break
        }
      }
      if forwarded { continue }
      facts.constants.note(inst)
      for r in inst.results { facts.definitions[r.id] = inst }
      out.instructions.append(inst)
    }
    out.terminator = block.terminator.map { replace[$0.id] ?? $0 }
    return out
  }
}
