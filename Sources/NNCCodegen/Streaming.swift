// Streaming (non-temporal) stores for large results. A normal store to a line that is not in
// cache first reads the line from memory (a read for ownership), so a kernel writing a large
// result moves its bytes twice; a streaming store writes whole lines without reading them.
// Kernels compute a block of a streamed result into a small stack tile (in L1, with the code
// LLVM vectorizes as usual) and copy the tile out with 64-byte aligned vector stores marked
// `!nontemporal` (`vmovntps`; a 64-byte vector is split into the target's vectors), the
// unaligned head and tail with normal stores. A fence at the end of the kernel orders the
// streaming stores before anything the caller does next (they are weakly ordered).
//
// Measured on this project's machine (AMD EPYC, 32 MiB L3, 1 thread): axpy in C with 16M-,
// 4M- and 1M-element arrays, streaming stores 1.5x faster, even, 1.3x slower (the arrays stay
// in cache between calls below the L3's size); nnc's axpy (16M elements, 192 MiB touched) 1.5x
// faster, its layernorm (4096x1024, 32 MiB touched) 1.2x slower. So a kernel streams only when
// the bytes it touches (operands and results) reach twice that L3, and only results that go
// to the caller's buffers: a workspace value is read again by a later kernel of the same
// call, from cache when it was stored normally.

import CLLVM
import NNCIR

/// The streaming-store policy (see the file comment).
enum Streaming {
  /// A kernel streams its results when its footprint reaches this many bytes (unless
  /// `TargetOptions.streamingThresholdBytes` says otherwise): twice the L3 of this project's
  /// machine.
  static let defaultThresholdBytes = 64 << 20
  /// Elements per tile, a multiple of every streamed dtype's 64-byte vector (16 f32, 8 f64):
  /// a tile is 4 or 8 KiB of stack.
  static let tileElements = 1024
  /// Bytes per streaming store: one cache line.
  static let lineBytes = 64
}

extension Streaming {
  /// The bytes of values of `types`, nil when a size is symbolic.
  static func footprint(_ types: [TensorType]) -> Int? {
    var total = 0
    for t in types {
      // A verified type holds at most 2^48 elements; the sum saturates.
      guard let shape = t.staticShape, let n = ShapeMath.elementCount(shape) else { return nil }
      let (sum, overflow) = total.addingReportingOverflow(n * t.dtype.byteSize)
      total = overflow ? .max : sum
    }
    return total
  }
}

extension FunctionLowering {
  /// The bytes of values of `types` at run time (a constant for static shapes).
  func footprint(_ types: [TensorType]) -> LLVMValueRef {
    var total = constI64(0)
    for t in types {
      total = LLVMBuildAdd(b, total, LLVMBuildMul(b, product(dims(t)), constI64(t.dtype.byteSize), "")!, "")!
    }
    return total
  }

  /// Runs `large` when `bytes` is at least `streamingThreshold`, else `small`: decided
  /// here when `bytes` is a constant, else by a branch.
  func ifStreaming(bytes: LLVMValueRef, large: () -> Void, small: () -> Void) {
    ifElse(LLVMBuildICmp(b, LLVMIntSGE, bytes, constI64(streamingThreshold), "")!, then: large, otherwise: small)
  }

  /// A stack tile of `Streaming.tileElements` elements of `t` in the kernel's entry block.
  func streamingTile(_ t: DType) -> LLVMValueRef {
    let tile = entryAlloca(LLVMArrayType(memType(t), UInt32(Streaming.tileElements)))
    LLVMSetAlignment(tile, UInt32(Streaming.lineBytes))
    return LLVMBuildBitCast(b, tile, ptrType(t), "")!
  }

