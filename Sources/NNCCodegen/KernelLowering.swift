// The body of each kernel: loop nests over the result (or the inputs, for reductions) that
// compute what the reference kernels in NNCRuntime/Kernels.swift compute, in the same order
// of accumulation except where a loop is marked for vectorized (reassociated) reduction.

import CLLVM
import NNCIR
import NNCPasses

extension FunctionLowering {
  /// Emits the kernel body for `inst` with `out` result pointers and `ins` operand pointers.
  func kernelBody(_ inst: Instruction, out: [LLVMValueRef], ins: [LLVMValueRef]) {
    let types = inst.operands.map { f.type(of: $0)! }
    let rt = f.type(of: inst.results[0])!
    let o = out[0]
    switch inst.op {
    case .constant(let c):
      constantKernel(c, o, rt)
    case .unary(let u):
      elementwise(rt, types, ins, o) { v in self.unary(u, v[0], types[0].dtype) }
    case .binary(let op):
      elementwise(rt, types, ins, o) { v in self.binary(op, v[0], v[1], types[0].dtype) }
    case .compare(let op):
      elementwise(rt, types, ins, o) { v in self.compare(op, v[0], v[1], types[0].dtype) }
    case .select:
      elementwise(rt, types, ins, o) { v in LLVMBuildSelect(self.b, v[0], v[1], v[2], "") }
    case .cast(let t):
      elementwise(rt, types, ins, o) { v in self.cast(v[0], from: types[0].dtype, to: t) }
    case .expand:
      elementwise(rt, types, ins, o) { v in v[0] }
    case .reshape:
      copy(ins[0], o, rt)
    case .permute(let perm):
      let inStrides = strides(types[0])
      let permuted = perm.map { inStrides[$0] }
      let outStrides = strides(rt)
      loopNest(dims(rt)) { idx in
        let v = self.load(ins[0], self.dot(idx, permuted), rt.dtype)
        self.store(v, o, self.dot(idx, outStrides), rt.dtype)
      }
    case .slice(let start, _, let step):
      let inStrides = strides(types[0])
      let base = dot(start.map { constI64($0) }, inStrides)
      let scaled = zip(inStrides, step).map { LLVMBuildMul(b, $0, constI64($1), "")! }
      let outStrides = strides(rt)
      loopNest(dims(rt)) { idx in
        let v = self.load(ins[0], LLVMBuildAdd(self.b, base, self.dot(idx, scaled), ""), rt.dtype)
        self.store(v, o, self.dot(idx, outStrides), rt.dtype)
      }
    case .pad(let low, _, let value):
      padKernel(ins[0], types[0], o, rt, low: low, value: value)
    case .concat(let axis):
      var offset = constI64(0)
      let outStrides = strides(rt)
      for (k, t) in types.enumerated() {
        let base = LLVMBuildMul(b, offset, outStrides[axis], "")!
        let inStrides = strides(t)
        loopNest(dims(t)) { idx in
          let v = self.load(ins[k], self.dot(idx, inStrides), t.dtype)
          self.store(v, o, LLVMBuildAdd(self.b, base, self.dot(idx, outStrides), ""), t.dtype)
        }
        offset = LLVMBuildAdd(b, offset, dim(t.shape[axis]), "")
      }
    case .reduce(let k, let axes, _):
      reduceKernel(k, axes: axes, ins[0], types[0], o, rt)
    case .argReduce(let k, let axis, _):
      argReduceKernel(k, axis: axis, ins[0], types[0], o)
    case .matmul:
      matmulKernel(ins[0], types[0], ins[1], types[1], o, rt)
    case .conv2d(let attrs):
      convKernel(attrs, ins[0], types[0], ins[1], types[1], o, rt)
    case .pool2d(let kind, let attrs):
      poolKernel(kind, attrs, ins[0], types[0], o, rt)
    case .fused:
      fusedKernel(inst, out: out, ins: ins)
    case .cond, .guardTrue:
      break  // lowered in the entry function
    }
  }

