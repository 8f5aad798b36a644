// The float matmul as a register-tiled GEMM (BLIS's structure, on the IR's exact semantics).
//
// The IR's matmul sums each output's terms in order of p, each term a rounded product added with
// one rounding, from +0 (`c = ((0 + a0 b0) + a1 b1) + ...`: mul then add, never a fused
// multiply-add). Any loop order that keeps, for every output, that sequence of operations gives
// the interpreter's bits; this one keeps it while reusing every load many times:
//
//   for each block of MC rows (ic)                      A's block and C's rows in L2
//     for each block of KC terms (pc)                   C accumulates across blocks in memory
//       pack A[ic block, pc block] into tiles of MR rows, term by term (on the stack)
//       for each panel of NR = VW columns (jr)
//         pack B[pc block, jr panel] into a KC x NR tile on the stack (contiguous, in L1)
//         for each tile of MR rows (ir)                 the micro-kernel (one shared function):
//           MR accumulator vectors of VW lanes, loaded from C; per term p: one vector load of
//           the packed panel and, per row, a multiply by A's value broadcast from memory and
//           an add; stored back to C.
//         rows left (fewer than MR): the same terms, one row at a time
//       columns left (fewer than NR): the scalar i-p-j loops over those columns
//   then the epilogue (bias, activation, ...) over every row of C
//
// The loops are one function per module and dtype (`nnc.gemm.f32`, and `nnc.gemm.f32.im2col`
// for convolutions, whose B is read from the input image as panels are packed), called by every
// matmul and convolution kernel: LLVM optimizes them once per module (LeNet compiles in 0.30 s
// with them, 0.74 s with a copy per kernel, 0.20 s with the i-p-j loops alone), and the loops
// that only move data (A's packing, the leftover columns) are not unrolled.
//
// Every output still gets its terms in order of p (blocks of KC in increasing order, the
// partial sum stored and reloaded exactly), so results are bit for bit the interpreter's at any
// blocking. Multiplies and adds run on separate pipes on the AMD EPYC this was measured on (two
// 256-bit FMA/multiply pipes and two add pipes), so mul + add reaches the FMA peak's flop rate
// there; on CPUs whose adds share the FMA ports it reaches half of it.

import CLLVM
import NNCIR

/// The blocking of `gemmKernel` (see the file comment), measured on this project's AMD EPYC for
/// matmul 1024^3 f32 (GFLOP/s at one thread: MR x NR = 6 x 32, broadcasts used twice, 65; 12 x
/// 16, 80; 8 x 16 with KC = 128, MC = 96, 86; KC = 256, MC = 128, 98).
enum GemmBlocking {
  /// Rows of the micro-kernel's tile. Each row is one vector (NR = VW lanes), so each of A's
  /// values is used once, as the multiply's broadcast memory operand (`vmulps m32{1to16}`): a
  /// broadcast used twice costs a shuffle on the vector pipes the multiplies and adds need.
  static let mr = 8
  /// Bytes of terms per block: a block is KC = 1 KiB / element size terms (256 f32, 128 f64),
  /// and a packed panel of B KC x NR elements (16 KiB at 512 bits), in L1.
  static let kcBytes = 1024
  /// Rows per block: the C rows one block of the loops updates (in L2), after which their
  /// epilogue runs; A's block is packed as MC x KC elements (128 KiB), in L2.
  static let mc = 128

  /// Terms per block for elements of `t`.
  static func kc(_ t: DType) -> Int { kcBytes / t.byteSize }
}

/// The B operand of `gemmKernel`: element (p, j) of a K x N matrix.
enum GemmOperand {
  /// Row-major at element offset `base` of `pointer`.
  case matrix(LLVMValueRef, base: LLVMValueRef)
  /// The im2col view of one image's channels of a convolution's input, from element `base` of
  /// `pointer` (channel 0 of the group at row 0, column 0): p = (c kh + ky) kw + kx, j = y ow + x,
  /// element (p, j) at c h w + (y s0 + ky d0) w + (x s1 + kx d1). Read where the panels are
  /// packed, never materialized.
  case im2col(LLVMValueRef, base: LLVMValueRef, ConvGeometry)
}