  /// Copies `count` elements of `t` (at most a tile) from `tile` to `dst`: normal stores up to
  /// the first 64-byte boundary of `dst` (all of them when `dst` is not aligned to its element
  /// size), streaming stores of whole lines, normal stores for the rest.
  func streamOut(_ tile: LLVMValueRef, to dst: LLVMValueRef, count: LLVMValueRef, _ t: DType) {
    let size = Int64(t.byteSize)
    let line = Int64(Streaming.lineBytes)
    let perLine = Int(line / size)
    let address = LLVMBuildPtrToInt(b, dst, i64, "")!
    let misaligned = LLVMBuildICmp(
      b, LLVMIntNE, LLVMBuildAnd(b, address, constI64(Int(size - 1)), "")!, constI64(0), "")!
    // Elements before the boundary: ((64 - address % 64) % 64) / size, at most `count`.
    let toBoundary = LLVMBuildAnd(b, LLVMBuildSub(b, constI64(0), address, "")!, constI64(Int(line - 1)), "")!
    var head = LLVMBuildSDiv(b, toBoundary, constI64(Int(size)), "")!
    head = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, count, head, "")!, count, head, "")!
    head = LLVMBuildSelect(b, misaligned, count, head, "")!
    let lines = LLVMBuildSDiv(b, LLVMBuildSub(b, count, head, "")!, constI64(perLine), "")!
    let tailStart = LLVMBuildAdd(b, head, LLVMBuildMul(b, lines, constI64(perLine), "")!, "")!
    loop(head, "head") { i in self.store(self.load(tile, i, t), dst, i, t) }
    let vt = LLVMVectorType(memType(t), UInt32(perLine))!
    let vp = LLVMPointerType(vt, 0)!
    let kind = LLVMGetMDKindIDInContext(ctx, "nontemporal", 11)
    var one: [LLVMValueRef?] = [LLVMValueAsMetadata(LLVMConstInt(i32, 1, 0))]
    let node = LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, &one, 1))
    loop(lines, "line") { q in
      let at = LLVMBuildAdd(self.b, head, LLVMBuildMul(self.b, q, self.constI64(perLine), "")!, "")!
      let v = LLVMBuildLoad2(self.b, vt, LLVMBuildBitCast(self.b, self.elementPointer(tile, self.memType(t), at), vp, ""), "")!
      LLVMSetAlignment(v, UInt32(size))
      let s = LLVMBuildStore(self.b, v, LLVMBuildBitCast(self.b, self.elementPointer(dst, self.memType(t), at), vp, ""))!
      LLVMSetAlignment(s, UInt32(line))
      LLVMSetMetadata(s, kind, node)
    }
    loop(from: tailStart, count, "tail") { i in self.store(self.load(tile, i, t), dst, i, t) }
  }

  /// `out[k][i] = values(i)[k]` for i in 0..<n, each output `(pointer, dtype)`. The outputs
  /// at `streamed` go through tiles and streaming stores, a block of `Streaming.tileElements`
  /// at a time, when `footprint` (bytes) reaches the threshold (`ifStreaming`); otherwise,
  /// and for the others, plain stores in one loop.
  func flatLoop(
    _ n: LLVMValueRef, _ out: [(LLVMValueRef, DType)], streamed: [Int], footprint: @autoclosure () -> LLVMValueRef,
    values: @escaping (LLVMValueRef) -> [LLVMValueRef]
  ) {
    let plain = {
      self.loop(n) { i in
        for (v, (p, t)) in zip(values(i), out) { self.store(v, p, i, t) }
      }
    }
    guard !streamed.isEmpty else { return plain() }
    ifStreaming(bytes: footprint(), large: {
      var tiles: [Int: LLVMValueRef] = [:]
      for k in streamed { tiles[k] = self.streamingTile(out[k].1) }
      self.forEachTile(n) { start, count in
        self.loop(count) { j in
          let i = LLVMBuildAdd(self.b, start, j, "")!
          for (k, (v, (p, t))) in zip(values(i), out).enumerated() {
            if let tile = tiles[k] { self.store(v, tile, j, t) } else { self.store(v, p, i, t) }
          }
        }
        for (k, tile) in tiles.sorted(by: { $0.key < $1.key }) {
          let (p, t) = out[k]
          self.streamOut(tile, to: self.elementPointer(p, self.memType(t), start), count: count, t)
        }
      }
      self.streamingFence()
    }, small: plain)
  }

  /// `body(start, count)` for consecutive tiles of `Streaming.tileElements` elements (the last
  /// one shorter) covering 0 ..< `n`.
  func forEachTile(_ n: LLVMValueRef, body: (_ start: LLVMValueRef, _ count: LLVMValueRef) -> Void) {
    let tile = constI64(Streaming.tileElements)
    let tiles = LLVMBuildSDiv(b, LLVMBuildAdd(b, n, constI64(Streaming.tileElements - 1), "")!, tile, "")!
    loop(tiles, "tile") { q in
      let start = LLVMBuildMul(self.b, q, tile, "")!
      let rest = LLVMBuildSub(self.b, n, start, "")!
      body(start, LLVMBuildSelect(self.b, LLVMBuildICmp(self.b, LLVMIntSLT, rest, tile, "")!, rest, tile, "")!)
    }
  }

  /// Orders the kernel's streaming stores before what follows (a sequentially consistent
  /// fence: `mfence` on x86, which orders non-temporal stores too).
  func streamingFence() {
    LLVMBuildFence(b, LLVMAtomicOrderingSequentiallyConsistent, 0, "")
  }
}
