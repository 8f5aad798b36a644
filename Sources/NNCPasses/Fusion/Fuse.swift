// The fusion pass: groups producers with their consumers into `fused` ops, so the group runs
// as one kernel whose intermediate values never reach memory. General over the primitive set
// (not pattern-matched): any elementwise op, cast, select, movement op (as index arithmetic),
// last-axis reduction (row kernels: softmax and layernorm run per row in cache) and a matmul
// or conv2d with its elementwise epilogue, as far as `FusedKernelShape.classify` accepts the
// group, which is what the code generator can lower.
//
// The cost model, per producer P and the kernel K of its consumers (block by block, from the
// last instruction up):
// - P joins K only if every consumer of P is in K or comes after K (those read P from memory:
//   K yields P as a second result, written in the same pass). P is never duplicated into two
//   kernels: computing it once and reading it from memory costs one pass, computing it in
//   each consumer costs its whole computation again per consumer (for an `exp`, more than the
//   pass). Splat constants are the exception: each kernel gets its own copy (no memory, no
//   work).
// - P does not join K when K would evaluate it more often than P has elements (P broadcast
//   along K's loops) and P is expensive (a transcendental, sqrt, division or pow): K would
//   compute it once per element of K instead of once per element of P. Cheap ops (add, mul,
//   compare, select, casts, movement) are recomputed instead of stored.
// - Inside a row kernel each reduction is a pass over the row, which is in cache; values that
//   two passes need are computed in both (softmax computes exp(x - max) for the sum and again
//   for the output): a few flops per element against a pass over memory.
// - A matmul or conv2d joins its consumers' kernel only as an epilogue's producer (it is the
//   kernel's first op and reads its operands through its own loops), so nothing that feeds a
//   contraction is fused into it: a reduction or an elementwise op feeding a matmul stays a
//   kernel of its own and the matmul reads its result.
// Every pair of adjacent ops left in different kernels gets a remark saying why.

import NNCIR

extension Passes {
  /// Groups producers with consumers into `fused` kernels (see the file comment).
  public static let fuse = Pass(
    name: "fuse", summary: "group elementwise chains, movement, row reductions and matmul/conv epilogues into fused kernels"
  ) { (f: inout Function, context: inout PassContext) throws(Diagnostic) -> Bool in
    var changed = false
    f.body = FusionPlanner.fuse(f.body, &f, &changed, &context)
    return changed
  }
}

enum FusionPlanner {
  /// Ops a fused kernel computes. Constants are not members: splats are copied into each
  /// kernel that reads them, dense constants are read from memory.
  static func isFusible(_ op: Op) -> Bool {
    switch op {
    case .unary, .binary, .compare, .select, .cast, .expand, .reshape, .permute, .slice, .pad, .reduce, .matmul, .conv2d:
      return true
    case .constant, .argReduce, .concat, .pool2d, .cond, .guardTrue, .fused:
      return false
    }
  }


  static func isSplat(_ inst: Instruction) -> Bool {
    if case .constant(let c) = inst.op { return c.data.count == 1 }
    return false
  }

