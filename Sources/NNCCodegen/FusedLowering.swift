// Fused kernels: one loop nest computes a `fused` instruction's region without writing its
// intermediate values to memory. The loop structure comes from `FusedKernelShape`
// (NNCPasses/Fusion): pointwise (one flat loop, or a nest over the result with movement ops
// as index arithmetic), rows (each last-axis reduction one pass over a cached row, then the
// row's results) or a contraction's epilogue (applied to each output row as it is finished).
// Every value is computed by the same scalar lowering as the unfused kernels and every sum in
// `SummationOrder`, so fused results equal the interpreter's bit for bit. The outermost loop of
// every shape runs over independent rows or elements, so it can be split across threads.

import CLLVM
import NNCIR
import NNCPasses

extension FunctionLowering {
  /// The kernel body of a `fused` instruction. `compile` splits fused ops that are not one
  /// kernel (`FusedKernelShape.classify`) before lowering, so every op here classifies.
  func fusedKernel(_ inst: Instruction, out: [LLVMValueRef], ins: [LLVMValueRef]) {
    guard case .success(let shape) = FusedKernelShape.classify(inst, types: f.type(of:)) else { return }
    // LLVM 14 tunes AVX-512 CPUs for 256-bit vectors (wide ones once lowered the clock); a
    // kernel whose time is its arithmetic (transcendentals, divisions) runs faster at 512 bits
    // where the target has them: gelu_tanh 1.3-1.5x, ew_chain 1.1-1.2x on this project's Xeon
    // (bit-identical results; row kernels compute pairs of a float sum's groups at 512 bits,
    // `reduceRow`). `--vector-width` overrides it. Epilogues keep the contraction's tuning.
    if case .epilogue = shape {} else if wideComputeVectors
      && inst.regions[0].instructions.contains(where: { $0.op.isCostlyElementwise })
    {
      let fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b))!
      LLVMAddAttributeAtIndex(fn, functionAttrIndex, stringAttr(ctx, "prefer-vector-width", "512"))
    }
    let e = FusedEmitter(self, inst, ins)
    switch shape {
    case .pointwise(let s, let flat): e.pointwise(s, flat: flat, out)
    case .rows(let s): e.rows(s, out)
    case .epilogue: e.epilogue(out)
    }
  }
}

/// Emits the values of one fused region at given indices.
final class FusedEmitter {
  unowned let L: FunctionLowering
  let f: Function
  let body: Block
  var definition: [Int: Instruction] = [:]
  /// Pointers to read values from: the fused op's operands, and in an epilogue the
  /// contraction's result (computed into the output buffer first).
  var buffers: [Int: LLVMValueRef] = [:]
  /// Values already emitted in the current loop body, by value and index.
  var memo: [Key: LLVMValueRef] = [:]
  /// The current row's reduction results (row kernels).
  var rowValues: [Int: LLVMValueRef] = [:]
  /// A row kernel's iteration space `[..., L]`, which every value of its region broadcasts to.
  var rowSpace = TensorType(.f32, [])
  /// The fused op's operands and results.
  let operands: [Value]
  let results: [Value]

  struct Key: Hashable {
    var id: Int
    var index: [LLVMValueRef]
  }

  init(_ lowering: FunctionLowering, _ inst: Instruction, _ ins: [LLVMValueRef]) {
    L = lowering
    f = lowering.f
    body = inst.regions[0]
    operands = inst.operands
    results = inst.results
    for b in body.instructions { for r in b.results { definition[r.id] = b } }
    for (v, p) in zip(inst.operands, ins) { buffers[v.id] = p }
  }

  func type(_ v: Value) -> TensorType { f.type(of: v)! }

  // MARK: - kernel shapes

  func pointwise(_ s: [Dim], flat: Bool, _ out: [LLVMValueRef]) {
    let st = TensorType(.f32, s)
    if flat {
      let types = body.terminator.map { type($0).dtype }
      L.flatLoop(
        L.product(L.dims(st)), Array(zip(out, types)), streamed: streamedResults(body.terminator.indices),
        footprint: footprint
      ) { i in
        self.memo = [:]
        return self.body.terminator.map { y in
          var v: LLVMValueRef!
          self.source(y) { v = self.flat(y, i) }
          return v
        }
      }
      return
    }
    let outStrides = L.strides(st)
    L.loopNest(L.dims(st)) { idx in
      self.memo = [:]
      let o = self.L.dot(idx, outStrides)
      for (k, y) in self.body.terminator.enumerated() {
        self.source(y) { self.L.store(self.at(y, idx), out[k], o, self.type(y).dtype) }
      }
    }
  }

