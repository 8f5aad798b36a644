// Reference kernels: what every op of the IR computes, in plain loops over row-major arrays.
// Clarity over speed: compiled code is checked against these.

import NNCIR
import RealModule

// Sizes multiply with `&*`: every shape here passed the verifier's 2^48 cap, so a product
// without a 0 cannot wrap, and one with a 0 (`[2^48, 2^48, 0]`) is 0 however it wraps on the
// way: x &* 0 == 0.

/// Row-major index arithmetic.
enum Index {
  /// The flat index into `source` (broadcast to `target` NumPy style) of each element of `target`.
  static func broadcast(from source: [Int], to target: [Int]) -> [Int] {
    let n = target.reduce(1, &*)
    let tStrides = ShapeMath.strides(target)
    let sStrides = ShapeMath.strides(source)
    let offset = target.count - source.count
    var out = [Int](repeating: 0, count: n)
    for i in 0..<n {
      var src = 0
      for k in 0..<source.count where source[k] != 1 {
        let coord = (i / tStrides[k + offset]) % target[k + offset]
        src += coord * sStrides[k]
      }
      out[i] = src
    }
    return out
  }

  /// The coordinates of flat index `i` in `shape`.
  static func coords(_ i: Int, _ shape: [Int], _ strides: [Int]) -> [Int] {
    (0..<shape.count).map { (i / strides[$0]) % shape[$0] }
  }
}

/// Errors the kernels can meet at run time (everything else the verifier has ruled out).
public enum KernelError: Error, Equatable, Sendable {
  case unsupported(String)
}

/// The reference semantics of each op on concrete arrays.
public enum Kernels {
  /// Applies a region-free op to concrete operands. `resultTypes` are the op's result types with
  /// symbols already resolved.
  public static func apply(_ op: Op, _ xs: [NDArray], resultShapes: [[Int]]) throws(KernelError) -> [NDArray] {
    let outShape = resultShapes.first ?? []
    // A result with no elements needs no work; the loop nests below could otherwise spin through
    // huge outer extents (a batch of 2^30 matrices of 0 rows).
    // The dtype comes from the op's shape rule (which has no rule for `cond`/`guard`: they fall
    // through to their own error below).
    if outShape.contains(0), let t = (try? op.resultTypes(for: xs.map(\.type)))?.first {
      return [NDArray.zeros(t.dtype, outShape)]
    }
    switch op {
    case .constant(let c):
      return [constant(c, shape: outShape)]
    case .unary(let u):
      return [unary(u, xs[0])]
    case .binary(let b):
      return [binary(b, xs[0], xs[1], outShape)]
    case .compare(let c):
      return [compare(c, xs[0], xs[1], outShape)]
    case .select:
      let ic = Index.broadcast(from: xs[0].shape, to: outShape)
      let ia = Index.broadcast(from: xs[1].shape, to: outShape)
      let ib = Index.broadcast(from: xs[2].shape, to: outShape)
      guard case .bool(let c) = xs[0].storage else { throw .unsupported("select condition must be bool") }
      let n = outShape.reduce(1, &*)
      let a = xs[1].storage.gather(ia)
      let b = xs[2].storage.gather(ib)
      let pick = (0..<n).map { c[ic[$0]] ? $0 : -1 }
      return [NDArray(shape: outShape, storage: merge(a, b, pick))]
    case .cast(let t):
      return [NDArray(shape: xs[0].shape, storage: cast(xs[0].storage, to: t))]
    case .reduce(let k, let axes, _):
      return [reduce(k, xs[0], axes: axes, outShape: outShape)]
    case .argReduce(let k, let axis, _):
      return [argReduce(k, xs[0], axis: axis, outShape: outShape)]
    case .reshape:
      return [NDArray(shape: outShape, storage: xs[0].storage)]
    case .permute(let perm):
      let x = xs[0]
      let inStrides = ShapeMath.strides(x.shape)
      let outStrides = ShapeMath.strides(outShape)
      let n = outShape.reduce(1, &*)
      let idx = (0..<n).map { i in
        let c = Index.coords(i, outShape, outStrides)
        return (0..<perm.count).reduce(0) { $0 + c[$1] * inStrides[perm[$1]] }
      }
      return [NDArray(shape: outShape, storage: x.storage.gather(idx))]
    case .expand:
      return [NDArray(shape: outShape, storage: xs[0].storage.gather(Index.broadcast(from: xs[0].shape, to: outShape)))]
    case .slice(let start, _, let step):
      let x = xs[0]
      let inStrides = ShapeMath.strides(x.shape)
      let outStrides = ShapeMath.strides(outShape)
      let idx = (0..<outShape.reduce(1, &*)).map { i in
        let c = Index.coords(i, outShape, outStrides)
        return (0..<c.count).reduce(0) { $0 + (start[$1] + c[$1] * step[$1]) * inStrides[$1] }
      }
      return [NDArray(shape: outShape, storage: x.storage.gather(idx))]
    case .pad(let low, _, let value):
      let x = xs[0]
      let inStrides = ShapeMath.strides(x.shape)
      let outStrides = ShapeMath.strides(outShape)
      let idx = (0..<outShape.reduce(1, &*)).map { i -> Int in
        let c = Index.coords(i, outShape, outStrides)
        var src = 0
        for k in 0..<c.count {
          let s = c[k] - low[k]
          if s < 0 || s >= x.shape[k] { return -1 }
          src += s * inStrides[k]
        }
        return src
      }
      return [NDArray(shape: outShape, storage: x.storage.gather(idx, fill: value))]
    case .concat(let axis):
      // Row-major: the output is, for each index of the axes before `axis`, the operands' blocks
      // one after the other.
      let outer = outShape.prefix(axis).reduce(1, &*)
      var pieces: [ArrayStorage] = []
      for o in 0..<outer {
        for x in xs {
          let block = x.shape[axis...].reduce(1, &*)
          pieces.append(x.storage.gather(Array(o * block..<(o + 1) * block)))
        }
      }
      return [NDArray(shape: outShape, storage: .joined(pieces, dtype: xs[0].dtype))]
    case .matmul:
      return [try matmul(xs[0], xs[1], outShape)]
    case .conv2d(let attrs):
      return [try conv2d(xs[0], xs[1], attrs, outShape)]
    case .pool2d(let kind, let attrs):
      return [try pool2d(kind, xs[0], attrs, outShape)]
    case .cond, .guardTrue, .fused:
      throw .unsupported("\(op.mnemonic) is run by the interpreter, not a kernel")
    }
  }