  /// out[i] = body(operands at the broadcast index i). Operands of the result's shape or of one
  /// element (read at 0) use one flat loop; others a loop nest with broadcast strides.
  func elementwise(
    _ rt: TensorType, _ types: [TensorType], _ ins: [LLVMValueRef], _ o: LLVMValueRef,
    _ body: @escaping ([LLVMValueRef]) -> LLVMValueRef
  ) {
    let single = types.map { $0.shape != rt.shape && ElementCount($0.shape).isOne }
    if zip(types, single).allSatisfy({ $0.shape == rt.shape || $1 }) {
      let streamed = streamedResults.first == true ? [0] : []
      flatLoop(product(dims(rt)), [(o, rt.dtype)], streamed: streamed, footprint: footprint(types + [rt])) { i in
        [body((0..<ins.count).map { self.load(ins[$0], single[$0] ? self.constI64(0) : i, types[$0].dtype) })]
      }
      return
    }
    let st = types.map { strides($0, broadcastTo: rt) }
    let outStrides = strides(rt)
    loopNest(dims(rt)) { idx in
      let vs = (0..<ins.count).map { self.load(ins[$0], self.dot(idx, st[$0]), types[$0].dtype) }
      self.store(body(vs), o, self.dot(idx, outStrides), rt.dtype)
    }
  }

  func copy(_ src: LLVMValueRef, _ dst: LLVMValueRef, _ t: TensorType) {
    loop(product(dims(t))) { i in self.store(self.load(src, i, t.dtype), dst, i, t.dtype) }
  }

  func constantKernel(_ c: Constant, _ o: LLVMValueRef, _ rt: TensorType) {
    let n = product(dims(rt))
    if c.data.count == 1 || rt.staticShape == nil {
      let scalar: LLVMValueRef
      switch c.data {
      case .floats(let x): scalar = constScalar(.float(x[0]), as: rt.dtype)
      case .ints(let x): scalar = constScalar(.int(x[0]), as: rt.dtype)
      case .bools(let x): scalar = constScalar(.bool(x[0]), as: rt.dtype)
      }
      loop(n) { i in self.store(scalar, o, i, rt.dtype) }
      return
    }
    let g = globalConstant(c)
    copy(g, o, rt)
  }