  func rows(_ s: [Dim], _ out: [LLVMValueRef]) {
    let st = TensorType(.f32, s)
    rowSpace = st
    let ds = L.dims(st)
    let len = ds[ds.count - 1]
    let reduces = body.instructions.filter { if case .reduce = $0.op { return true } else { return false } }
    let fullStrides = L.strides(st)
    let isRow = body.terminator.map { s.last != .int(1) && type($0).shape != s }
    let caches = rowCaches(reduces, s, isRow, out)
    // Full-row results to stream: not a row another pass reads back (a cache).
    let streamed = streamedResults(body.terminator.indices.filter { k in !isRow[k] && !caches.values.contains(out[k]) })
    var streamedTiles: [Int: LLVMValueRef] = [:]
    for k in streamed { streamedTiles[k] = L.streamingTile(type(body.terminator[k]).dtype) }
    let operandBuffers = buffers
    L.loopNest(Array(ds.dropLast())) { r in
      self.rowValues = [:]
      self.buffers = operandBuffers
      for red in reduces {
        let cache = caches[red.operands[0].id]
        self.source(red.results[0]) {
          self.rowValues[red.results[0].id] = self.reduceRow(red, r, len, cacheTo: cache, fullStrides: fullStrides)
        }
        // Later passes read the cached value from the row instead of computing it again.
        if let cache { self.buffers[red.operands[0].id] = cache }
      }
      for (k, y) in self.body.terminator.enumerated() where isRow[k] {
        self.memo = [:]
        // `[..., 1]` (keepdims) or `[...]`.
        let idx = self.type(y).rank == s.count ? r + [self.L.constI64(0)] : r
        let rowStrides = self.L.strides(self.type(y))
        self.source(y) { self.L.store(self.at(y, idx), out[k], self.L.dot(idx, rowStrides), self.type(y).dtype) }
      }
      guard isRow.contains(false) else { return }
      /// The final pass over row `r`'s elements `start + k`, k < `count`: `tiles` keeps the
      /// streamed results (at k), which are then streamed out.
      func finalPass(_ start: LLVMValueRef, _ count: LLVMValueRef, tiles: [Int: LLVMValueRef]) {
        self.L.loop(count, "k") { k in
          self.memo = [:]
          let idx = r + [LLVMBuildAdd(self.L.b, start, k, "")!]
          let o = self.L.dot(idx, fullStrides)
          // Every result first, then the stores: a result may read a value cached in another
          // result's row.
          var values: [(Int, LLVMValueRef)] = []
          for (j, y) in self.body.terminator.enumerated() where !isRow[j] {
            self.source(y) { values.append((j, self.at(y, idx))) }
          }
          for (j, v) in values {
            let t = self.type(self.body.terminator[j]).dtype
            if let tile = tiles[j] { self.L.store(v, tile, k, t) } else { self.L.store(v, out[j], o, t) }
          }
        }
        for (j, tile) in tiles.sorted(by: { $0.key < $1.key }) {
          let t = self.type(self.body.terminator[j]).dtype
          let dst = self.L.elementPointer(out[j], self.L.memType(t), self.L.dot(r + [start], fullStrides))
          self.L.streamOut(tile, to: dst, count: count, t)
        }
      }
      guard !streamedTiles.isEmpty else { return finalPass(self.L.constI64(0), len, tiles: [:]) }
      self.L.ifStreaming(
        bytes: footprint,
        large: { self.L.forEachTile(len) { start, count in finalPass(start, count, tiles: streamedTiles) } },
        small: { finalPass(self.L.constI64(0), len, tiles: [:]) })
    }
    if !streamedTiles.isEmpty { L.streamingFence() }
  }

  /// The indices among `candidates` of the results the call site lets this kernel stream
  /// (`FunctionLowering.streamedResults`).
  func streamedResults(_ candidates: some Sequence<Int>) -> [Int] {
    candidates.filter { L.streamedResults.indices.contains($0) && L.streamedResults[$0] }
  }

  /// The bytes the kernel's operands and results take (`Streaming`'s measure).
  var footprint: LLVMValueRef { L.footprint((operands + results).map(type)) }