  /// Takes element i from `a` where `pick[i] >= 0`, else from `b`.
  static func merge(_ a: ArrayStorage, _ b: ArrayStorage, _ pick: [Int]) -> ArrayStorage {
    func m<T>(_ x: [T], _ y: [T]) -> [T] { pick.indices.map { pick[$0] >= 0 ? x[$0] : y[$0] } }
    switch (a, b) {
    case (.f32(let x), .f32(let y)): return .f32(m(x, y))
    case (.f64(let x), .f64(let y)): return .f64(m(x, y))
    case (.i32(let x), .i32(let y)): return .i32(m(x, y))
    case (.i64(let x), .i64(let y)): return .i64(m(x, y))
    case (.bool(let x), .bool(let y)): return .bool(m(x, y))
    default: return a
    }
  }

  static func constant(_ c: Constant, shape: [Int]) -> NDArray {
    let n = shape.reduce(1, &*)
    func fill<T>(_ v: [T]) -> [T] { v.count == n ? v : Array(repeating: v[0], count: n) }
    let storage: ArrayStorage
    switch (c.type.dtype, c.data) {
    case (.f32, .floats(let v)): storage = .f32(fill(v.map { Float($0) }))
    case (.f64, .floats(let v)): storage = .f64(fill(v))
    case (.i32, .ints(let v)): storage = .i32(fill(v.map { Int32(truncatingIfNeeded: $0) }))
    case (.i64, .ints(let v)): storage = .i64(fill(v))
    case (.bool, .bools(let v)): storage = .bool(fill(v))
    default: storage = .zeros(c.type.dtype, count: n)
    }
    return NDArray(shape: shape, storage: storage)
  }