/// The sizes an im2col view reads with (`GemmOperand.im2col`), as i64 values.
struct ConvGeometry {
  var imageHeight, imageWidth, kernelHeight, kernelWidth, outWidth: LLVMValueRef
  var stride: (LLVMValueRef, LLVMValueRef)
  var dilation: (LLVMValueRef, LLVMValueRef)
  var values: [LLVMValueRef] {
    [imageHeight, imageWidth, kernelHeight, kernelWidth, outWidth, stride.0, stride.1, dilation.0, dilation.1]
  }
  init(_ v: [LLVMValueRef]) {
    (imageHeight, imageWidth, kernelHeight, kernelWidth, outWidth) = (v[0], v[1], v[2], v[3], v[4])
    (stride, dilation) = ((v[5], v[6]), (v[7], v[8]))
  }
}

extension FunctionLowering {
  /// Lanes per vector for the GEMM micro-kernel on `t` (f32 or f64): the target's widest
  /// vectors (AVX-512: 512 bits, AVX: 256, else 128), capped by `--vector-width`.
  func gemmLanes(_ t: DType) -> Int {
    var bits = gemmVectorBits
    if let w = vectorWidth { bits = min(bits, max(w, 128)) }
    return bits / (t.byteSize * 8)
  }

  /// Whether the GEMM computes an M x N result of `t` (else the i-p-j loops): it holds a whole
  /// micro-kernel tile.
  func gemmApplies(m: LLVMValueRef, n: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    LLVMBuildAnd(
      b, LLVMBuildICmp(b, LLVMIntSGE, m, constI64(GemmBlocking.mr), "")!,
      LLVMBuildICmp(b, LLVMIntSGE, n, constI64(gemmLanes(t)), "")!, "")!
  }

  /// One matrix of a float matmul, `o[i, j] = sum_p a[i, p] b[p, j]` over M x K times K x N, at
  /// element offsets `aBase` (row-major M x K) and `oBase` (row-major M x N) and B as `operand`
  /// says, then `rowEpilogue(i)` for each output row. The GEMM is a call of the module's shared
  /// driver for `t` and the operand's kind (`gemmDriver`): LLVM optimizes its loops and packing
  /// once per module, not once per matmul or convolution.
  func gemmKernel(
    _ a: LLVMValueRef, aBase: LLVMValueRef, _ operand: GemmOperand, _ o: LLVMValueRef,
    oBase: LLVMValueRef, m: LLVMValueRef, k kk: LLVMValueRef, n: LLVMValueRef, _ t: DType,
    rowEpilogue: ((LLVMValueRef) -> Void)?
  ) {
    let et = memType(t)
    let (aPointer, oPointer) = (elementPointer(a, et, aBase), elementPointer(o, et, oBase))
    switch operand {
    case .matrix(let bb, let bBase):
      _ = call(gemmDriver(t, im2col: false), [aPointer, elementPointer(bb, et, bBase), oPointer, m, kk, n])
    case .im2col(let x, let base, let geometry):
      _ = call(gemmDriver(t, im2col: true), [aPointer, elementPointer(x, et, base), oPointer, m, kk, n] + geometry.values)
    }
    if let rowEpilogue { loop(m, "e") { i in rowEpilogue(i) } }
  }