  /// Values a reduction pass computes that a later pass needs again and that cost more than a
  /// store and a load (an op beyond adds, multiplies and selects on the way: softmax's
  /// `exp(x - max)`), each with the output row that keeps it meanwhile: a full-row result of
  /// its dtype that no other value uses (the final pass reads the value there before it
  /// writes the result). The row is in cache; without this, softmax computes `exp` twice.
  func rowCaches(_ reduces: [Instruction], _ s: [Dim], _ isRow: [Bool], _ out: [LLVMValueRef]) -> [Int: LLVMValueRef] {
    var free = body.terminator.indices.filter { !isRow[$0] && type(body.terminator[$0]).dtype.isFloat }
    var caches: [Int: LLVMValueRef] = [:]
    // Values the final pass computes (reachable from full results without crossing a reduction).
    var needed: Set<Int> = []
    func mark(_ v: Value) {
      guard needed.insert(v.id).inserted, let inst = definition[v.id] else { return }
      if case .reduce = inst.op { return }
      inst.operands.forEach(mark)
    }
    for (k, y) in body.terminator.enumerated() where !isRow[k] { mark(y) }
    func costly(_ v: Value) -> Bool {
      guard let inst = definition[v.id] else { return false }
      if inst.op.isCostlyElementwise { return true }
      if case .reduce = inst.op { return false }
      return inst.operands.contains(where: costly)
    }
    for red in reduces {
      let v = red.operands[0]
      guard definition[v.id] != nil, caches[v.id] == nil, needed.contains(v.id), type(v).shape == s, costly(v),
        let k = free.firstIndex(where: { type(body.terminator[$0]).dtype == type(v).dtype })
      else { continue }
      caches[v.id] = out[free[k]]
      free.remove(at: k)
    }
    return caches
  }

  func epilogue(_ out: [LLVMValueRef]) {
    let c = body.instructions[0]
    let cv = c.results[0]
    let ct = type(cv)
    let y = body.terminator[0]
    buffers[cv.id] = out[0]
    let cStrides = L.strides(ct)
    let apply = { (row: [LLVMValueRef]) in
      self.L.loop(self.L.dim(ct.shape[ct.rank - 1]), "e") { j in
        self.memo = [:]
        let idx = row + [j]
        let v = self.at(y, idx)
        self.source(y) { self.L.store(v, out[0], self.L.dot(idx, cStrides), ct.dtype) }
      }
    }
    let ins = c.operands.map { buffers[$0.id]! }
    let ts = c.operands.map(type)
    source(cv) {
      switch c.op {
      case .matmul: L.matmulKernel(ins[0], ts[0], ins[1], ts[1], out[0], ct, rowEpilogue: apply)
      case .conv2d(let attrs): L.convKernel(attrs, ins[0], ts[0], ins[1], ts[1], out[0], ct, rowEpilogue: apply)
      default: break
      }
    }
  }

