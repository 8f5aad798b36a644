// The body of each kernel: loop nests over the result (or the inputs, for reductions) that
// compute what the reference kernels in NNCRuntime/Kernels.swift compute, in the same order
// of accumulation except where a loop is marked for vectorized (reassociated) reduction.

import CLLVM
import NNCIR

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
      let outStrides = perm.map { inStrides[$0] }
      loopNest(dims(rt)) { idx in
        let v = self.load(ins[0], self.dot(idx, outStrides), rt.dtype)
        self.store(v, o, self.dot(idx, self.strides(rt)), rt.dtype)
      }
    case .slice(let start, _, let step):
      let inStrides = strides(types[0])
      let base = dot(start.map { constI64($0) }, inStrides)
      let scaled = zip(inStrides, step).map { LLVMBuildMul(b, $0, constI64($1), "")! }
      loopNest(dims(rt)) { idx in
        let v = self.load(ins[0], LLVMBuildAdd(self.b, base, self.dot(idx, scaled), ""), rt.dtype)
        self.store(v, o, self.dot(idx, self.strides(rt)), rt.dtype)
      }
    case .pad(let low, _, let value):
      padKernel(ins[0], types[0], o, rt, low: low, value: value)
    case .concat(let axis):
      var offset = constI64(0)
      let outStrides = strides(rt)
      for (k, t) in types.enumerated() {
        let base = LLVMBuildMul(b, offset, outStrides[axis], "")!
        loopNest(dims(t)) { idx in
          let v = self.load(ins[k], self.dot(idx, self.strides(t)), t.dtype)
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
    case .cond, .guardTrue:
      break  // lowered in the entry function
    }
  }

  /// out[i] = body(operands at the broadcast index i). Operands of the result's shape use one
  /// flat loop; others a loop nest with broadcast strides.
  func elementwise(
    _ rt: TensorType, _ types: [TensorType], _ ins: [LLVMValueRef], _ o: LLVMValueRef,
    _ body: @escaping ([LLVMValueRef]) -> LLVMValueRef
  ) {
    if types.allSatisfy({ $0.shape == rt.shape }) {
      loop(product(dims(rt))) { i in
        let vs = zip(ins, types).map { self.load($0, i, $1.dtype) }
        self.store(body(vs), o, i, rt.dtype)
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
      let v: Double
      switch c.data {
      case .floats(let x): v = x[0]
      case .ints(let x): v = Double(x[0])
      case .bools(let x): v = x[0] ? 1 : 0
      }
      var scalar = constScalar(v, rt.dtype)
      if case .ints(let x) = c.data { scalar = LLVMConstInt(regType(rt.dtype), UInt64(bitPattern: x[0]), 1) }
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

  func padKernel(_ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef, _ rt: TensorType, low: [Int], value: Double) {
    let inDims = dims(xt)
    let inStrides = strides(xt)
    let fill = constScalar(value, rt.dtype)
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
      let v = self.load(x, offset, rt.dtype)
      self.store(LLVMBuildSelect(self.b, inside, v, fill, ""), o, self.dot(idx, self.strides(rt)), rt.dtype)
    }
  }

  /// Fills the result with the identity, then walks the input row-major accumulating into the
  /// result slot of each element. The innermost loop is marked vectorizable when it reduces.
  func reduceKernel(_ k: ReduceOp, axes: [Int], _ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef, _ rt: TensorType) {
    let t = xt.dtype
    let identity: LLVMValueRef
    switch (k, t.isFloat) {
    case (.sum, _): identity = constScalar(0, t)
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
    let innerReduces = xt.rank > 0 && axes.contains(xt.rank - 1)
    loopNest(dims(xt), vectorizeInner: innerReduces) { idx in
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
          let better = self.compare(k == .argmax ? .gt : .lt, a, bv, t)
          LLVMBuildStore(self.b, LLVMBuildSelect(self.b, better, j, best, ""), bestSlot)
        }
        let best = LLVMBuildLoad2(self.b, self.i64, bestSlot, "")!
        self.store(best, o, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, oi, inner, ""), ni, ""), .i64)
      }
    }
  }

  /// out[..., i, j] = sum_p a[..., i, p] * b[..., p, j], accumulated in p order with j innermost
  /// (contiguous, so it vectorizes without reassociation).
  func matmulKernel(_ a: LLVMValueRef, _ at: TensorType, _ bb: LLVMValueRef, _ bt: TensorType, _ o: LLVMValueRef, _ rt: TensorType) {
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
    loopNest(dims(batchType)) { bidx in
      let flat = self.dot(bidx, self.strides(batchType))
      let aBase = LLVMBuildMul(self.b, self.dot(bidx, aBatch), aMat, "")!
      let bBase = LLVMBuildMul(self.b, self.dot(bidx, bBatch), bMat, "")!
      let oBase = LLVMBuildMul(self.b, flat, oMat, "")!
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
      }
    }
  }

  /// A sliding window over [N,C,H,W]: calls `body(plane, y, x, ky, kx, iy, ix, inBounds)`.
  func convKernel(_ p: Conv2DAttrs, _ x: LLVMValueRef, _ xt: TensorType, _ w: LLVMValueRef, _ wt: TensorType, _ o: LLVMValueRef, _ rt: TensorType) {
    let t = rt.dtype
    let (nb, c, h, wd) = (dim(xt.shape[0]), dim(xt.shape[1]), dim(xt.shape[2]), dim(xt.shape[3]))
    let (oc, cg, kh, kw) = (dim(wt.shape[0]), dim(wt.shape[1]), dim(wt.shape[2]), dim(wt.shape[3]))
    let (oh, ow) = (dim(rt.shape[2]), dim(rt.shape[3]))
    let og = LLVMBuildSDiv(b, oc, constI64(p.groups), "")!
    loopNest([nb, oc, oh, ow]) { idx in
      let (n, co, y, xo) = (idx[0], idx[1], idx[2], idx[3])
      let g = LLVMBuildSDiv(self.b, co, og, "")!
      let accSlot = self.entryAlloca(self.regType(t))
      LLVMBuildStore(self.b, self.constScalar(0, t), accSlot)
      self.loopNest([cg, kh, kw]) { k in
        let cin = LLVMBuildAdd(self.b, LLVMBuildMul(self.b, g, cg, ""), k[0], "")!
        let iy = LLVMBuildAdd(
          self.b, LLVMBuildSub(self.b, LLVMBuildMul(self.b, y, self.constI64(p.stride[0]), ""), self.constI64(p.padding[0]), ""),
          LLVMBuildMul(self.b, k[1], self.constI64(p.dilation[0]), ""), "")!
        let ix = LLVMBuildAdd(
          self.b, LLVMBuildSub(self.b, LLVMBuildMul(self.b, xo, self.constI64(p.stride[1]), ""), self.constI64(p.padding[1]), ""),
          LLVMBuildMul(self.b, k[2], self.constI64(p.dilation[1]), ""), "")!
        self.ifInside(iy, h, ix, wd) {
          let xoff = self.dot([n, cin, iy, ix], [LLVMBuildMul(self.b, LLVMBuildMul(self.b, c, h, ""), wd, ""), LLVMBuildMul(self.b, h, wd, ""), wd, self.constI64(1)])
          let woff = self.dot([co, k[0], k[1], k[2]], [LLVMBuildMul(self.b, LLVMBuildMul(self.b, cg, kh, ""), kw, ""), LLVMBuildMul(self.b, kh, kw, ""), kw, self.constI64(1)])
          let prod = self.binary(.mul, self.load(x, xoff, t), self.load(w, woff, t), t)
          let acc = LLVMBuildLoad2(self.b, self.regType(t), accSlot, "")!
          LLVMBuildStore(self.b, self.binary(.add, acc, prod, t), accSlot)
        }
      }
      let ooff = self.dot(idx, self.strides(rt))
      self.store(LLVMBuildLoad2(self.b, self.regType(t), accSlot, "")!, o, ooff, t)
    }
  }

  func poolKernel(_ kind: PoolOp, _ p: Pool2DAttrs, _ x: LLVMValueRef, _ xt: TensorType, _ o: LLVMValueRef, _ rt: TensorType) {
    let t = rt.dtype
    let planes = LLVMBuildMul(b, dim(xt.shape[0]), dim(xt.shape[1]), "")!
    let (h, wd) = (dim(xt.shape[2]), dim(xt.shape[3]))
    let (oh, ow) = (dim(rt.shape[2]), dim(rt.shape[3]))
    loopNest([planes, oh, ow]) { idx in
      let accSlot = self.entryAlloca(self.regType(t))
      LLVMBuildStore(self.b, self.constScalar(kind == .max ? -.infinity : 0, t), accSlot)
      self.loopNest([self.constI64(p.kernel[0]), self.constI64(p.kernel[1])]) { k in
        let iy = LLVMBuildAdd(self.b, LLVMBuildSub(self.b, LLVMBuildMul(self.b, idx[1], self.constI64(p.stride[0]), ""), self.constI64(p.padding[0]), ""), k[0], "")!
        let ix = LLVMBuildAdd(self.b, LLVMBuildSub(self.b, LLVMBuildMul(self.b, idx[2], self.constI64(p.stride[1]), ""), self.constI64(p.padding[1]), ""), k[1], "")!
        self.ifInside(iy, h, ix, wd) {
          let off = self.dot([idx[0], iy, ix], [LLVMBuildMul(self.b, h, wd, ""), wd, self.constI64(1)])
          let e = self.load(x, off, t)
          let acc = LLVMBuildLoad2(self.b, self.regType(t), accSlot, "")!
          LLVMBuildStore(self.b, self.binary(kind == .max ? .max : .add, acc, e, t), accSlot)
        }
      }
      var r = LLVMBuildLoad2(self.b, self.regType(t), accSlot, "")!
      if kind == .avg { r = LLVMBuildFDiv(self.b, r, self.constScalar(Double(p.kernel[0] * p.kernel[1]), t), "") }
      self.store(r, o, self.dot(idx, [LLVMBuildMul(self.b, oh, ow, "")!, ow, self.constI64(1)]), t)
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