  /// The module's GEMM for `t` on a matrix B (`im2col` false: `void nnc.gemm.T(const T *a,
  /// const T *b, T *c, int64_t m, int64_t k, int64_t n)`) or on a convolution's im2col view
  /// (the same, then the nine sizes of `ConvGeometry`), made on first use.
  func gemmDriver(_ t: DType, im2col: Bool) -> LLVMValueRef {
    let p = ptrType(t)
    let sizes = 3 + (im2col ? 9 : 0)
    return sharedGemmFunction("nnc.gemm.\(t)" + (im2col ? ".im2col" : ""), [p, p, p] + Array(repeating: i64, count: sizes)) { arg in
      let operand: GemmOperand =
        im2col ? .im2col(arg(1), base: self.constI64(0), ConvGeometry((6..<15).map(arg))) : .matrix(arg(1), base: self.constI64(0))
      self.gemmLoops(arg(0), operand, arg(2), m: arg(3), k: arg(4), n: arg(5), t)
    }
  }

  /// The module's internal function `name` taking `params` and returning nothing, made on
  /// first use with `body` (given a parameter by position) at the builder's position in its
  /// entry block: `noinline`, its first three parameters pointers that are not captured, the
  /// third (the result) `noalias`. Builds it without disturbing the caller's insertion point
  /// or debug scope.
  private func sharedGemmFunction(
    _ name: String, _ params: [LLVMTypeRef], body: (_ arg: (Int) -> LLVMValueRef) -> Void
  ) -> LLVMValueRef {
    if let existing = LLVMGetNamedFunction(module, name) { return existing }
    var ps: [LLVMTypeRef?] = params
    let fn = LLVMAddFunction(module, name, LLVMFunctionType(void, &ps, UInt32(ps.count), 0))!
    LLVMSetLinkage(fn, LLVMInternalLinkage)
    addFunctionAttributes(fn)
    LLVMAddAttributeAtIndex(fn, functionAttrIndex, enumAttr(ctx, "noinline"))
    for k in 0..<3 { LLVMAddAttributeAtIndex(fn, UInt32(k + 1), enumAttr(ctx, "nocapture")) }
    LLVMAddAttributeAtIndex(fn, 3, enumAttr(ctx, "noalias"))
    let saved = LLVMGetInsertBlock(b)!
    let savedDebug = beginDebugFunction(fn, name: name, at: nil)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
    body { LLVMGetParam(fn, UInt32($0))! }
    LLVMBuildRetVoid(b)
    endDebugFunction(savedDebug)
    LLVMPositionBuilderAtEnd(b, saved)
    return fn
  }