  /// One last-axis reduction of row `r`, in `SummationOrder`: lane l accumulates the terms
  /// k with k % lanes == l (whole groups as one vector operation, the tail term by term),
  /// starting from the identity (-0.0 for float sums), and the lanes combine by the fixed tree.
  /// For max/min and integer sums any order gives the same result; they use the same lanes.
  ///
  /// `cacheTo`: a full-row buffer to store each term in as it is computed (`rowCaches`).
  /// Reductions whose order does not matter (max/min, integer sums) keep `independent`
  /// vector accumulators for whole groups of `lanes * independent` terms, so a long row is not
  /// one chain of dependent operations. Float max/min accumulate `OrderedKey`s instead of
  /// floats: two integer operations a group where the IEEE maximum/minimum costs five.
  func reduceRow(
    _ red: Instruction, _ r: [LLVMValueRef], _ len: LLVMValueRef, cacheTo: LLVMValueRef?, fullStrides: [LLVMValueRef]
  ) -> LLVMValueRef {
    guard case .reduce(let kind, _, _) = red.op else { return LLVMGetUndef(L.i64) }
    let x = red.operands[0]
    let t = type(x).dtype
    let lanes = SummationOrder.lanes
    let keyed = t.isFloat && kind != .sum
    // The accumulators: the float sum's lanes, or the integers' lanes, or for a float max/min
    // the largest and the smallest key (the NaN test needs both).
    let at = keyed ? OrderedKey.keyType(t) : t
    let vt = LLVMVectorType(L.regType(at), UInt32(lanes))!
    func constant(_ v: LLVMValueRef) -> LLVMValueRef {
      var splat = [LLVMValueRef?](repeating: v, count: lanes)
      return LLVMConstVector(&splat, UInt32(lanes))
    }
    let identities: [LLVMValueRef]
    let ops: [BinaryOp]
    switch (kind, t.isFloat) {
    case (.sum, true): identities = [L.constScalar(-0.0, t)]; ops = [.add]
    case (.sum, false): identities = [L.constScalar(0, t)]; ops = [.add]
    case (_, true):
      identities = [OrderedKey.constant(L, -.infinity, t), OrderedKey.constant(L, .infinity, t)]
      ops = [.max, .min]
    case (.max, false):
      identities = [LLVMConstInt(L.regType(t), t == .i32 ? UInt64(bitPattern: Int64(Int32.min)) : UInt64(bitPattern: Int64.min), 1)]
      ops = [.max]
    case (.min, false):
      identities = [LLVMConstInt(L.regType(t), t == .i32 ? UInt64(Int32.max) : UInt64(Int64.max), 1)]
      ops = [.min]
    }
    let independent = kind == .sum && t.isFloat ? 1 : 4
    // accSlots[a][j]: accumulator a of the `ops[j]` reduction.
    let accSlots = (0..<independent).map { _ in identities.map { _ in L.entryAlloca(vt) } }
    for slots in accSlots { for (slot, e) in zip(slots, identities) { LLVMBuildStore(L.b, constant(e), slot) } }
    let groups = LLVMBuildSDiv(L.b, len, L.constI64(lanes), "")!
    let tailStart = LLVMBuildMul(L.b, groups, L.constI64(lanes), "")!
    /// The terms from `base` on as one vector of `width` lanes, also stored to the cache.
    func terms(_ base: LLVMValueRef, width w: Int) -> LLVMValueRef {
      width = w
      let terms = vector(x, r + [base])
      width = lanes
      if let cacheTo {
        let p = L.elementPointer(cacheTo, L.memType(t), L.dot(r + [base], fullStrides))
        let pointer = LLVMPointerType(LLVMVectorType(L.memType(t), UInt32(w)), 0)
        let store = LLVMBuildStore(L.b, terms, LLVMBuildBitCast(L.b, p, pointer, ""))!
        LLVMSetAlignment(store, UInt32(t.byteSize))
      }
      return terms
    }
    func accumulate(_ part: LLVMValueRef, into slots: [LLVMValueRef]) {
      let value = keyed ? atWidth { OrderedKey.key(L, part, t) } : part
      for (slot, op) in zip(slots, ops) {
        LLVMBuildStore(L.b, lanewise(op, LLVMBuildLoad2(L.b, vt, slot, "")!, value, at), slot)
      }
    }
    /// Adds the group of terms starting at `base` into `slots`.
    func group(_ base: LLVMValueRef, into slots: [LLVMValueRef]) {
      accumulate(terms(base, width: lanes), into: slots)
    }
    // Whole runs of `independent` groups, one accumulator each, then the groups left, into
    // the first (for a float sum, `independent` is 1: every group in order).
    let runs = LLVMBuildSDiv(L.b, groups, L.constI64(independent), "")!
    /// The two groups from `base` computed as one vector of twice the lanes, each half added
    /// into `slots` in order.
    func pair(_ base: LLVMValueRef, into slots: [LLVMValueRef]) {
      let both = terms(base, width: 2 * lanes)
      for half in 0..<2 {
        var mask = (0..<lanes).map { LLVMConstInt(L.i32, UInt64(half * lanes + $0), 0) as LLVMValueRef? }
        accumulate(
          LLVMBuildShuffleVector(L.b, both, LLVMGetUndef(LLVMTypeOf(both)), LLVMConstVector(&mask, UInt32(lanes)), "")!,
          into: slots)
      }
    }
    if independent > 1 {
      L.loop(runs, "run") { q in
        self.memo = [:]
        // (Computing these at twice the width measured no faster: the max pass is short.)
        for a in 0..<independent {
          let g = LLVMBuildAdd(self.L.b, LLVMBuildMul(self.L.b, q, self.L.constI64(independent), ""), self.L.constI64(a), "")!
          group(LLVMBuildMul(self.L.b, g, self.L.constI64(lanes), "")!, into: accSlots[a])
        }
      }
    }
    var firstLeft = independent > 1 ? LLVMBuildMul(L.b, runs, L.constI64(independent), "")! : L.constI64(0)
    if independent == 1 && L.wideComputeVectors {
      // Pairs of groups computed as one vector of twice the lanes (512 bits for f32), then
      // added group by group in order: the same sums, half the instructions for the terms.
      let pairs = LLVMBuildSDiv(L.b, groups, L.constI64(2), "")!
      L.loop(pairs, "pair") { q in
        self.memo = [:]
        pair(LLVMBuildMul(self.L.b, q, self.L.constI64(2 * lanes), "")!, into: accSlots[0])
      }
      firstLeft = LLVMBuildMul(L.b, pairs, L.constI64(2), "")!
    }
    L.loop(from: firstLeft, groups, "g") { g in
      self.memo = [:]
      group(LLVMBuildMul(self.L.b, g, self.L.constI64(lanes), "")!, into: accSlots[0])
    }
    if independent > 1 {
      for (j, op) in ops.enumerated() {
        var merged = LLVMBuildLoad2(L.b, vt, accSlots[0][j], "")!
        for slots in accSlots.dropFirst() { merged = lanewise(op, merged, LLVMBuildLoad2(L.b, vt, slots[j], "")!, at) }
        LLVMBuildStore(L.b, merged, accSlots[0][j])
      }
    }
    L.loop(from: tailStart, len, "t") { k in
      self.memo = [:]
      let lane = LLVMBuildSub(self.L.b, k, tailStart, "")
      let e = self.at(x, r + [k])
      if let cacheTo { self.L.store(e, cacheTo, self.L.dot(r + [k], fullStrides), t) }
      let value = keyed ? OrderedKey.key(self.L, e, t) : e
      for (slot, op) in zip(accSlots[0], ops) {
        let acc = LLVMBuildLoad2(self.L.b, vt, slot, "")
        let v = self.L.binary(op, LLVMBuildExtractElement(self.L.b, acc, lane, ""), value, at)
        LLVMBuildStore(self.L.b, LLVMBuildInsertElement(self.L.b, acc, v, lane, ""), slot)
      }
    }
    let combined = zip(accSlots[0], ops).map { slot, op -> LLVMValueRef in
      let acc = LLVMBuildLoad2(L.b, vt, slot, "")!
      let s = (0..<lanes).map { LLVMBuildExtractElement(L.b, acc, L.constI64($0), "")! }
      func c(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { L.binary(op, a, b, at) }
      return c(c(c(s[0], s[4]), c(s[2], s[6])), c(c(s[1], s[5]), c(s[3], s[7])))
    }
    if keyed { return OrderedKey.extreme(L, largest: combined[0], smallest: combined[1], max: kind == .max, t) }
    guard kind == .sum && t.isFloat else { return combined[0] }
    // A sum of no terms is +0.0 (the lanes hold -0.0).
    let none = LLVMBuildICmp(L.b, LLVMIntEQ, len, L.constI64(0), "")
    return LLVMBuildSelect(L.b, none, L.constScalar(0, t), combined[0], "")
  }

  /// `op` on two `<lanes x T>` vectors, by the scalar lowering at that width.
  func lanewise(_ op: BinaryOp, _ a: LLVMValueRef, _ b: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    atWidth { L.binary(op, a, b, t) }
  }

  // MARK: - whole groups of lanes

  /// How many terms `vector` computes at once: `SummationOrder.lanes`, or twice that where
  /// whole pairs of groups are computed as one wide vector (split into groups to accumulate).
  var width = SummationOrder.lanes

  /// Runs `body` with the scalar lowering at `width`.
  func atWidth<T>(_ body: () -> T) -> T {
    let saved = L.lanes
    L.lanes = width
    defer { L.lanes = saved }
    return body()
  }

  /// `v` at the `lanes` consecutive indices `idx`, `idx + e_last`, ... along the row's last
  /// axis (row kernels: every value broadcasts to the rows), as one `<lanes x T>` vector: a
  /// value that varies along the last axis loads a vector, one that does not (a row value, a
  /// broadcast operand, a constant) is a splat.
  func vector(_ v: Value, _ idx: [LLVMValueRef]) -> LLVMValueRef {
    let lanes = width
    let key = Key(id: -1 - v.id - 1_000_000 * width, index: idx)
    if let m = memo[key] { return m }
    let t = type(v)
    let s = rowSpace
    let varies = t.rank > 0 && t.shape[t.rank - 1] == s.shape[s.rank - 1] && s.shape[s.rank - 1] != .int(1)
    let r: LLVMValueRef
    if let row = rowValues[v.id] {
      r = splat(row, t.dtype)
    } else if !varies {
      r = splat(at(v, FusedEmitter.broadcastIndex(idx, s, t, zero: L.constI64(0))), t.dtype)
    } else if let p = buffers[v.id] {
      let vt = LLVMVectorType(L.memType(t.dtype), UInt32(lanes))!
      let at = L.elementPointer(p, L.memType(t.dtype), L.dot(FusedEmitter.broadcastIndex(idx, s, t, zero: L.constI64(0)), L.strides(t)))
      let load = LLVMBuildLoad2(L.b, vt, LLVMBuildBitCast(L.b, at, LLVMPointerType(vt, 0), ""), "")!
      LLVMSetAlignment(load, UInt32(t.dtype.byteSize))
      r = t.dtype == .bool ? LLVMBuildICmp(L.b, LLVMIntNE, load, LLVMConstNull(vt), "") : load
    } else {
      let inst = definition[v.id]!
      switch inst.op {
      case .constant(let c) where c.data.count == 1:
        r = splat(constantElement(c, t, L.constI64(0)), t.dtype)
      case .constant(let c):
        // A dense constant along the row: lane by lane from the global.
        var out = LLVMGetUndef(LLVMVectorType(L.regType(t.dtype), UInt32(lanes)))!
        let base = L.dot(FusedEmitter.broadcastIndex(idx, s, t, zero: L.constI64(0)), L.strides(t))
        for j in 0..<lanes {
          let e = constantElement(c, t, LLVMBuildAdd(L.b, base, L.constI64(j), "")!)
          out = LLVMBuildInsertElement(L.b, out, e, L.constI64(j), "")
        }
        r = out
      default:
        let xs = inst.operands.map { vector($0, idx) }
        r = atWidth { scalar(inst, xs) }
      }
    }
    memo[key] = r
    return r
  }

  /// A `<lanes x T>` vector of `x` in every lane.
  func splat(_ x: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    let lanes = width
    let vt = LLVMVectorType(LLVMTypeOf(x), UInt32(lanes))!
    let one = LLVMBuildInsertElement(L.b, LLVMGetUndef(vt), x, L.constI64(0), "")!
    var zeros = [LLVMValueRef?](repeating: LLVMConstInt(L.i32, 0, 0), count: lanes)
    return LLVMBuildShuffleVector(L.b, one, LLVMGetUndef(vt), LLVMConstVector(&zeros, UInt32(lanes)), "")
  }

  // MARK: - values

  /// Runs `body` with the source location of `v`'s instruction as the current one (debug
  /// line information maps each op of a fused kernel to its own line).
  func source(_ v: Value, _ body: () -> Void) {
    guard let inst = definition[v.id] else { return body() }
    L.withSourceLocation(inst.provenance, body)
  }

  /// Value `v` at linear index `i` (pointwise kernels with one flat loop). A single-element
  /// value is read at 0.
  func flat(_ v: Value, _ i: LLVMValueRef) -> LLVMValueRef {
    let t = type(v)
    let index = ElementCount(t.shape).isOne ? L.constI64(0) : i
    let key = Key(id: v.id, index: [index])
    if let m = memo[key] { return m }
    let r: LLVMValueRef
    if let p = buffers[v.id] {
      r = L.load(p, index, t.dtype)
    } else {
      let inst = definition[v.id]!
      switch inst.op {
      case .constant(let c): r = constantElement(c, t, index)
      case .reshape, .expand: r = flat(inst.operands[0], index)
      default: r = scalar(inst, inst.operands.map { flat($0, index) })
      }
    }
    memo[key] = r
    return r
  }

  /// Value `v` at multi-index `idx` (one index per dim of `v`).
  func at(_ v: Value, _ idx: [LLVMValueRef]) -> LLVMValueRef {
    if let r = rowValues[v.id] { return r }
    let key = Key(id: v.id, index: idx)
    if let m = memo[key] { return m }
    let t = type(v)
    let r: LLVMValueRef
    if let p = buffers[v.id] {
      r = L.load(p, L.dot(idx, L.strides(t)), t.dtype)
    } else {
      let inst = definition[v.id]!
      let ots = inst.operands.map(type)
      switch inst.op {
      case .constant(let c):
        r = constantElement(c, t, c.data.count == 1 ? L.constI64(0) : L.dot(idx, L.strides(t)))
      case .reshape:
        r = at(inst.operands[0], delinearize(L.dot(idx, L.strides(t)), ots[0]))
      case .permute(let perm):
        var o = [LLVMValueRef](repeating: L.constI64(0), count: perm.count)
        for (k, p) in perm.enumerated() { o[p] = idx[k] }
        r = at(inst.operands[0], o)
      case .slice(let start, _, let step):
        let o = (0..<idx.count).map { k -> LLVMValueRef in
          LLVMBuildAdd(L.b, L.constI64(start[k]), LLVMBuildMul(L.b, idx[k], L.constI64(step[k]), ""), "")!
        }
        r = at(inst.operands[0], o)
      case .pad(let low, _, let value):
        let inDims = L.dims(ots[0])
        var inside = LLVMConstInt(L.i1, 1, 0)!
        var o: [LLVMValueRef] = []
        for k in 0..<idx.count {
          let s = LLVMBuildSub(L.b, idx[k], L.constI64(low[k]), "")!
          let ok = LLVMBuildAnd(
            L.b, LLVMBuildICmp(L.b, LLVMIntSGE, s, L.constI64(0), ""), LLVMBuildICmp(L.b, LLVMIntSLT, s, inDims[k], ""), "")!
          inside = LLVMBuildAnd(L.b, inside, ok, "")
          o.append(LLVMBuildSelect(L.b, ok, s, L.constI64(0), "")!)
        }
        // The clamped index is read only when the operand has elements (a padded empty
        // operand is all fill); a static nonempty operand needs no branch.
        let fill = L.constScalar(value, as: t.dtype)
        let inner: LLVMValueRef
        if let s = ots[0].staticShape, !s.contains(0) {
          inner = at(inst.operands[0], o)
        } else {
          let hasElements = LLVMBuildICmp(L.b, LLVMIntNE, L.product(inDims), L.constI64(0), "")!
          inner = guardedRead(hasElements) { self.at(inst.operands[0], o) }
        }
        r = LLVMBuildSelect(L.b, inside, inner, fill, "")
      default:
        let xs = zip(inst.operands, ots).map { at($0, Self.broadcastIndex(idx, t, $1, zero: L.constI64(0))) }
        r = scalar(inst, xs)
      }
    }
    memo[key] = r
    return r
  }

  /// `read()` under a branch taken when `cond` holds (undef otherwise).
  func guardedRead(_ cond: LLVMValueRef, _ read: () -> LLVMValueRef) -> LLVMValueRef {
    let pre = LLVMGetInsertBlock(L.b)!
    let then = L.block("pad.read")
    let merge = L.block("pad.merge")
    LLVMBuildCondBr(L.b, cond, then, merge)
    LLVMPositionBuilderAtEnd(L.b, then)
    let saved = memo
    let v = read()
    memo = saved
    let thenEnd = LLVMGetInsertBlock(L.b)!
    LLVMBuildBr(L.b, merge)
    LLVMPositionBuilderAtEnd(L.b, merge)
    let phi = LLVMBuildPhi(L.b, LLVMTypeOf(v), "")!
    var vals: [LLVMValueRef?] = [v, LLVMGetUndef(LLVMTypeOf(v))]
    var blocks: [LLVMBasicBlockRef?] = [thenEnd, pre]
    LLVMAddIncoming(phi, &vals, &blocks, 2)
    return phi
  }

  /// The index of an operand of type `o` that broadcasts into a result of type `t` at `idx`.
  static func broadcastIndex(_ idx: [LLVMValueRef], _ t: TensorType, _ o: TensorType, zero: LLVMValueRef) -> [LLVMValueRef] {
    let lead = t.rank - o.rank
    return (0..<o.rank).map { k in o.shape[k] == .int(1) && t.shape[lead + k] != .int(1) ? zero : idx[lead + k] }
  }

  /// The multi-index of row-major linear index `i` in a value of type `t`.
  func delinearize(_ i: LLVMValueRef, _ t: TensorType) -> [LLVMValueRef] {
    let ds = L.dims(t)
    var rest = i
    var out = [LLVMValueRef](repeating: L.constI64(0), count: ds.count)
    for k in stride(from: ds.count - 1, through: 0, by: -1) {
      if t.shape[k] == .int(1) { continue }
      if k == 0 {
        out[k] = rest
      } else {
        out[k] = LLVMBuildURem(L.b, rest, ds[k], "")
        rest = LLVMBuildUDiv(L.b, rest, ds[k], "")
      }
    }
    return out
  }

  func constantElement(_ c: Constant, _ t: TensorType, _ index: LLVMValueRef) -> LLVMValueRef {
    if c.data.count == 1 {
      switch c.data {
      case .floats(let x): return L.constScalar(.float(x[0]), as: t.dtype)
      case .ints(let x): return L.constScalar(.int(x[0]), as: t.dtype)
      case .bools(let x): return L.constScalar(.bool(x[0]), as: t.dtype)
      }
    }
    return L.load(L.globalConstant(c), index, t.dtype)
  }

  /// An elementwise op on its operands' values, by the scalar lowering the unfused kernels use.
  func scalar(_ inst: Instruction, _ xs: [LLVMValueRef]) -> LLVMValueRef {
    let ot = inst.operands.map { type($0).dtype }
    var r: LLVMValueRef = xs.first ?? L.constI64(0)
    source(inst.results[0]) {
      switch inst.op {
      case .unary(let u): r = L.unary(u, xs[0], ot[0])
      case .binary(let op): r = L.binary(op, xs[0], xs[1], ot[0])
      case .compare(let op): r = L.compare(op, xs[0], xs[1], ot[0])
      case .select: r = LLVMBuildSelect(L.b, xs[0], xs[1], xs[2], "")
      case .cast(let to): r = L.cast(xs[0], from: ot[0], to: to)
      default: r = xs[0]  // expand: the broadcast index did the work
      }
    }
    return r
  }
}

/// Floats as signed integers of the same width that order as IEEE 754's maximum and minimum
/// do: `key(x) = bits(x) ^ ((bits(x) >> (w-1)) >>> 1)` (arithmetic, then logical shift) is
/// increasing in x over the non-NaN floats, with -0 below +0; NaNs with the sign bit clear map
/// above key(+inf) and those with it set below key(-inf). The key of the largest (smallest)
/// element is the largest (smallest) key, so a max or min reduction is an integer one, and the
/// row holds a NaN exactly when the largest key is above key(+inf) or the smallest below
/// key(-inf). `key` is its own inverse.
enum OrderedKey {
  /// The integer type of `t`'s keys.
  static func keyType(_ t: DType) -> DType { t == .f32 ? .i32 : .i64 }