  static func fuse(_ block: Block, _ f: inout Function, _ changed: inout Bool, _ context: inout PassContext) -> Block {
    var insts = block.instructions
    for k in insts.indices {
      if case .cond = insts[k].op { insts[k].regions = insts[k].regions.map { fuse($0, &f, &changed, &context) } }
    }
    let n = insts.count
    var definedAt: [Int: Int] = [:]
    for (k, inst) in insts.enumerated() { for r in inst.results { definedAt[r.id] = k } }
    // Users of each value by position; the terminator is position n; a use inside a region
    // counts at the instruction owning it.
    var users: [Int: [Int]] = [:]
    func noteUses(_ b: Block, at k: Int) {
      for inst in b.instructions {
        for v in inst.operands { users[v.id, default: []].append(k) }
        for r in inst.regions { noteUses(r, at: k) }
      }
      for v in b.terminator { users[v.id, default: []].append(k) }
    }
    for (k, inst) in insts.enumerated() {
      for v in inst.operands { users[v.id, default: []].append(k) }
      for r in inst.regions { noteUses(r, at: k) }
    }
    for v in block.terminator { users[v.id, default: []].append(n) }

    var group = [Int](repeating: -1, count: n)
    var members: [[Int]] = []
    var roots: [Int] = []
    var shapes: [FusedKernelShape] = []
    /// Why producer P (by position) was not fused with the kernel of consumer C, by (P, C).
    var whyNot: [Pair: String] = [:]

    func userPositions(_ k: Int) -> [Int] { insts[k].results.flatMap { users[$0.id] ?? [] } }

    for k in stride(from: n - 1, through: 0, by: -1) where isFusible(insts[k].op) {
      let us = userPositions(k)
      let userGroups = Set(us.compactMap { $0 < n && group[$0] >= 0 ? group[$0] : nil }).sorted { roots[$0] < roots[$1] }
      var joined = false
      for g in userGroups {
        let inK = Set(members[g])
        func explain(_ why: String) { for u in us where inK.contains(u) { whyNot[Pair(k, u)] = why } }
        let candidate = (members[g] + [k]).sorted()
        let inst = groupInstruction(candidate, insts, users: users, definedAt: definedAt, n: n, f: f)
        switch FusedKernelShape.classify(inst, types: f.type(of:)) {
        case .failure(let why):
          explain("not fused: \(why.message)")
          continue
        case .success(let shape):
          if let why = broadcastCost(insts[k], shape, f) {
            explain(why)
            continue
          }
          if let early = us.first(where: { !inK.contains($0) && $0 <= roots[g] }) {
            explain(
              "not fused: '\(insts[early].op.mnemonic)' reads the value before the consumers' kernel runs "
                + "(the kernel would have to run earlier, or compute it twice)")
            continue
          }
          group[k] = g
          members[g] = candidate
          shapes[g] = shape
          joined = true
        }
        if joined { break }
      }
      // Consumers in other kernels read the value from memory.
      if joined {
        for u in us where u < n && group[u] != group[k] && group[u] >= 0 && whyNot[Pair(k, u)] == nil {
          whyNot[Pair(k, u)] = "not fused: the value is computed once in the kernel of its other consumers and read from memory here (fusing it into both would compute it twice)"
        }
        continue
      }
      group[k] = members.count
      members.append([k])
      roots.append(k)
      shapes.append(.pointwise(shape: [], flat: true))
    }

    // Remarks: every group of two or more, and every producer-consumer pair split apart.
    if context.wantsRemarks {
      for (g, ms) in members.enumerated() where ms.count > 1 {
        let ops = ms.map { insts[$0].op.mnemonic }.joined(separator: ", ")
        context.remark(
          "fused \(ms.count) ops into one \(describe(shapes[g])) kernel: \(ops)",
          at: ms.reversed().map { insts[$0].provenance })
      }
      for (c, inst) in insts.enumerated() {
        for v in inst.operands {
          guard let p = definedAt[v.id], group[p] < 0 || group[p] != group[c] else { continue }
          if isSplat(insts[p]) && isFusible(inst.op) { continue }
          let why: String
          if let w = whyNot[Pair(p, c)] {
            why = w
          } else if case .constant = insts[p].op {
            why = "not fused: a dense constant is read from memory"
          } else if !isFusible(insts[p].op) {
            why = "not fused: '\(insts[p].op.mnemonic)' is not computed inside fused kernels"
          } else if !isFusible(inst.op) {
            why = "not fused: '\(inst.op.mnemonic)' is not computed inside fused kernels"
          } else {
            why = "not fused: the producer joined another kernel"
          }
          context.remark("'\(insts[p].op.mnemonic)' -> '\(inst.op.mnemonic)': \(why)", at: [inst.provenance, insts[p].provenance])
        }
      }
    }

    // Build: each group of two or more becomes one fused op at its root's position.
    var replace: [Int: Value] = [:]
    var out = Block(terminatorPos: block.terminatorPos)
    var fusedAny = false
    for k in 0..<n {
      var inst = insts[k]
      if group[k] >= 0 && members[group[k]].count > 1 {
        let g = group[k]
        guard roots[g] == k else { continue }
        var fused = groupInstruction(members[g], insts, users: users, definedAt: definedAt, n: n, f: f, copySplats: true, into: &f)
        fused.operands = fused.operands.map { replace[$0.id] ?? $0 }
        fused.regions[0] = substitute(fused.regions[0], replace)
        fused.recomputeFusedOperands()
        let yields = fused.regions[0].terminator
        fused.results = yields.map { f.newValue(f.type(of: $0)) }
        for (y, r) in zip(yields, fused.results) { replace[y.id] = r }
        out.instructions.append(fused)
        fusedAny = true
        continue
      }
      inst.operands = inst.operands.map { replace[$0.id] ?? $0 }
      inst.regions = inst.regions.map { substitute($0, replace) }
      out.instructions.append(inst)
    }
    out.terminator = block.terminator.map { replace[$0.id] ?? $0 }
    guard fusedAny else { return block.instructions == insts ? block : out }
    changed = true
    // Splat constants copied into every kernel that read them may now be unused.
    var used: Set<Int> = Set(out.terminator.map(\.id))
    func mark(_ b: Block) {
      for i in b.instructions {
        i.operands.forEach { used.insert($0.id) }
        i.regions.forEach(mark)
      }
      b.terminator.forEach { used.insert($0.id) }
    }
    mark(out)
    out.instructions.removeAll { isSplat($0) && !$0.results.contains { used.contains($0.id) } }
    return out
  }