  static func unary(_ op: UnaryOp, _ x: NDArray) -> NDArray {
    let s: ArrayStorage
    switch x.storage {
    case .f32(let v): s = .f32(v.map(FloatFunctions.unary(op)))
    case .f64(let v): s = .f64(v.map(FloatFunctions.unary(op)))
    case .i32(let v): s = .i32(v.map(op == .neg ? Int32.negate : Int32.absolute))
    case .i64(let v): s = .i64(v.map(op == .neg ? Int64.negate : Int64.absolute))
    case .bool(let v): s = .bool(v.map { !$0 })
    }
    return NDArray(shape: x.shape, storage: s)
  }

  static func binary(_ op: BinaryOp, _ a: NDArray, _ b: NDArray, _ outShape: [Int]) -> NDArray {
    let ia = Index.broadcast(from: a.shape, to: outShape)
    let ib = Index.broadcast(from: b.shape, to: outShape)
    func z<T>(_ x: [T], _ y: [T], _ f: (T, T) -> T) -> [T] { ia.indices.map { f(x[ia[$0]], y[ib[$0]]) } }
    let s: ArrayStorage
    switch (a.storage, b.storage) {
    case (.f32(let x), .f32(let y)): s = .f32(z(x, y, FloatFunctions.binary(op)))
    case (.f64(let x), .f64(let y)): s = .f64(z(x, y, FloatFunctions.binary(op)))
    case (.i32(let x), .i32(let y)): s = .i32(z(x, y, numericBinary(op)))
    case (.i64(let x), .i64(let y)): s = .i64(z(x, y, numericBinary(op)))
    case (.bool(let x), .bool(let y)): s = .bool(z(x, y, op == .and ? { $0 && $1 } : { $0 || $1 }))
    default: s = .zeros(a.dtype, count: ia.count)
    }
    return NDArray(shape: outShape, storage: s)
  }

  static func compare(_ op: CompareOp, _ a: NDArray, _ b: NDArray, _ outShape: [Int]) -> NDArray {
    let ia = Index.broadcast(from: a.shape, to: outShape)
    let ib = Index.broadcast(from: b.shape, to: outShape)
    func z<T: Comparable>(_ x: [T], _ y: [T]) -> [Bool] {
      let f: (T, T) -> Bool = compareFunction(op)
      return ia.indices.map { f(x[ia[$0]], y[ib[$0]]) }
    }
    let r: [Bool]
    switch (a.storage, b.storage) {
    case (.f32(let x), .f32(let y)): r = z(x, y)
    case (.f64(let x), .f64(let y)): r = z(x, y)
    case (.i32(let x), .i32(let y)): r = z(x, y)
    case (.i64(let x), .i64(let y)): r = z(x, y)
    case (.bool(let x), .bool(let y)):
      r = ia.indices.map { (x[ia[$0]] == y[ib[$0]]) == (op == .eq) }
    default: r = []
    }
    return NDArray(shape: outShape, storage: .bool(r))
  }

  /// Elements converted the way the IR's `cast` does.
  public static func cast(_ s: ArrayStorage, to t: DType) -> ArrayStorage {
    func fromDoubles(_ d: [Double]) -> ArrayStorage {
      switch t {
      case .f32: return .f32(d.map { Float($0) })
      case .f64: return .f64(d)
      case .i32: return .i32(d.map { Int32(clamping: saturatingInt64($0)) })
      case .i64: return .i64(d.map(saturatingInt64))
      case .bool: return .bool(d.map { $0 != 0 })
      }
    }
    func fromInts(_ v: [Int64]) -> ArrayStorage {
      switch t {
      case .f32: return .f32(v.map { Float($0) })
      case .f64: return .f64(v.map { Double($0) })
      case .i32: return .i32(v.map { Int32(truncatingIfNeeded: $0) })
      case .i64: return .i64(v)
      case .bool: return .bool(v.map { $0 != 0 })
      }
    }
    switch s {
    case .f32(let v): return t == .f32 ? s : fromDoubles(v.map { Double($0) })
    case .f64(let v): return fromDoubles(v)
    case .i32(let v): return fromInts(v.map { Int64($0) })
    case .i64(let v): return fromInts(v)
    case .bool(let v): return fromInts(v.map { $0 ? 1 : 0 })
    }
  }

