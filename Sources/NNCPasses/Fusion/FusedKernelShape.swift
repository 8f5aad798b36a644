// What the code generator computes as one fused kernel: the loop structure read off a `fused`
// instruction's region, or why the region is not one kernel. The fusion pass forms only groups
// this accepts, and the code generator splits any other `fused` op (written by hand) back into
// its ops, so both sides agree by construction.

import NNCIR

/// The loop structure of a fused kernel (see `classify`).
public enum FusedKernelShape: Hashable, Sendable {
  /// Elementwise and movement ops evaluated at each index of `shape` (every yield has this
  /// shape). Movement ops (reshape, permute, expand, slice, pad) are index arithmetic on the
  /// way to their operands. `flat`: every value has the iteration space's element count or a
  /// single element and only elementwise ops, reshapes and expands of single elements occur, so
  /// one flat loop over the linear index computes it.
  case pointwise(shape: [Dim], flat: Bool)
  /// Reductions over the last axis of `shape` (every reduce reads a value of this shape with
  /// `axes=[last]`; one without `keepdims=true` is only yielded) with elementwise producers and
  /// consumers, computed row by row: each reduction is a pass over the row (kept in cache),
  /// then the row's results.
  case rows(shape: [Dim])
  /// A matmul or conv2d (the region's first op, reading fused operands) whose result only
  /// elementwise ops read; the one yield has the contraction's shape and dtype. The elementwise
  /// epilogue runs on each output row right after the contraction finishes it.
  case epilogue(shape: [Dim])

  /// Why a region is not one fused kernel.
  public struct Rejection: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
  }

  /// The kernel shape of `inst` (a `fused` instruction whose values `types` gives), or why it
  /// is not one kernel.
  public static func classify(_ inst: Instruction, types: (Value) -> TensorType?) -> Result<FusedKernelShape, Rejection> {
    guard case .fused = inst.op, let body = inst.regions.first else { return .failure(Rejection("not a fused op")) }
    guard !body.terminator.isEmpty else { return .failure(Rejection("the region yields nothing")) }
    var all: [TensorType] = []
    var reduces: [Instruction] = []
    var contractions: [Instruction] = []
    var movement: [Instruction] = []
    for b in body.instructions {
      switch b.op {
      case .unary, .binary, .compare, .select, .cast, .constant: break
      case .expand: break
      case .reshape, .permute, .slice, .pad: movement.append(b)
      case .reduce: reduces.append(b)
      case .matmul, .conv2d: contractions.append(b)
      case .argReduce, .concat, .pool2d, .cond, .guardTrue, .fused:
        return .failure(Rejection("'\(b.op.mnemonic)' is not computed inside fused kernels"))
      }
      for r in b.results {
        guard let t = types(r) else { return .failure(Rejection("a value of the region has no type")) }
        all.append(t)
      }
    }
    var yieldTypes: [TensorType] = []
    for y in body.terminator {
      guard let t = types(y) else { return .failure(Rejection("a yielded value has no type")) }
      yieldTypes.append(t)
    }
    var operandTypes: [TensorType] = []
    for o in inst.operands {
      guard let t = types(o) else { return .failure(Rejection("an operand has no type")) }
      operandTypes.append(t)
    }

    if !contractions.isEmpty {
      let c = contractions[0]
      guard contractions.count == 1 else {
        return .failure(Rejection("a fused kernel holds at most one matmul or conv2d"))
      }
      guard body.instructions.first == c else {
        return .failure(
          Rejection("'\(c.op.mnemonic)' reads its operands from memory through its own loops; what feeds it is not fused into it"))
      }
      guard reduces.isEmpty else {
        return .failure(Rejection("a contraction's epilogue takes no reductions"))
      }
      guard c.operands.allSatisfy(inst.operands.contains) else {
        return .failure(Rejection("the contraction must read the fused op's operands"))
      }
      let ct = types(c.results[0])!
      guard body.instructions.count >= 2, body.terminator.count == 1, !body.terminator.contains(c.results[0]) else {
        return .failure(Rejection("a contraction fuses with one elementwise epilogue whose result is the only yield"))
      }
      guard yieldTypes[0] == ct else {
        return .failure(Rejection("the epilogue's result \(yieldTypes[0]) must have the contraction's type \(ct)"))
      }
      // What reads the contraction's result is elementwise on its shape (the epilogue runs on
      // each output row as it is finished, so it may read no other element of it); what does
      // not (a reshaped or expanded bias) is anything that broadcasts into it.
      var fromC: Set<Int> = [c.results[0].id]
      for b in body.instructions.dropFirst() where b.operands.contains(where: { fromC.contains($0.id) }) {
        switch b.op {
        case .unary, .binary, .compare, .select, .cast: break
        default:
          return .failure(Rejection("'\(b.op.mnemonic)' of the contraction's result is not elementwise"))
        }
        for o in b.operands {
          guard let t = types(o), t.broadcasts(to: ct.shape) else {
            return .failure(Rejection("\(types(o)?.description ?? "?") does not broadcast to the contraction's result \(ct)"))
          }
        }
        guard types(b.results[0])?.shape == ct.shape else {
          return .failure(Rejection("the epilogue keeps the contraction's shape \(ct)"))
        }
        fromC.insert(b.results[0].id)
      }
      guard fromC.contains(body.terminator[0].id) else {
        return .failure(Rejection("the yield does not read the contraction's result"))
      }
      return .success(.epilogue(shape: ct.shape))
    }

    if !reduces.isEmpty {
      guard movement.isEmpty else {
        return .failure(Rejection("a row kernel takes elementwise ops and reductions only (no \(movement[0].op.mnemonic))"))
      }
      guard let s = types(reduces[0].operands[0])?.shape, !s.isEmpty else {
        return .failure(Rejection("a reduction of a 0-d value is not a row kernel"))
      }
      // A reduction without keepdims gives one value per row that the region only yields
      // (broadcasting `[N]` against `[N,L]` would align N with L).
      var yieldedOnly: Set<Int> = []
      let readInside = Set(body.instructions.flatMap { $0.operands.map(\.id) })
      for r in reduces {
        guard case .reduce(_, let axes, let keep) = r.op, axes == [s.count - 1] else {
          return .failure(Rejection("a row kernel reduces the last axis"))
        }
        if !keep {
          guard !readInside.contains(r.results[0].id) else {
            return .failure(Rejection("a reduction without keepdims=true is only yielded by a row kernel, not read in it"))
          }
          yieldedOnly.insert(r.results[0].id)
        }
        guard types(r.operands[0])?.shape == s else {
          return .failure(Rejection("the reductions of one row kernel read values of one shape"))
        }
      }
      for b in body.instructions {
        for r in b.results where !yieldedOnly.contains(r.id) {
          let t = types(r)!
          guard t.broadcasts(to: s) else {
            return .failure(Rejection("\(t) does not broadcast to the rows \(TensorType(t.dtype, s))"))
          }
        }
      }
      for t in operandTypes where !t.broadcasts(to: s) {
        return .failure(Rejection("\(t) does not broadcast to the rows \(TensorType(t.dtype, s))"))
      }
      let rowShape = Array(s.dropLast()) + [.int(1)]
      for t in yieldTypes where t.shape != s && t.shape != rowShape && t.shape != Array(s.dropLast()) {
        return .failure(Rejection("a row kernel yields full rows or one value per row, not \(t)"))
      }
      return .success(.rows(shape: s))
    }

    let s = yieldTypes[0].shape
    guard yieldTypes.allSatisfy({ $0.shape == s }) else {
      return .failure(Rejection("the yields of a pointwise kernel have one shape"))
    }
    let count = ElementCount(s)
    var flat = movement.isEmpty
    for b in body.instructions where flat {
      if case .expand = b.op, let t = types(b.operands[0]), !ElementCount(t.shape).isOne, ElementCount(t.shape) != ElementCount(types(b.results[0])!.shape) {
        flat = false
      }
    }
    if flat {
      for t in all + operandTypes {
        let n = ElementCount(t.shape)
        if n != count && !n.isOne { flat = false; break }
      }
    }
    return .success(.pointwise(shape: s, flat: flat))
  }


}