  struct Pair: Hashable {
    var producer: Int
    var consumer: Int
    init(_ p: Int, _ c: Int) { producer = p; consumer = c }
  }

  static func describe(_ s: FusedKernelShape) -> String {
    switch s {
    case .pointwise(let shape, _): return "pointwise [\(shape.map(\.description).joined(separator: ","))]"
    case .rows(let shape): return "row [\(shape.map(\.description).joined(separator: ","))]"
    case .epilogue: return "epilogue"
    }
  }

  /// Why the expensive producer `p` should not be recomputed across a broadcast in a kernel of
  /// `shape`, if it would be. Every kernel's loops run over its iteration space row-major, so a
  /// value broadcast only along inner dims (a row value `[N,1]` in `[N,D]`, a scalar) is
  /// invariant in the inner loops and computed once per element of its own (hoisted out of
  /// them); one broadcast along an outer dim (`[D]` in `[N,D]`) would be computed N times.
  static func broadcastCost(_ p: Instruction, _ shape: FusedKernelShape, _ f: Function) -> String? {
    guard p.op.isCostlyElementwise, let t = f.type(of: p.results[0]) else { return nil }
    let space: [Dim]
    switch shape {
    case .pointwise(let s, _): space = s
    case .epilogue(let s): space = s
    case .rows(let s): space = s
    }
    guard t.rank <= space.count else { return nil }
    let lead = space.count - t.rank
    var seenVarying = false
    var recomputed = false
    for k in stride(from: space.count - 1, through: 0, by: -1) {
      let d: Dim = k >= lead ? t.shape[k - lead] : .int(1)
      let broadcast = d == .int(1) && space[k] != .int(1)
      if broadcast && seenVarying { recomputed = true }
      if !broadcast && space[k] != .int(1) { seenVarying = true }
    }
    if !recomputed { return nil }
    return "not fused: '\(p.op.mnemonic)' on \(t) would be computed for every element of [\(space.map(\.description).joined(separator: ","))] it is broadcast to; it is computed once and stored"
  }

  /// The fused instruction for the members at positions `ms` (in order): their ops, the splat
  /// constants they read (as they are for classifying, as fresh copies when building), and a
  /// yield of every member value used outside the group. Results are left empty.
  static func groupInstruction(
    _ ms: [Int], _ insts: [Instruction], users: [Int: [Int]], definedAt: [Int: Int], n: Int, f: Function
  ) -> Instruction {
    var scratch = f
    return groupInstruction(ms, insts, users: users, definedAt: definedAt, n: n, f: f, copySplats: false, into: &scratch)
  }

  static func groupInstruction(
    _ ms: [Int], _ insts: [Instruction], users: [Int: [Int]], definedAt: [Int: Int], n: Int, f: Function,
    copySplats: Bool, into g: inout Function
  ) -> Instruction {
    let inGroup = Set(ms)
    var body = Block()
    var memberValues: Set<Int> = []
    for k in ms { for r in insts[k].results { memberValues.insert(r.id) } }
    var copies: [Int: Value] = [:]
    for k in ms {
      var inst = insts[k]
      for (j, v) in inst.operands.enumerated() {
        guard let p = definedAt[v.id], !inGroup.contains(p), isSplat(insts[p]) else { continue }
        if let c = copies[v.id] {
          inst.operands[j] = c
          continue
        }
        var copy = insts[p]
        if copySplats {
          let nv = g.newValue(f.type(of: v))
          copy.results = [nv]
          copies[v.id] = nv
          inst.operands[j] = nv
        } else {
          copies[v.id] = v
        }
        body.instructions.append(copy)
      }
      body.instructions.append(inst)
    }
    for k in ms {
      for r in insts[k].results where (users[r.id] ?? []).contains(where: { $0 == n || !inGroup.contains($0) }) {
        body.terminator.append(r)
      }
    }
    var inst = Instruction(op: .fused, operands: [], results: [], regions: [body])
    var loc: Location? = nil
    for k in ms { loc = Location.fusing(loc, insts[k].provenance) }
    inst.loc = loc
    inst.recomputeFusedOperands()
    return inst
  }

  /// `b` with every use of a replaced value renamed, regions included.
  static func substitute(_ b: Block, _ replace: [Int: Value]) -> Block {
    if replace.isEmpty { return b }
    var out = b
    for k in out.instructions.indices {
      out.instructions[k].operands = out.instructions[k].operands.map { replace[$0.id] ?? $0 }
      out.instructions[k].regions = out.instructions[k].regions.map { substitute($0, replace) }
      out.instructions[k].recomputeFusedOperands()
    }
    out.terminator = out.terminator.map { replace[$0.id] ?? $0 }
    return out
  }
}