  static func reduce(_ k: ReduceOp, _ x: NDArray, axes: [Int], outShape: [Int]) -> NDArray {
    // Output slot of each input element: its coordinates with the reduced axes dropped.
    let inStrides = ShapeMath.strides(x.shape)
    let kept = (0..<x.shape.count).filter { !axes.contains($0) }
    let keptShape = kept.map { x.shape[$0] }
    let keptStrides = ShapeMath.strides(keptShape)
    let n = keptShape.reduce(1, &*)
    let slot = (0..<x.count).map { i -> Int in
      let c = Index.coords(i, x.shape, inStrides)
      return kept.indices.reduce(0) { $0 + c[kept[$1]] * keptStrides[$1] }
    }
    func r<T: NumericElement>(_ v: [T]) -> [T] {
      let (initial, combine): (T, (T, T) -> T) =
        switch k {
        case .sum: (T.zero, T.add)
        case .max: (T.lowest, T.ieeeMaximum)
        case .min: (T.highest, T.ieeeMinimum)
        }
      var out = [T](repeating: initial, count: n)
      for i in v.indices { out[slot[i]] = combine(out[slot[i]], v[i]) }
      return out
    }
    // Float sums follow SummationOrder (the order every lowering uses).
    func floatSum<T: NumericElement & BinaryFloatingPoint>(_ v: [T]) -> [T] {
      let terms = axes.reduce(1) { $0 &* x.shape[$1] }
      if terms == 0 { return [T](repeating: 0, count: n) }
      let rank = x.shape.count
      let lanes = rank > 0 && axes.contains(rank - 1) ? SummationOrder.lanes : 1
      var partial = [T](repeating: -0.0, count: n * lanes)
      let last = rank > 0 ? x.shape[rank - 1] : 1
      for i in v.indices {
        let lane = lanes == 1 ? 0 : (i % last) % lanes
        partial[slot[i] * lanes + lane] += v[i]
      }
      if lanes == 1 { return partial }
      return (0..<n).map { SummationOrder.combine(Array(partial[$0 * lanes..<($0 + 1) * lanes])) }
    }
    let s: ArrayStorage
    switch x.storage {
    case .f32(let v): s = .f32(k == .sum ? floatSum(v) : r(v))
    case .f64(let v): s = .f64(k == .sum ? floatSum(v) : r(v))
    case .i32(let v): s = .i32(r(v))
    case .i64(let v): s = .i64(r(v))
    case .bool: s = .zeros(.bool, count: n)
    }
    return NDArray(shape: outShape, storage: s)
  }

  static func argReduce(_ k: ArgReduceOp, _ x: NDArray, axis: Int, outShape: [Int]) -> NDArray {
    let outer = x.shape[..<axis].reduce(1, &*)
    let len = x.shape[axis]
    let inner = x.shape[(axis + 1)...].reduce(1, &*)
    func r<T: NumericElement>(_ v: [T]) -> [Int64] {
      var out = [Int64](repeating: 0, count: outer * inner)
      for o in 0..<outer {
        for i in 0..<inner {
          var best = 0
          for j in 1..<max(len, 1) {
            let a = v[(o * len + j) * inner + i]
            let b = v[(o * len + best) * inner + i]
            // The first NaN wins (NumPy, PyTorch); ties keep the first index.
            if b != b { break }
            if a != a || (k == .argmax ? a > b : a < b) { best = j }
          }
          out[o * inner + i] = Int64(best)
        }
      }
      return out
    }
    let s: [Int64]
    switch x.storage {
    case .f32(let v): s = r(v)
    case .f64(let v): s = r(v)
    case .i32(let v): s = r(v)
    case .i64(let v): s = r(v)
    case .bool: s = []
    }
    return NDArray(shape: outShape, storage: .i64(s))
  }