  /// A private global array holding a dense constant's elements.
  func globalConstant(_ c: Constant) -> LLVMValueRef {
    let et = memType(c.type.dtype)
    var elements: [LLVMValueRef?]
    switch c.data {
    case .floats(let v): elements = v.map { LLVMConstReal(et, $0) }
    case .ints(let v): elements = v.map { LLVMConstInt(et, UInt64(bitPattern: $0), 1) }
    case .bools(let v): elements = v.map { LLVMConstInt(et, $0 ? 1 : 0, 0) }
    }
    let arrayType = LLVMArrayType(et, UInt32(elements.count))!
    let initializer = LLVMConstArray(et, &elements, UInt32(elements.count))
    let g = LLVMAddGlobal(module, arrayType, "nnc.const")!
    LLVMSetInitializer(g, initializer)
    LLVMSetGlobalConstant(g, 1)
    LLVMSetLinkage(g, LLVMPrivateLinkage)
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr)
    var zero: [LLVMValueRef?] = [constI64(0), constI64(0)]
    return LLVMBuildInBoundsGEP2(b, arrayType, g, &zero, 2, "")
  }

  func padKernel(_ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef, _ rt: TensorType, low: [Int], value: ScalarValue) {
    let inDims = dims(xt)
    let inStrides = strides(xt)
    let fill = constScalar(value, as: rt.dtype)
    // Padding reads a one-element stand-in holding the fill value, so an empty input (whose
    // pointer may be null) is never read.
    let stand = entryAlloca(memType(rt.dtype))
    store(fill, stand, constI64(0), rt.dtype)
    let outStrides = strides(rt)
    loopNest(dims(rt)) { idx in
      var inside = LLVMConstInt(self.i1, 1, 0)!
      var offset = self.constI64(0)
      for k in 0..<idx.count {
        let s = LLVMBuildSub(self.b, idx[k], self.constI64(low[k]), "")!
        let ok = LLVMBuildAnd(
          self.b, LLVMBuildICmp(self.b, LLVMIntSGE, s, self.constI64(0), ""),
          LLVMBuildICmp(self.b, LLVMIntSLT, s, inDims[k], ""), "")!
        inside = LLVMBuildAnd(self.b, inside, ok, "")
        let clamped = LLVMBuildSelect(self.b, ok, s, self.constI64(0), "")!
        offset = LLVMBuildAdd(self.b, offset, LLVMBuildMul(self.b, clamped, inStrides[k], ""), "")
      }
      let source = LLVMBuildSelect(self.b, inside, x, stand, "")!
      let v = self.load(source, LLVMBuildSelect(self.b, inside, offset, self.constI64(0), "")!, rt.dtype)
      self.store(v, o, self.dot(idx, outStrides), rt.dtype)
    }
  }

  /// Float sums over the last axis take the lane path (`laneSumKernel`). Everything else fills
  /// the result with the identity, then walks the input row-major accumulating into the result
  /// slot of each element, which is the defined order for sums (SummationOrder) and exact in
  /// any order for max/min and integers; so only max/min mark the innermost loop vectorizable
  /// (reassociation cannot change their result).
  func reduceKernel(_ k: ReduceOp, axes: [Int], _ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef, _ rt: TensorType) {
    let t = xt.dtype
    let innerReduces = xt.rank > 0 && axes.contains(xt.rank - 1)
    if k == .sum && t.isFloat && innerReduces {
      laneSumKernel(axes: axes, x, xt, o)
      return
    }
    let identity: LLVMValueRef
    switch (k, t.isFloat) {
    case (.sum, true):
      // -0.0 keeps a sum of -0.0 terms -0.0; a sum of no terms is +0.0.
      let terms = product(axes.map { dim(xt.shape[$0]) })
      let none = LLVMBuildICmp(b, LLVMIntEQ, terms, constI64(0), "")
      identity = LLVMBuildSelect(b, none, constScalar(0, t), constScalar(-0.0, t), "")
    case (.sum, false): identity = constScalar(0, t)
    case (.max, true): identity = constScalar(-.infinity, t)
    case (.min, true): identity = constScalar(.infinity, t)
    case (.max, false): identity = LLVMConstInt(regType(t), t == .i32 ? UInt64(bitPattern: Int64(Int32.min)) : UInt64(bitPattern: Int64.min), 1)
    case (.min, false): identity = LLVMConstInt(regType(t), t == .i32 ? UInt64(Int32.max) : UInt64(Int64.max), 1)
    }
    loop(product(dims(rt))) { i in self.store(identity, o, i, t) }
    // Result strides indexed by input axis: 0 on reduced axes.
    let kept = (0..<xt.rank).filter { !axes.contains($0) }
    let keptType = TensorType(t, kept.map { xt.shape[$0] })
    let keptStrides = strides(keptType)
    var slotStrides = [LLVMValueRef](repeating: constI64(0), count: xt.rank)
    for (j, a) in kept.enumerated() { slotStrides[a] = keptStrides[j] }
    let inStrides = strides(xt)
    loopNest(dims(xt), vectorizeInner: innerReduces && k != .sum) { idx in
      let slot = self.dot(idx, slotStrides)
      let acc = self.load(o, slot, t)
      let v = self.load(x, self.dot(idx, inStrides), t)
      let r: LLVMValueRef
      switch k {
      case .sum: r = self.binary(.add, acc, v, t)
      case .max: r = self.binary(.max, acc, v, t)
      case .min: r = self.binary(.min, acc, v, t)
      }
      self.store(r, o, slot, t)
    }
  }

  /// A float sum whose reduced axes include the last one, in SummationOrder: per result
  /// element, a vector of `lanes` partial sums from -0.0; each row of the last axis adds its
  /// whole groups of `lanes` contiguous terms as one vector add (lane l takes term k with
  /// k % lanes == l) and its tail term by term into lanes 0, 1, ...; the lanes are combined by
  /// the fixed tree. The explicit vector keeps the order independent of the target's vector
  /// width.
  func laneSumKernel(axes: [Int], _ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef) {
    let t = xt.dtype
    let lanes = SummationOrder.lanes
    let et = memType(t)
    let vt = LLVMVectorType(et, UInt32(lanes))!
    let inStrides = strides(xt)
    let ds = dims(xt)
    let kept = (0..<xt.rank).filter { !axes.contains($0) }
    let outer = (0..<xt.rank - 1).filter { axes.contains($0) }
    let last = ds[xt.rank - 1]
    let terms = product(axes.map { ds[$0] })
    let groups = LLVMBuildSDiv(b, last, constI64(lanes), "")!
    let tailStart = LLVMBuildMul(b, groups, constI64(lanes), "")!
    var negZeros = [LLVMValueRef?](repeating: constScalar(-0.0, t), count: lanes)
    let start = LLVMConstVector(&negZeros, UInt32(lanes))!
    let accSlot = entryAlloca(vt)
    loopNest(kept.map { ds[$0] }) { keptIdx in
      let keptBase = self.dot(keptIdx, kept.map { inStrides[$0] })
      LLVMBuildStore(self.b, start, accSlot)
      // The nest also runs over the last axis (as 1 or 0), so that with no terms it is skipped
      // whole: the outer axes alone could be huge when `last` is 0.
      let hasTerms = LLVMBuildSelect(self.b, LLVMBuildICmp(self.b, LLVMIntEQ, terms, self.constI64(0), ""), self.constI64(0), self.constI64(1), "")!
      self.loopNest(outer.map { ds[$0] } + [hasTerms]) { idxAndOnce in
        let outerIdx = Array(idxAndOnce.dropLast())
        let row = LLVMBuildAdd(self.b, keptBase, self.dot(outerIdx, outer.map { inStrides[$0] }), "")!
        self.loop(groups, "g") { g in
          let p = self.elementPointer(x, et, LLVMBuildAdd(self.b, row, LLVMBuildMul(self.b, g, self.constI64(lanes), ""), ""))
          let vp = LLVMBuildBitCast(self.b, p, LLVMPointerType(vt, 0), "")
          let v = LLVMBuildLoad2(self.b, vt, vp, "")!
          LLVMSetAlignment(v, UInt32(t.byteSize))
          let acc = LLVMBuildLoad2(self.b, vt, accSlot, "")
          LLVMBuildStore(self.b, LLVMBuildFAdd(self.b, acc, v, ""), accSlot)
        }
        self.loop(from: tailStart, last, "t") { k in
          let lane = LLVMBuildSub(self.b, k, tailStart, "")
          let e = self.load(x, LLVMBuildAdd(self.b, row, k, ""), t)
          let acc = LLVMBuildLoad2(self.b, vt, accSlot, "")
          let sum = LLVMBuildFAdd(self.b, LLVMBuildExtractElement(self.b, acc, lane, ""), e, "")
          LLVMBuildStore(self.b, LLVMBuildInsertElement(self.b, acc, sum, lane, ""), accSlot)
        }
      }
      let acc = LLVMBuildLoad2(self.b, vt, accSlot, "")!
      let s = (0..<lanes).map { LLVMBuildExtractElement(self.b, acc, self.constI64($0), "")! }
      func add(_ a: LLVMValueRef, _ c: LLVMValueRef) -> LLVMValueRef { LLVMBuildFAdd(self.b, a, c, "")! }
      let combined = add(add(add(s[0], s[4]), add(s[2], s[6])), add(add(s[1], s[5]), add(s[3], s[7])))
      let none = LLVMBuildICmp(self.b, LLVMIntEQ, terms, self.constI64(0), "")
      let r = LLVMBuildSelect(self.b, none, self.constScalar(0, t), combined, "")!
      let keptDims = kept.map { ds[$0] }
      var slot = self.constI64(0)
      for (j, i) in keptIdx.enumerated() { slot = LLVMBuildAdd(self.b, LLVMBuildMul(self.b, slot, keptDims[j], ""), i, "") }
      self.store(r, o, slot, t)
    }
  }

  func argReduceKernel(_ k: ArgReduceOp, axis: Int, _ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef) {
    let ds = dims(xt)
    let outer = product(Array(ds[..<axis]))
    let len = ds[axis]
    let inner = product(Array(ds[(axis + 1)...]))
    let t = xt.dtype
    loop(outer, "o") { oi in
      self.loop(inner, "n") { ni in
        let base = LLVMBuildMul(self.b, LLVMBuildMul(self.b, oi, len, ""), inner, "")!
        let bestSlot = self.entryAlloca(self.i64)
        LLVMBuildStore(self.b, self.constI64(0), bestSlot)
        self.loop(len, "j") { j in
          let best = LLVMBuildLoad2(self.b, self.i64, bestSlot, "")!
          let offA = LLVMBuildAdd(self.b, LLVMBuildAdd(self.b, base, LLVMBuildMul(self.b, j, inner, ""), ""), ni, "")!
          let offB = LLVMBuildAdd(self.b, LLVMBuildAdd(self.b, base, LLVMBuildMul(self.b, best, inner, ""), ""), ni, "")!
          let a = self.load(x, offA, t)
          let bv = self.load(x, offB, t)
          // As the interpreter: the first NaN wins, ties keep the first index.
          var better = self.compare(k == .argmax ? .gt : .lt, a, bv, t)
          if t.isFloat {
            let takeNaN = LLVMBuildAnd(self.b, self.isNaN(a), LLVMBuildNot(self.b, self.isNaN(bv), ""), "")!
            better = LLVMBuildOr(self.b, better, takeNaN, "")
          }
          LLVMBuildStore(self.b, LLVMBuildSelect(self.b, better, j, best, ""), bestSlot)
        }
        let best = LLVMBuildLoad2(self.b, self.i64, bestSlot, "")!
        self.store(best, o, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, oi, inner, ""), ni, ""), .i64)
      }
    }
  }

  /// out[..., i, j] = sum_p a[..., i, p] * b[..., p, j], accumulated in p order with j innermost
  /// (contiguous, so it vectorizes without reassociation).
  /// `rowEpilogue`, when given, runs after each output row is complete, with the row's index
  /// (batch indices, then i): a fused kernel's elementwise epilogue, applied while the row is
  /// in cache.
  func matmulKernel(
    _ a: LLVMValueRef, _ at: TensorType, _ bb: LLVMValueRef, _ bt: TensorType, _ o: LLVMValueRef, _ rt: TensorType,
    rowEpilogue: (([LLVMValueRef]) -> Void)? = nil
  ) {
    let t = rt.dtype
    let batchShape = Array(rt.shape.dropLast(2))
    let batchType = TensorType(t, batchShape)
    let aBatch = strides(TensorType(t, Array(at.shape.dropLast(2))), broadcastTo: batchType)
    let bBatch = strides(TensorType(t, Array(bt.shape.dropLast(2))), broadcastTo: batchType)
    let m = dim(at.shape[at.rank - 2])
    let kk = dim(at.shape[at.rank - 1])
    let n = dim(bt.shape[bt.rank - 1])
    let aMat = LLVMBuildMul(b, m, kk, "")!
    let bMat = LLVMBuildMul(b, kk, n, "")!
    let oMat = LLVMBuildMul(b, m, n, "")!
    let zero = constScalar(0, t)
    let batchStrides = strides(batchType)
    loopNest(dims(batchType)) { bidx in
      let flat = self.dot(bidx, batchStrides)
      let aBase = LLVMBuildMul(self.b, self.dot(bidx, aBatch), aMat, "")!
      let bBase = LLVMBuildMul(self.b, self.dot(bidx, bBatch), bMat, "")!
      let oBase = LLVMBuildMul(self.b, flat, oMat, "")!
      let ipj = {
        self.loop(oMat, "z") { z in self.store(zero, o, LLVMBuildAdd(self.b, oBase, z, ""), t) }
        self.loop(m, "i") { i in
          self.loop(kk, "p") { p in
            let av = self.load(a, LLVMBuildAdd(self.b, aBase, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, i, kk, ""), p, ""), ""), t)
            self.loop(n, "j") { j in
              let bv = self.load(bb, LLVMBuildAdd(self.b, bBase, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, p, n, ""), j, ""), ""), t)
              let off = LLVMBuildAdd(self.b, oBase, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, i, n, ""), j, ""), "")!
              let acc = self.load(o, off, t)
              self.store(self.binary(.add, acc, self.binary(.mul, av, bv, t), t), o, off, t)
            }
          }
          rowEpilogue?(bidx + [i])
        }
      }
      guard t.isFloat else { return ipj() }
      // Matrices with a whole micro-kernel tile (MR rows, NR columns) take the GEMM; smaller
      // ones (an RNN's 4x16, a classifier's N x 10) the i-p-j loops, which pack nothing.
      // Both give the same bits. A static shape decides here, a symbolic one at run time.
      self.ifElse(self.gemmApplies(m: m, n: n, t)) {
        self.gemmKernel(
          a, aBase: aBase, .matrix(bb, base: bBase), o, oBase: oBase, m: m, k: kk, n: n, t,
          rowEpilogue: rowEpilogue.map { e in { i in e(bidx + [i]) } })
      } otherwise: {
        ipj()
      }
    }
  }

  /// out[n, o, y, x] = sum over (c, ky, kx) in that order of input * weight, skipping padding:
  /// as implicit GEMMs (`convAsGemm`) for float convolutions without padding whose groups have a
  /// micro-kernel tile of output channels and positions, else by direct loops (`convLoops`).
  /// In the direct loops the innermost runs over output columns x, within the range whose input column is
  /// inside the image (no per-element bounds checks), so it vectorizes; each output still sums
  /// its terms in the interpreter's order, so results agree bit for bit.
  /// `rowEpilogue`, when given, runs after each output row (n, co, y) is complete, with that
  /// index: a fused kernel's elementwise epilogue.
  func convKernel(
    _ p: Conv2DAttrs, _ x: LLVMValueRef, _ xt: TensorType, _ w: LLVMValueRef, _ wt: TensorType, _ o: LLVMValueRef,
    _ rt: TensorType, rowEpilogue: (([LLVMValueRef]) -> Void)? = nil
  ) {
    let t = rt.dtype
    let (oh, ow) = (dim(rt.shape[2]), dim(rt.shape[3]))
    let og = LLVMBuildSDiv(b, dim(wt.shape[0]), constI64(p.groups), "")!
    // Without padding every term of every output is inside the image, so the convolution is,
    // per image and group, the GEMM W[g] (og x cg kh kw) times the im2col view of the input
    // (cg kh kw x oh ow), with the terms in the same order (c, ky, kx): the same bits. (With
    // padding the reference skips the terms outside, which a GEMM would add as 0 * w: NaN for
    // an infinite weight.)
    if t.isFloat && p.padding.allSatisfy({ $0 == 0 }) {
      let ohw = LLVMBuildMul(b, oh, ow, "")!
      return ifElse(gemmApplies(m: og, n: ohw, t)) {
        self.convAsGemm(p, x, xt, w, wt, o, rt, og: og, rowEpilogue: rowEpilogue)
      } otherwise: {
        self.convLoops(p, x, xt, w, wt, o, rt, rowEpilogue: rowEpilogue)
      }
    }
    convLoops(p, x, xt, w, wt, o, rt, rowEpilogue: rowEpilogue)
  }

  /// `convKernel` as implicit GEMMs (no padding): for each image and group, W's rows of the
  /// group (og x cg kh kw, row-major as W is laid out) times the im2col view of the group's
  /// input channels (cg kh kw x oh ow), read where B's panels are packed, into the output's
  /// rows (og x oh ow, contiguous per image).
  func convAsGemm(
    _ p: Conv2DAttrs, _ x: LLVMValueRef, _ xt: TensorType, _ w: LLVMValueRef, _ wt: TensorType, _ o: LLVMValueRef,
    _ rt: TensorType, og: LLVMValueRef, rowEpilogue: (([LLVMValueRef]) -> Void)?
  ) {
    let t = rt.dtype
    func mul(_ a: LLVMValueRef, _ c: LLVMValueRef) -> LLVMValueRef { LLVMBuildMul(b, a, c, "")! }
    func add(_ a: LLVMValueRef, _ c: LLVMValueRef) -> LLVMValueRef { LLVMBuildAdd(b, a, c, "")! }
    let (c, h, wd) = (dim(xt.shape[1]), dim(xt.shape[2]), dim(xt.shape[3]))
    let (cg, kh, kw) = (dim(wt.shape[1]), dim(wt.shape[2]), dim(wt.shape[3]))
    let (oc, oh, ow) = (dim(rt.shape[1]), dim(rt.shape[2]), dim(rt.shape[3]))
    let (khw, hw, ohw) = (mul(kh, kw), mul(h, wd), mul(oh, ow))
    let k = mul(cg, khw)
    loopNest([dim(xt.shape[0]), constI64(p.groups)]) { idx in
      let (n, g) = (idx[0], idx[1])
      let inBase = mul(add(mul(n, c), mul(g, cg)), hw)
      let firstChannel = mul(g, og)
      self.gemmKernel(
        w, aBase: mul(firstChannel, k),
        .im2col(
          x, base: inBase,
          ConvGeometry([h, wd, kh, kw, ow] + [p.stride[0], p.stride[1], p.dilation[0], p.dilation[1]].map(self.constI64))), o,
        oBase: mul(add(mul(n, oc), firstChannel), ohw), m: og, k: k, n: ohw, t,
        rowEpilogue: rowEpilogue.map { e in
          { co in
            let channel = add(firstChannel, co)
            self.loop(oh, "ey") { y in e([n, channel, y]) }
          }
        })
    }
  }

  /// `convKernel`'s direct loops.
  func convLoops(
    _ p: Conv2DAttrs, _ x: LLVMValueRef, _ xt: TensorType, _ w: LLVMValueRef, _ wt: TensorType, _ o: LLVMValueRef,
    _ rt: TensorType, rowEpilogue: (([LLVMValueRef]) -> Void)?
  ) {
    let t = rt.dtype
    let (h, wd) = (dim(xt.shape[2]), dim(xt.shape[3]))
    let (oc, cg, kh, kw) = (dim(wt.shape[0]), dim(wt.shape[1]), dim(wt.shape[2]), dim(wt.shape[3]))
    let (oh, ow) = (dim(rt.shape[2]), dim(rt.shape[3]))
    let og = LLVMBuildSDiv(b, oc, constI64(p.groups), "")!
    let zero = constScalar(0, t)
    let (xStrides, wStrides, oStrides) = (strides(xt), strides(wt), strides(rt))
    loopNest([dim(xt.shape[0]), oc, oh]) { idx in
      let (n, co, y) = (idx[0], idx[1], idx[2])
      let g = LLVMBuildSDiv(self.b, co, og, "")!
      let outRow = self.dot([n, co, y], Array(oStrides.prefix(3)))
      self.loop(ow, "z") { xo in self.store(zero, o, LLVMBuildAdd(self.b, outRow, xo, ""), t) }
      self.loop(cg, "c") { ic in
        let cin = LLVMBuildAdd(self.b, LLVMBuildMul(self.b, g, cg, ""), ic, "")!
        self.loop(kh, "ky") { ky in
          let iy = LLVMBuildAdd(
            self.b, LLVMBuildSub(self.b, LLVMBuildMul(self.b, y, self.constI64(p.stride[0]), ""), self.constI64(p.padding[0]), ""),
            LLVMBuildMul(self.b, ky, self.constI64(p.dilation[0]), ""), "")!
          self.ifInside(iy, h, self.constI64(0), self.constI64(1)) {
            let inRow = self.dot([n, cin, iy], Array(xStrides.prefix(3)))
            self.loop(kw, "kx") { kx in
              let wv = self.load(w, self.dot([co, ic, ky, kx], wStrides), t)
              // Input column of output column xo: xo*s - pad + kx*d; keep it in [0, W).
              let shift = LLVMBuildSub(self.b, LLVMBuildMul(self.b, kx, self.constI64(p.dilation[1]), ""), self.constI64(p.padding[1]), "")!
              let (lo, hi) = self.validColumns(shift: shift, stride: p.stride[1], width: wd, outWidth: ow)
              self.loop(from: lo, hi, "x") { xo in
                let ix = LLVMBuildAdd(self.b, LLVMBuildMul(self.b, xo, self.constI64(p.stride[1]), ""), shift, "")!
                let off = LLVMBuildAdd(self.b, outRow, xo, "")!
                let prod = self.binary(.mul, self.load(x, LLVMBuildAdd(self.b, inRow, ix, ""), t), wv, t)
                self.store(self.binary(.add, self.load(o, off, t), prod, t), o, off, t)
              }
            }
          }
        }
      }
      rowEpilogue?([n, co, y])
    }
  }

  /// The output columns xo in lo..<hi whose input column xo*stride + shift lies in [0, width).
  func validColumns(shift: LLVMValueRef, stride: Int, width: LLVMValueRef, outWidth: LLVMValueRef) -> (LLVMValueRef, LLVMValueRef) {
    let s = constI64(stride)
    let zero = constI64(0)
    // lo = ceil(-shift / s) when -shift > 0, else 0.
    let negShift = LLVMBuildSub(b, zero, shift, "")!
    let loRaw = LLVMBuildSDiv(b, LLVMBuildAdd(b, negShift, constI64(stride - 1), ""), s, "")!
    let lo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, negShift, zero, ""), loRaw, zero, "")!
    // hi = floor((width - 1 - shift) / s) + 1 when width - 1 - shift >= 0, else 0; at most outWidth.
    let last = LLVMBuildSub(b, LLVMBuildSub(b, width, constI64(1), ""), shift, "")!
    let hiRaw = LLVMBuildAdd(b, LLVMBuildSDiv(b, last, s, ""), constI64(1), "")!
    let hiPos = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGE, last, zero, ""), hiRaw, zero, "")!
    let hi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, hiPos, outWidth, ""), hiPos, outWidth, "")!
    return (lo, hi)
  }

  /// Pooling row by row: each output row starts at the identity, then every window position
  /// (ky, kx) in order combines the input columns it reaches (no per-element bounds checks, so
  /// the column loop vectorizes); padding is skipped, and avg divides by kh*kw at the end.
  func poolKernel(_ kind: PoolOp, _ p: Pool2DAttrs, _ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef, _ rt: TensorType) {
    let t = rt.dtype
    let planes = LLVMBuildMul(b, dim(xt.shape[0]), dim(xt.shape[1]), "")!
    let (h, wd) = (dim(xt.shape[2]), dim(xt.shape[3]))
    let (oh, ow) = (dim(rt.shape[2]), dim(rt.shape[3]))
    let identity = constScalar(kind == .max ? -.infinity : 0, t)
    loopNest([planes, oh]) { idx in
      let (plane, y) = (idx[0], idx[1])
      let outRow = LLVMBuildMul(self.b, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, plane, oh, ""), y, ""), ow, "")!
      self.loop(ow, "z") { xo in self.store(identity, o, LLVMBuildAdd(self.b, outRow, xo, ""), t) }
      self.loop(self.constI64(p.kernel[0]), "ky") { ky in
        let iy = LLVMBuildAdd(self.b, LLVMBuildSub(self.b, LLVMBuildMul(self.b, y, self.constI64(p.stride[0]), ""), self.constI64(p.padding[0]), ""), ky, "")!
        self.ifInside(iy, h, self.constI64(0), self.constI64(1)) {
          let inRow = LLVMBuildMul(self.b, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, plane, h, ""), iy, ""), wd, "")!
          self.loop(self.constI64(p.kernel[1]), "kx") { kx in
            let shift = LLVMBuildSub(self.b, kx, self.constI64(p.padding[1]), "")!
            let (lo, hi) = self.validColumns(shift: shift, stride: p.stride[1], width: wd, outWidth: ow)
            self.loop(from: lo, hi, "x") { xo in
              let ix = LLVMBuildAdd(self.b, LLVMBuildMul(self.b, xo, self.constI64(p.stride[1]), ""), shift, "")!
              let off = LLVMBuildAdd(self.b, outRow, xo, "")!
              let e = self.load(x, LLVMBuildAdd(self.b, inRow, ix, ""), t)
              self.store(self.binary(kind == .max ? .max : .add, self.load(o, off, t), e, t), o, off, t)
            }
          }
        }
      }
      if kind == .avg {
        let divisor = self.constScalar(Double(p.kernel[0] * p.kernel[1]), t)
        self.loop(ow, "d") { xo in
          let off = LLVMBuildAdd(self.b, outRow, xo, "")!
          self.store(LLVMBuildFDiv(self.b, self.load(o, off, t), divisor, ""), o, off, t)
        }
      }
    }
  }

  /// `concat` of many operands given as an array of pointers: one loop over the operands (their
  /// sizes on the axis and offsets in the result come from constant tables), so the kernel's
  /// size does not grow with the operand count (a loop nest per operand made LLVM's loop passes
  /// quadratic: 4000 operands took over 2 minutes). Same element order as `concat`'s loops.
  func concatFromArray(axis: Int, _ array: LLVMValueRef, _ types: [TensorType], _ o: LLVMValueRef, _ rt: TensorType) {
    let t = rt.dtype
    let sizes = types.map { Int64($0.shape[axis].value ?? 0) }
    var offsets: [Int64] = []
    var running: Int64 = 0
    for n in sizes {
      offsets.append(running)
      running += n
    }
    func table(_ values: [Int64]) -> LLVMValueRef {
      let c = Constant(type: TensorType(.i64, [.int(values.count)]), data: .ints(values))
      return globalConstant(c)
    }
    let sizeTable = table(sizes)
    let offsetTable = table(offsets)
    let ds = dims(rt)
    let outer = product(Array(ds[..<axis]))
    let inner = product(Array(ds[(axis + 1)...]))
    let total = ds[axis]
    loop(constI64(types.count), "k") { k in
      let raw = LLVMBuildLoad2(self.b, self.i8p, self.elementPointer(array, self.i8p, k), "")!
      let src = LLVMBuildBitCast(self.b, raw, self.ptrType(t), "")!
      let size = self.load(sizeTable, k, .i64)
      let offset = self.load(offsetTable, k, .i64)
      let block = LLVMBuildMul(self.b, size, inner, "")!
      self.loop(outer, "o") { oi in
        let from = LLVMBuildMul(self.b, oi, block, "")!
        let to = LLVMBuildMul(self.b, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, oi, total, ""), offset, ""), inner, "")!
        self.loop(block, "e") { e in
          let v = self.load(src, LLVMBuildAdd(self.b, from, e, ""), t)
          self.store(v, o, LLVMBuildAdd(self.b, to, e, ""), t)
        }
      }
    }
  }

  /// Runs `body` only when 0 <= y < h and 0 <= x < w.
  func ifInside(_ y: LLVMValueRef, _ h: LLVMValueRef, _ x: LLVMValueRef, _ w: LLVMValueRef, _ body: () -> Void) {
    let inY = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, y, constI64(0), ""), LLVMBuildICmp(b, LLVMIntSLT, y, h, ""), "")
    let inX = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, x, constI64(0), ""), LLVMBuildICmp(b, LLVMIntSLT, x, w, ""), "")
    let then = block("in")
    let done = block("out")
    LLVMBuildCondBr(b, LLVMBuildAnd(b, inY, inX, ""), then, done)
    LLVMPositionBuilderAtEnd(b, then)
    body()
    LLVMBuildBr(b, done)
    LLVMPositionBuilderAtEnd(b, done)
  }
}