  /// The GEMM's loops (see the file comment) on A and C at element 0 of `a` and `o`.
  private func gemmLoops(
    _ a: LLVMValueRef, _ operand: GemmOperand, _ o: LLVMValueRef, m: LLVMValueRef, k kk: LLVMValueRef,
    n: LLVMValueRef, _ t: DType
  ) {
    let vw = gemmLanes(t)
    let mr = GemmBlocking.mr
    let nr = vw  // one vector of columns per row of the tile
    let kc = GemmBlocking.kc(t)
    let mc = GemmBlocking.mc
    let et = memType(t)
    let vt = LLVMVectorType(et, UInt32(vw))!
    let vp = LLVMPointerType(vt, 0)!
    let panel = entryAlloca(LLVMArrayType(et, UInt32(kc * nr)))
    LLVMSetAlignment(panel, 64)
    let tile = LLVMBuildBitCast(b, panel, ptrType(t), "")!
    let aPanels = entryAlloca(LLVMArrayType(et, UInt32(mc * kc)))
    LLVMSetAlignment(aPanels, 64)
    let aTile = LLVMBuildBitCast(b, aPanels, ptrType(t), "")!
    let zero = constScalar(0, t)
    func add(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildAdd(b, x, y, "")! }
    func mul(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildMul(b, x, y, "")! }
    func minimum(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef {
      LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, y, "")!, x, y, "")!
    }
    func blocks(_ total: LLVMValueRef, _ size: Int) -> LLVMValueRef {
      LLVMBuildSDiv(b, add(total, constI64(size - 1)), constI64(size), "")!
    }
    func vectorPointer(_ base: LLVMValueRef, _ offset: LLVMValueRef) -> LLVMValueRef {
      LLVMBuildBitCast(b, elementPointer(base, et, offset), vp, "")!
    }
    func loadVector(_ base: LLVMValueRef, _ offset: LLVMValueRef) -> LLVMValueRef {
      let v = LLVMBuildLoad2(b, vt, vectorPointer(base, offset), "")!
      LLVMSetAlignment(v, UInt32(t.byteSize))
      return v
    }
    /// `acc + x * y` as the IR computes it: a rounded product, then a rounded sum.
    func term(_ acc: LLVMValueRef, _ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef {
      LLVMBuildFAdd(b, acc, LLVMBuildFMul(b, x, y, "")!, "")!
    }
    /// Element (p, j) of B as `pointer[rowOffset(p) + columnOffset(j)]`.
    let (bPointer, rowOffset, columnOffset): (LLVMValueRef, (LLVMValueRef) -> LLVMValueRef, (LLVMValueRef) -> LLVMValueRef)
    switch operand {
    case .matrix(let bb, let bBase):
      (bPointer, rowOffset, columnOffset) = (bb, { q in add(bBase, mul(q, n)) }, { j in j })
    case .im2col(let x, let base, let g):
      let khw = mul(g.kernelHeight, g.kernelWidth)
      let hw = mul(g.imageHeight, g.imageWidth)
      bPointer = x
      rowOffset = { q in
        let ci = LLVMBuildSDiv(self.b, q, khw, "")!
        let r = LLVMBuildSub(self.b, q, mul(ci, khw), "")!
        let ky = LLVMBuildSDiv(self.b, r, g.kernelWidth, "")!
        let kx = LLVMBuildSub(self.b, r, mul(ky, g.kernelWidth), "")!
        return add(base, add(mul(ci, hw), add(mul(mul(ky, g.dilation.0), g.imageWidth), mul(kx, g.dilation.1))))
      }
      columnOffset = { j in
        let y = LLVMBuildSDiv(self.b, j, g.outWidth, "")!
        let xo = LLVMBuildSub(self.b, j, mul(y, g.outWidth), "")!
        return add(mul(mul(y, g.stride.0), g.imageWidth), mul(xo, g.stride.1))
      }
    }

    // C = 0: every output's sum starts from +0.
    loop(mul(m, n), "z") { z in self.store(zero, o, z, t) }
    let panels = LLVMBuildSDiv(b, n, constI64(nr), "")!
    let mainColumns = mul(panels, constI64(nr))
    let shared = gemmMicroKernel(t)
    loop(blocks(m, mc), "ic") { ic in
      let i0 = mul(ic, self.constI64(mc))
      let i1 = minimum(m, add(i0, self.constI64(mc)))
      let tiles = LLVMBuildSDiv(self.b, LLVMBuildSub(self.b, i1, i0, "")!, self.constI64(mr), "")!
      let tileEnd = add(i0, mul(tiles, self.constI64(mr)))
      self.loop(blocks(kk, kc), "pc") { pc in
        let p0 = mul(pc, self.constI64(kc))
        let count = minimum(self.constI64(kc), LLVMBuildSub(self.b, kk, p0, "")!)
        // A's whole tiles of the block, term by term: tile q's row r of term p at
        // aTile[(q kc + p) mr + r].
        self.loop(tiles, "qa") { q in
          self.loop(count, "pa", unroll: false) { p in
            for r in 0..<mr {
              let v = self.load(a, add(mul(add(add(i0, mul(q, self.constI64(mr))), self.constI64(r)), kk), add(p0, p)), t)
              self.store(v, aTile, add(mul(add(mul(q, self.constI64(kc)), p), self.constI64(mr)), self.constI64(r)), t)
            }
          }
        }
        self.loop(panels, "jr") { jr in
          let j0 = mul(jr, self.constI64(nr))
          // The panel: B[p0 + p, j0 ..< j0 + nr] at tile[p * nr].
          switch operand {
          case .matrix:
            // Rows of B are contiguous: one vector load per term.
            self.loop(count, "pack") { p in
              let row = add(rowOffset(add(p0, p)), j0)
              let s = LLVMBuildStore(self.b, loadVector(bPointer, row), vectorPointer(tile, mul(p, self.constI64(nr))))!
              LLVMSetAlignment(s, UInt32(vw * t.byteSize))
            }
          case .im2col:
            // The panel's columns' offsets as one vector; each term's row a gather of them
            // (`llvm.masked.gather`: vgatherqps on AVX-512 and AVX2, lane by lane elsewhere).
            let iv = LLVMVectorType(self.i64, UInt32(nr))!
            var columns = LLVMGetUndef(iv)!
            for lane in 0..<nr {
              columns = LLVMBuildInsertElement(self.b, columns, columnOffset(add(j0, self.constI64(lane))), self.constI64(lane), "")!
            }
            let pv = LLVMVectorType(LLVMPointerType(et, 0), UInt32(nr))!
            let i1v = LLVMVectorType(self.i1, UInt32(nr))!
            let gather = self.declare("llvm.masked.gather.v\(nr)\(t).v\(nr)p0\(t)", vt, [pv, self.i32, i1v, vt])
            var ones = [LLVMValueRef?](repeating: LLVMConstInt(self.i1, 1, 0), count: nr)
            let mask = LLVMConstVector(&ones, UInt32(nr))!
            self.loop(count, "pack") { p in
              let row = rowOffset(add(p0, p))
              let rowVector = LLVMBuildShuffleVector(
                self.b, LLVMBuildInsertElement(self.b, LLVMGetUndef(iv), row, self.constI64(0), "")!, LLVMGetUndef(iv),
                LLVMConstNull(LLVMVectorType(self.i32, UInt32(nr))), "")!
              var offsets: [LLVMValueRef?] = [LLVMBuildAdd(self.b, rowVector, columns, "")]
              let pointers = LLVMBuildInBoundsGEP2(self.b, et, bPointer, &offsets, 1, "")!
              let v = self.call(gather, [pointers, self.constI32(Int32(t.byteSize)), mask, LLVMGetUndef(vt)])
              let s = LLVMBuildStore(self.b, v, vectorPointer(tile, mul(p, self.constI64(nr))))!
              LLVMSetAlignment(s, UInt32(vw * t.byteSize))
            }
          }
          self.loop(tiles, "ir") { ir in
            let i = add(i0, mul(ir, self.constI64(mr)))
            _ = self.call(shared, [
              self.elementPointer(aTile, et, mul(mul(ir, self.constI64(kc)), self.constI64(mr))), tile,
              self.elementPointer(o, et, add(mul(i, n), j0)), n, count,
            ])
          }
          self.loop(from: tileEnd, i1, "ri") { i in
            let aRow = add(mul(i, kk), p0)
            self.gemmMicroKernelBody(
              t, rows: 1, c: o, cBase: add(mul(i, n), j0), ldc: n, panel: tile, count: count
            ) { _, p in self.load(a, add(aRow, p), t) }
          }
        }
        // Columns past the last whole panel, in the i-p-j order of the reference.
        self.loop(from: i0, i1, "ci") { i in
          self.loop(count, "cp") { p in
            let av = self.load(a, add(mul(i, kk), add(p0, p)), t)
            let row = rowOffset(add(p0, p))
            self.loop(from: mainColumns, n, "cj", unroll: false) { j in
              let off = add(mul(i, n), j)
              self.store(term(self.load(o, off, t), av, self.load(bPointer, add(row, columnOffset(j)), t)), o, off, t)
            }
          }
        }
      }
    }
  }