  static func matmul(_ a: NDArray, _ b: NDArray, _ outShape: [Int]) throws(KernelError) -> NDArray {
    let (m, k, n) = (a.shape[a.shape.count - 2], a.shape[a.shape.count - 1], b.shape[b.shape.count - 1])
    let batchShape = Array(outShape.dropLast(2))
    let ia = Index.broadcast(from: Array(a.shape.dropLast(2)), to: batchShape)
    let ib = Index.broadcast(from: Array(b.shape.dropLast(2)), to: batchShape)
    func mm<T: NumericElement>(_ x: [T], _ y: [T]) -> [T] {
      var out = [T](repeating: T.zero, count: ia.count * m * n)
      for batch in ia.indices {
        let (xa, yb, o) = (ia[batch] * m * k, ib[batch] * k * n, batch * m * n)
        for i in 0..<m {
          for j in 0..<n {
            var acc = T.zero
            for p in 0..<k { acc = T.add(acc, T.mul(x[xa + i * k + p], y[yb + p * n + j])) }
            out[o + i * n + j] = acc
          }
        }
      }
      return out
    }
    switch (a.storage, b.storage) {
    case (.f32(let x), .f32(let y)): return NDArray(shape: outShape, storage: .f32(mm(x, y)))
    case (.f64(let x), .f64(let y)): return NDArray(shape: outShape, storage: .f64(mm(x, y)))
    case (.i32(let x), .i32(let y)): return NDArray(shape: outShape, storage: .i32(mm(x, y)))
    case (.i64(let x), .i64(let y)): return NDArray(shape: outShape, storage: .i64(mm(x, y)))
    default: throw .unsupported("matmul of \(a.dtype)")
    }
  }

  static func conv2d(_ x: NDArray, _ w: NDArray, _ p: Conv2DAttrs, _ outShape: [Int]) throws(KernelError) -> NDArray {
    let (nb, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let (oh, ow) = (outShape[2], outShape[3])
    let og = o / p.groups
    func conv<T: NumericElement>(_ xv: [T], _ wv: [T]) -> [T] {
      var out = [T](repeating: T.zero, count: nb * o * oh * ow)
      for b in 0..<nb {
        for oc in 0..<o {
          let g = oc / og
          for y in 0..<oh {
            for xo in 0..<ow {
              var acc = T.zero
              for ic in 0..<cg {
                let cin = g * cg + ic
                for ky in 0..<kh {
                  let iy = y * p.stride[0] - p.padding[0] + ky * p.dilation[0]
                  if iy < 0 || iy >= h { continue }
                  for kx in 0..<kw {
                    let ix = xo * p.stride[1] - p.padding[1] + kx * p.dilation[1]
                    if ix < 0 || ix >= wd { continue }
                    acc = T.add(acc, T.mul(xv[((b * c + cin) * h + iy) * wd + ix], wv[((oc * cg + ic) * kh + ky) * kw + kx]))
                  }
                }
              }
              out[((b * o + oc) * oh + y) * ow + xo] = acc
            }
          }
        }
      }
      return out
    }
    switch (x.storage, w.storage) {
    case (.f32(let a), .f32(let b)): return NDArray(shape: outShape, storage: .f32(conv(a, b)))
    case (.f64(let a), .f64(let b)): return NDArray(shape: outShape, storage: .f64(conv(a, b)))
    default: throw .unsupported("conv2d of \(x.dtype)")
    }
  }

  static func pool2d(_ kind: PoolOp, _ x: NDArray, _ p: Pool2DAttrs, _ outShape: [Int]) throws(KernelError) -> NDArray {
    let (nc, h, wd) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = (outShape[2], outShape[3])
    func pool<T: NumericElement & BinaryFloatingPoint>(_ v: [T]) -> [T] {
      var out = [T](repeating: T.zero, count: nc * oh * ow)
      for plane in 0..<nc {
        for y in 0..<oh {
          for xo in 0..<ow {
            var acc = kind == .max ? T.lowest : T.zero
            for ky in 0..<p.kernel[0] {
              let iy = y * p.stride[0] - p.padding[0] + ky
              if iy < 0 || iy >= h { continue }
              for kx in 0..<p.kernel[1] {
                let ix = xo * p.stride[1] - p.padding[1] + kx
                if ix < 0 || ix >= wd { continue }
                let e = v[(plane * h + iy) * wd + ix]
                acc = kind == .max ? T.ieeeMaximum(acc, e) : acc + e
              }
            }
            out[(plane * oh + y) * ow + xo] = kind == .max ? acc : acc / T(p.kernel[0] * p.kernel[1])
          }
        }
      }
      return out
    }
    switch x.storage {
    case .f32(let v): return NDArray(shape: outShape, storage: .f32(pool(v)))
    case .f64(let v): return NDArray(shape: outShape, storage: .f64(pool(v)))
    default: throw .unsupported("\(kind.rawValue)pool2d of \(x.dtype)")
    }
  }
}