  /// The key of float `x` (`t`) at the lowering's current width.
  static func key(_ L: FunctionLowering, _ x: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    let kt = keyType(t)
    let bits = LLVMBuildBitCast(L.b, x, L.laneType(kt), "")!
    let w = Int64(t.byteSize * 8)
    let sign = LLVMBuildAShr(L.b, bits, L.constInt(w - 1, kt), "")!
    return LLVMBuildXor(L.b, bits, LLVMBuildLShr(L.b, sign, L.constInt(1, kt), "")!, "")!
  }

  /// The scalar key of `v`.
  static func constant(_ L: FunctionLowering, _ v: Double, _ t: DType) -> LLVMValueRef {
    let bits: Int64 = t == .f32 ? Int64(Int32(bitPattern: Float(v).bitPattern)) : Int64(bitPattern: v.bitPattern)
    let key = bits ^ Int64(bitPattern: UInt64(bitPattern: bits >> 63) >> (t == .f32 ? 33 : 1))
    return LLVMConstInt(L.regType(keyType(t)), UInt64(bitPattern: key), 1)
  }

  /// The maximum (`max`) or minimum of the row whose largest and smallest keys are given (scalars):
  /// NaN if the row holds one.
  static func extreme(
    _ L: FunctionLowering, largest: LLVMValueRef, smallest: LLVMValueRef, max: Bool, _ t: DType
  ) -> LLVMValueRef {
    let hasNaN = LLVMBuildOr(
      L.b, LLVMBuildICmp(L.b, LLVMIntSGT, largest, constant(L, .infinity, t), "")!,
      LLVMBuildICmp(L.b, LLVMIntSLT, smallest, constant(L, -.infinity, t), "")!, "")!
    let saved = L.lanes
    L.lanes = 1
    defer { L.lanes = saved }
    let value = LLVMBuildBitCast(L.b, key(L, max ? largest : smallest, t), L.regType(t), "")!
    return LLVMBuildSelect(L.b, hasNaN, L.constScalar(.nan, t), value, "")!
  }
}
