// The float matmul as a register-tiled GEMM (BLIS's structure, on the IR's exact semantics).
//
// The IR's matmul sums each output's terms in order of p, each term a rounded product added with
// one rounding, from +0 (`c = ((0 + a0 b0) + a1 b1) + ...`: mul then add, never a fused
// multiply-add). Any loop order that keeps, for every output, that sequence of operations gives
// the interpreter's bits; this one keeps it while reusing every load many times:
//
//   for each block of MC rows (ic)                      C rows in L2, the epilogue after it
//     for each block of KC terms (pc)                   C accumulates across blocks in memory
//       for each panel of NR columns (jr)
//         pack B[pc block, jr panel] into a KC x NR tile on the stack (contiguous, in L1)
//         for each tile of MR rows (ir)                 the micro-kernel:
//           MR x NR accumulators in registers (MR rows of two vectors of VW lanes), loaded
//           from C; per term p: two vector loads of the packed panel, MR broadcasts of A,
//           2 MR vector multiplies and 2 MR vector adds; stored back to C.
//         rows left (fewer than MR): the same terms, one row of vectors at a time
//       columns left (fewer than NR): the scalar i-p-j loops over those columns
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
  /// Vectors per row of the tile (NR = VW).
  static let vectorsPerRow = 1
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
  /// At `pointer[rowOffset(p) + columnOffset(j)]`: an im2col view of a convolution's input
  /// (p = (c, ky, kx), j = (y, x)), read where the panel is packed, never materialized.
  case separable(LLVMValueRef, rowOffset: (LLVMValueRef) -> LLVMValueRef, columnOffset: (LLVMValueRef) -> LLVMValueRef)
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
      LLVMBuildICmp(b, LLVMIntSGE, n, constI64(gemmLanes(t) * GemmBlocking.vectorsPerRow), "")!, "")!
  }

  /// One matrix of a float matmul, `o[i, j] = sum_p a[i, p] b[p, j]` over M x K times K x N, at
  /// element offsets `aBase` (row-major M x K) and `oBase` (row-major M x N) and B as `operand`
  /// says; `rowEpilogue(i)` after each output row is complete.
  func gemmKernel(
    _ a: LLVMValueRef, aBase: LLVMValueRef, _ operand: GemmOperand, _ o: LLVMValueRef,
    oBase: LLVMValueRef, m: LLVMValueRef, k kk: LLVMValueRef, n: LLVMValueRef, _ t: DType,
    rowEpilogue: ((LLVMValueRef) -> Void)?
  ) {
    let vw = gemmLanes(t)
    let mr = GemmBlocking.mr
    let nr = vw * GemmBlocking.vectorsPerRow
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
    func storeVector(_ v: LLVMValueRef, _ base: LLVMValueRef, _ offset: LLVMValueRef) {
      let s = LLVMBuildStore(b, v, vectorPointer(base, offset))!
      LLVMSetAlignment(s, UInt32(t.byteSize))
    }
    func splat(_ x: LLVMValueRef) -> LLVMValueRef {
      let one = LLVMBuildInsertElement(b, LLVMGetUndef(vt), x, constI64(0), "")!
      var zeros = [LLVMValueRef?](repeating: LLVMConstInt(i32, 0, 0), count: vw)
      return LLVMBuildShuffleVector(b, one, LLVMGetUndef(vt), LLVMConstVector(&zeros, UInt32(vw)), "")!
    }
    /// `acc + x * y` as the IR computes it: a rounded product, then a rounded sum.
    func term(_ acc: LLVMValueRef, _ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef {
      LLVMBuildFAdd(b, acc, LLVMBuildFMul(b, x, y, "")!, "")!
    }

    // C = 0: every output's sum starts from +0.
    loop(mul(m, n), "z") { z in self.store(zero, o, add(oBase, z), t) }
    let panels = LLVMBuildSDiv(b, n, constI64(nr), "")!
    let mainColumns = mul(panels, constI64(nr))
    let accumulators = (0..<(mr * GemmBlocking.vectorsPerRow)).map { _ in entryAlloca(vt) }

    /// Rows `rows` (1...mr) of the tile at row `i`, columns `j0 ..< j0 + nr`, terms
    /// `p0 ..< p0 + count` from the packed panel of B, and of A from its packed tile at
    /// element `packedA` (mr values per term) or else from A itself.
    func microKernel(rows: Int, i: LLVMValueRef, j0: LLVMValueRef, p0: LLVMValueRef, count: LLVMValueRef, packedA: LLVMValueRef?) {
      let c = (0..<rows).map { r in add(oBase, add(mul(add(i, constI64(r)), n), j0)) }
      let aRow = (0..<rows).map { r in add(aBase, add(mul(add(i, constI64(r)), kk), p0)) }
      func aValue(_ r: Int, _ p: LLVMValueRef) -> LLVMValueRef {
        guard let packedA else { return self.load(a, add(aRow[r], p), t) }
        return self.load(aTile, add(packedA, add(mul(p, constI64(mr)), constI64(r))), t)
      }
      for r in 0..<rows {
        for h in 0..<GemmBlocking.vectorsPerRow {
          LLVMBuildStore(b, loadVector(o, add(c[r], constI64(h * vw))), accumulators[r * GemmBlocking.vectorsPerRow + h])
        }
      }
      loop(count, "p") { p in
        let bv = (0..<GemmBlocking.vectorsPerRow).map { h in
          let v = LLVMBuildLoad2(self.b, vt, vectorPointer(tile, add(mul(p, self.constI64(nr)), self.constI64(h * vw))), "")!
          LLVMSetAlignment(v, UInt32(vw * t.byteSize))
          return v
        }
        for r in 0..<rows {
          let av = splat(aValue(r, p))
          for h in 0..<GemmBlocking.vectorsPerRow {
            let slot = accumulators[r * GemmBlocking.vectorsPerRow + h]
            LLVMBuildStore(self.b, term(LLVMBuildLoad2(self.b, vt, slot, "")!, av, bv[h]), slot)
          }
        }
      }
      for r in 0..<rows {
        for h in 0..<GemmBlocking.vectorsPerRow {
          storeVector(LLVMBuildLoad2(b, vt, accumulators[r * GemmBlocking.vectorsPerRow + h], "")!, o, add(c[r], constI64(h * vw)))
        }
      }
    }

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
          self.loop(count, "pa") { p in
            for r in 0..<mr {
              let v = self.load(a, add(aBase, add(mul(add(add(i0, mul(q, self.constI64(mr))), self.constI64(r)), kk), add(p0, p))), t)
              self.store(v, aTile, add(mul(add(mul(q, self.constI64(kc)), p), self.constI64(mr)), self.constI64(r)), t)
            }
          }
        }
        self.loop(panels, "jr") { jr in
          let j0 = mul(jr, self.constI64(nr))
          // The panel: B[p0 + p, j0 ..< j0 + nr] at tile[p * nr].
          switch operand {
          case .matrix(let bb, let bBase):
            self.loop(count, "pack") { p in
              let row = add(bBase, add(mul(add(p0, p), n), j0))
              for h in 0..<GemmBlocking.vectorsPerRow {
                let v = loadVector(bb, add(row, self.constI64(h * vw)))
                let s = LLVMBuildStore(self.b, v, vectorPointer(tile, add(mul(p, self.constI64(nr)), self.constI64(h * vw))))!
                LLVMSetAlignment(s, UInt32(vw * t.byteSize))
              }
            }
          case .separable(let bb, let rowOffset, let columnOffset):
            let columns = (0..<nr).map { columnOffset(add(j0, self.constI64($0))) }
            self.loop(count, "pack") { p in
              let row = rowOffset(add(p0, p))
              for (lane, column) in columns.enumerated() {
                self.store(self.load(bb, add(row, column), t), tile, add(mul(p, self.constI64(nr)), self.constI64(lane)), t)
              }
            }
          }
          self.loop(tiles, "ir") { ir in
            microKernel(
              rows: mr, i: add(i0, mul(ir, self.constI64(mr))), j0: j0, p0: p0, count: count,
              packedA: mul(mul(ir, self.constI64(kc)), self.constI64(mr)))
          }
          self.loop(from: tileEnd, i1, "ri") { i in microKernel(rows: 1, i: i, j0: j0, p0: p0, count: count, packedA: nil) }
        }
        // Columns past the last whole panel, in the i-p-j order of the reference.
        self.loop(from: i0, i1, "ci") { i in
          self.loop(count, "cp") { p in
            let av = self.load(a, add(aBase, add(mul(i, kk), add(p0, p))), t)
            let element: (LLVMValueRef) -> LLVMValueRef
            switch operand {
            case .matrix(let bb, let bBase):
              let bRow = add(bBase, mul(add(p0, p), n))
              element = { j in self.load(bb, add(bRow, j), t) }
            case .separable(let bb, let rowOffset, let columnOffset):
              let row = rowOffset(add(p0, p))
              element = { j in self.load(bb, add(row, columnOffset(j)), t) }
            }
            self.loop(from: mainColumns, n, "cj") { j in
              let off = add(oBase, add(mul(i, n), j))
              self.store(term(self.load(o, off, t), av, element(j)), o, off, t)
            }
          }
        }
      }
      if let rowEpilogue { self.loop(from: i0, i1, "e") { i in rowEpilogue(i) } }
    }
  }
}