  /// The micro-kernel on whole tiles of `t` as one function of the module, made on first use
  /// and shared by every GEMM of the module (so LLVM optimizes it once, not once per matmul or
  /// convolution): `void nnc.gemm.T.xVW.mrMR(const T *aTile, const T *panel, T *c, int64_t ldc,
  /// int64_t count)` adds the `count` terms of the packed A tile (MR values per term) times the
  /// packed panel (VW values per term) into the MR x VW block of C at `c` (rows `ldc` apart).
  func gemmMicroKernel(_ t: DType) -> LLVMValueRef {
    let vw = gemmLanes(t)
    let mr = GemmBlocking.mr
    let p = ptrType(t)
    return sharedGemmFunction("nnc.gemm.\(t).x\(vw).mr\(mr)", [p, p, p, i64, i64]) { arg in
      let aTile = arg(0)
      self.gemmMicroKernelBody(t, rows: mr, c: arg(2), cBase: self.constI64(0), ldc: arg(3), panel: arg(1), count: arg(4)) {
        r, q in
        self.load(aTile, LLVMBuildAdd(self.b, LLVMBuildMul(self.b, q, self.constI64(mr), "")!, self.constI64(r), "")!, t)
      }
    }
  }

  /// Rows 0 ..< `rows` of a micro-kernel tile: C's block (`rows` rows of VW elements from
  /// element `cBase` of `c`, `ldc` apart) loaded into vector accumulators, then for each term p
  /// below `count`: the panel's vector at p (VW aligned values) times each row's A value
  /// `aValue(r, p)` (broadcast), added in; stored back.
  func gemmMicroKernelBody(
    _ t: DType, rows: Int, c: LLVMValueRef, cBase: LLVMValueRef, ldc: LLVMValueRef, panel: LLVMValueRef,
    count: LLVMValueRef, aValue: @escaping (Int, LLVMValueRef) -> LLVMValueRef
  ) {
    let vw = gemmLanes(t)
    let et = memType(t)
    let vt = LLVMVectorType(et, UInt32(vw))!
    let vp = LLVMPointerType(vt, 0)!
    func at(_ base: LLVMValueRef, _ offset: LLVMValueRef) -> LLVMValueRef {
      LLVMBuildBitCast(b, elementPointer(base, et, offset), vp, "")!
    }
    let rowsAt = (0..<rows).map { r in LLVMBuildAdd(b, cBase, LLVMBuildMul(b, constI64(r), ldc, "")!, "")! }
    let accumulators = (0..<rows).map { _ in entryAlloca(vt) }
    for r in 0..<rows {
      let v = LLVMBuildLoad2(b, vt, at(c, rowsAt[r]), "")!
      LLVMSetAlignment(v, UInt32(t.byteSize))
      LLVMBuildStore(b, v, accumulators[r])
    }
    loop(count, "p") { p in
      let bv = LLVMBuildLoad2(self.b, vt, at(panel, LLVMBuildMul(self.b, p, self.constI64(vw), "")!), "")!
      LLVMSetAlignment(bv, UInt32(vw * t.byteSize))
      for r in 0..<rows {
        let one = LLVMBuildInsertElement(self.b, LLVMGetUndef(vt), aValue(r, p), self.constI64(0), "")!
        var zeros = [LLVMValueRef?](repeating: LLVMConstInt(self.i32, 0, 0), count: vw)
        let av = LLVMBuildShuffleVector(self.b, one, LLVMGetUndef(vt), LLVMConstVector(&zeros, UInt32(vw)), "")!
        // acc + a * b as the IR computes it: a rounded product, then a rounded sum.
        let acc = LLVMBuildLoad2(self.b, vt, accumulators[r], "")!
        LLVMBuildStore(self.b, LLVMBuildFAdd(self.b, acc, LLVMBuildFMul(self.b, av, bv, "")!, "")!, accumulators[r])
      }
    }
    for r in 0..<rows {
      let s = LLVMBuildStore(b, LLVMBuildLoad2(b, vt, accumulators[r], "")!, at(c, rowsAt[r]))!
      LLVMSetAlignment(s, UInt32(t.byteSize))
    }
  }
}