/// An element count that may involve symbols: the product of the static dims and the sorted
/// list of symbols, so `[N,4]` and `[4,N]` count alike.
public struct ElementCount: Hashable, Sendable {
  public var constant: Int
  public var symbols: [String]

  public init(_ shape: [Dim]) {
    var c = 1
    var syms: [String] = []
    for d in shape {
      switch d {
      case .int(let v): c = c.multipliedReportingOverflow(by: v).partialValue
      case .sym(let s): syms.append(s)
      }
    }
    constant = c
    symbols = syms.sorted()
  }

  /// Exactly one element (every dim a static 1, or rank 0).
  public var isOne: Bool { constant == 1 && symbols.isEmpty }
}

extension Op {
  /// Elementwise ops whose arithmetic, not memory, bounds a loop of them (transcendentals,
  /// sqrt, division, pow): worth computing once and storing rather than recomputing per
  /// element of a broadcast (the fusion cost model), and worth wider vectors (the lowering).
  public var isCostlyElementwise: Bool {
    switch self {
    case .unary(let u):
      switch u {
      case .neg, .abs, .floor, .ceil, .not: return false
      default: return true
      }
    case .binary(let b): return b == .div || b == .pow
    default: return false
    }
  }
}

extension TensorType {
  /// Whether this type broadcasts to `shape` (NumPy's rule: trailing dims equal or 1).
  public func broadcasts(to shape: [Dim]) -> Bool {
    guard rank <= shape.count else { return false }
    let lead = shape.count - rank
    for k in 0..<rank where self.shape[k] != .int(1) && self.shape[k] != shape[lead + k] { return false }
    return true
  }
}

extension Function {
  /// The function with every `fused` op that is not one kernel (`FusedKernelShape.classify`
  /// fails: a hand-written region the code generator has no loop structure for) replaced by
  /// its region's ops, its results by what the region yields; and the reasons, one per op
  /// split. The code generator compiles this form, so any verified function compiles.
  public func splittingUnfusable() -> (Function, [(Location?, String)]) {
    var reasons: [(Location?, String)] = []
    var replace: [Int: Value] = [:]
    func sub(_ v: Value) -> Value { replace[v.id] ?? v }
    func walk(_ block: Block) -> Block {
      var out = Block(terminatorPos: block.terminatorPos)
      for var inst in block.instructions {
        inst.operands = inst.operands.map(sub)
        if case .fused = inst.op, case .failure(let why) = FusedKernelShape.classify(inst, types: type(of:)) {
          reasons.append((inst.provenance, why.message))
          let body = walk(inst.regions[0])
          out.instructions += body.instructions
          for (r, y) in zip(inst.results, body.terminator) { replace[r.id] = y }
          continue
        }
        inst.regions = inst.regions.map(walk)
        out.instructions.append(inst)
      }
      out.terminator = block.terminator.map(sub)
      return out
    }
    var f = self
    f.body = walk(body)
    return (f, reasons)
  }
}
