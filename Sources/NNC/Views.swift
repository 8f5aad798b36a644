// Views (sharing storage), subscripts, in-place writes and reading values out.

import NNCIR
import NNCRuntime

/// One entry of a subscript: `t[1]`, `t[0..<2]`, `t[1...]`, `t[TensorIndex.all, 2]`,
/// `t[.stride(0..<6, by: 2)]`.
public enum TensorIndex {
  /// One position; the axis is removed. Negative counts from the end.
  case at(Int)
  /// Positions `start..<end` stepping by `step` (>= 1); nil bounds mean the whole axis.
  case range(start: Int?, end: Int?, step: Int)
}

/// Things usable inside a tensor subscript.
public protocol TensorIndexConvertible { var tensorIndex: TensorIndex { get } }
extension TensorIndex: TensorIndexConvertible { public var tensorIndex: TensorIndex { self } }
extension Int: TensorIndexConvertible { public var tensorIndex: TensorIndex { .at(self) } }
extension Range: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex { .range(start: lowerBound, end: upperBound, step: 1) }
}
extension ClosedRange: TensorIndexConvertible where Bound == Int {
  /// An upper bound of -1 is the last element: the range runs to the end of the axis.
  public var tensorIndex: TensorIndex {
    .range(start: lowerBound, end: upperBound == -1 || upperBound == Int.max ? nil : upperBound + 1, step: 1)
  }
}
extension PartialRangeFrom: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex { .range(start: lowerBound, end: nil, step: 1) }
}
extension PartialRangeUpTo: TensorIndexConvertible where Bound == Int {
  public var tensorIndex: TensorIndex { .range(start: nil, end: upperBound, step: 1) }
}
extension PartialRangeThrough: TensorIndexConvertible where Bound == Int {
  /// An upper bound of -1 is the last element: the range runs to the end of the axis.
  public var tensorIndex: TensorIndex {
    .range(start: nil, end: upperBound == -1 || upperBound == Int.max ? nil : upperBound + 1, step: 1)
  }
}

extension Tensor {
  /// A tensor on the same storage, one more view step down.
  private func derived(shape: [Int], strides: [Int], offset: Int, step: ViewStep, _ loc: Location?) -> Tensor {
    Tensor(
      storage: storage, shape: shape, strides: strides, offset: offset,
      viewSteps: viewSteps + [LocatedViewStep(step: step, loc: loc)])
  }

  /// Resolves one -1 in `shape` from the element count.
  private func inferShape(_ shape: [Int], _ loc: Location, _ what: String) -> [Int]? {
    var s = shape
    let holes = s.indices.filter { s[$0] == -1 }
    if holes.count > 1 || s.contains(where: { $0 < -1 }) {
      misuse("\(what): bad shape \(shape)", loc)
      return nil
    }
    if let h = holes.first {
      // Overflow-checked: a huge shape is a misuse, not a trap.
      guard let known = ShapeMath.elementCount(s.filter { $0 != -1 }), known > 0, count % known == 0 else {
        misuse("\(what): cannot infer -1 in \(shape) for \(count) elements of \(type)", loc)
        return nil
      }
      s[h] = count / known
    }
    guard ShapeMath.elementCount(s) == count else {
      misuse("\(what): shape \(shape) does not hold the \(count) elements of \(type)", loc)
      return nil
    }
    return s
  }

  /// Strides that let a tensor of `newShape` walk this tensor's elements in row-major order
  /// without copying, or nil when no strides can (PyTorch's `computeStride`): dims are taken in
  /// chunks that are contiguous among themselves, and the new dims must split those chunks
  /// exactly. Size-1 dims and empty tensors never stand in the way.
  func viewStrides(_ newShape: [Int]) -> [Int]? {
    if count == 0 || rank == 0 { return shape == newShape ? strides : ShapeMath.strides(newShape) }
    var newStrides = [Int](repeating: 0, count: newShape.count)
    var viewD = newShape.count - 1
    var chunkBaseStride = strides[rank - 1]
    var tensorNumel = 1
    var viewNumel = 1
    for tensorD in stride(from: rank - 1, through: 0, by: -1) {
      tensorNumel *= shape[tensorD]
      let chunkEnds = tensorD == 0 || (shape[tensorD - 1] != 1 && strides[tensorD - 1] != tensorNumel * chunkBaseStride)
      guard chunkEnds else { continue }
      while viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1) {
        newStrides[viewD] = viewNumel * chunkBaseStride
        viewNumel *= newShape[viewD]
        viewD -= 1
      }
      if viewNumel != tensorNumel { return nil }
      if tensorD > 0 {
        chunkBaseStride = strides[tensorD - 1]
        tensorNumel = 1
        viewNumel = 1
      }
    }
    return viewD == -1 ? newStrides : nil
  }

  /// The same elements with another shape, sharing storage, like PyTorch's `view`: one dim may
  /// be -1. Works whenever the new shape can walk the storage with strides (always for a
  /// contiguous or empty tensor; size-1 dims never matter), else a misuse that suggests
  /// `reshape`, which copies.
  public func view(_ shape: [Int], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    guard let s = inferShape(shape, loc, "view") else { return Tensor.placeholder(dtype) }
    guard let st = viewStrides(s) else {
      misuse("view: \(type) with strides \(strides) cannot be viewed as \(s) without a copy; use reshape(), which copies", loc)
      return Tensor.placeholder(dtype, s)
    }
    return derived(shape: s, strides: st, offset: storageOffset, step: .reshape(s), loc)
  }
  /// `view` with the shape as variadic sizes: `a.view(2, 3)`.
  public func view(_ shape: Int..., file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    view(shape, file: file, line: line)
  }

  /// The same elements with another shape, like PyTorch's `reshape`: a view when `view` can
  /// make one, else a copy. One dim may be -1.
  public func reshape(_ shape: [Int], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    guard let s = inferShape(shape, here(file, line), "reshape") else { return Tensor.placeholder(dtype) }
    if viewStrides(s) != nil { return view(s, file: file, line: line) }
    return contiguous(file: file, line: line).view(s, file: file, line: line)
  }
  public func reshape(_ shape: Int..., file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reshape(shape, file: file, line: line)
  }

  /// All elements in one axis.
  public func flattened(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reshape([count], file: file, line: line)
  }

  /// Axes reordered: axis i of the result is axis `perm[i]` of `self`. A view.
  public func permute(_ perm: [Int], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    let p = perm.map { $0 < 0 ? $0 + rank : $0 }
    guard p.count == rank, Set(p) == Set(0..<rank) else {
      misuse("permute: \(perm) is not a permutation of the axes of \(type)", loc)
      return Tensor.placeholder(dtype)
    }
    return derived(shape: p.map { shape[$0] }, strides: p.map { strides[$0] }, offset: storageOffset, step: .permute(p), loc)
  }
  public func permute(_ perm: Int..., file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    permute(perm, file: file, line: line)
  }

  /// Two axes swapped. A view.
  public func transpose(_ a: Int, _ b: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    var p = Array(0..<rank)
    let (x, y) = (a < 0 ? a + rank : a, b < 0 ? b + rank : b)
    guard x >= 0 && x < rank && y >= 0 && y < rank else {
      misuse("transpose: axes \(a), \(b) are out of range for \(type)", here(file, line))
      return Tensor.placeholder(dtype)
    }
    p.swapAt(x, y)
    return permute(p, file: file, line: line)
  }

  /// The transpose of a matrix (`t()` in PyTorch).
  public func t(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    guard rank <= 2 else {
      misuse("t: expects at most 2 dims, got \(type)", here(file, line))
      return Tensor.placeholder(dtype)
    }
    return rank < 2 ? self : transpose(0, 1, file: file, line: line)
  }

  /// A size-1 axis inserted at `axis`. A view.
  public func unsqueeze(_ axis: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let a = axis < 0 ? axis + rank + 1 : axis
    guard a >= 0 && a <= rank else {
      misuse("unsqueeze: axis \(axis) is out of range for \(type)", here(file, line))
      return Tensor.placeholder(dtype)
    }
    var s = shape
    s.insert(1, at: a)
    var st = strides
    st.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
    return derived(shape: s, strides: st, offset: storageOffset, step: .reshape(s), here(file, line))
  }

  /// Size-1 axes removed (only `axis` when given). A view.
  public func squeeze(_ axis: Int? = nil, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let a = axis.map { $0 < 0 ? $0 + rank : $0 }
    if let a, a < 0 || a >= rank {
      misuse("squeeze: axis \(axis ?? 0) is out of range for \(type)", here(file, line))
      return Tensor.placeholder(dtype)
    }
    let keep = shape.indices.filter { i in shape[i] != 1 || (a != nil && a != i) }
    let s = keep.map { shape[$0] }
    return derived(shape: s, strides: keep.map { strides[$0] }, offset: storageOffset, step: .reshape(s), here(file, line))
  }

  /// Broadcast to `shape` without copying (expanded axes have stride 0). Writing into the
  /// result is an error.
  public func expand(_ shape: [Int], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    guard shape.count >= rank else {
      misuse("expand: cannot expand \(type) to fewer dims \(shape)", loc)
      return Tensor.placeholder(dtype)
    }
    guard ShapeMath.elementCount(shape) != nil else {
      misuse("expand: \(shape) has a negative size or more than 2^48 elements", loc)
      return Tensor.placeholder(dtype)
    }
    let lead = shape.count - rank
    var st = [Int](repeating: 0, count: shape.count)
    for k in 0..<rank {
      let target = shape[lead + k]
      if self.shape[k] == target { st[lead + k] = strides[k] } else if self.shape[k] == 1 { st[lead + k] = 0 } else {
        misuse("expand: cannot expand \(type) to \(shape)", loc)
        return Tensor.placeholder(dtype)
      }
    }
    return derived(shape: shape, strides: st, offset: storageOffset, step: .expand(shape), loc)
  }
  public func expand(_ shape: Int..., file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    expand(shape, file: file, line: line)
  }

  /// A dense copy in row-major order (or `self` when already contiguous). Misuse: an expanded
  /// view whose copy would not fit in memory.
  public func contiguous(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    if isContiguous { return self }
    guard checkedAllocation(dtype, shape, "contiguous", here(file, line)) != nil else { return Tensor.placeholder(dtype) }
    let out = Tensor(array: array)
    if let tracer = Tracer.current {
      // The copy's contents are the view's current value.
      let v = tracer.value(of: self)
      tracer.bases[ObjectIdentifier(out.storage)] = (out.storage, v)
    }
    return out
  }

  /// A dense copy that shares nothing with `self`. Misuse: an expanded view whose copy would
  /// not fit in memory.
  public func clone(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    guard checkedAllocation(dtype, shape, "clone", here(file, line)) != nil else { return Tensor.placeholder(dtype) }
    let out = Tensor(array: array)
    if let tracer = Tracer.current {
      tracer.bases[ObjectIdentifier(out.storage)] = (out.storage, tracer.value(of: self))
    }
    return out
  }

  // MARK: - subscripts

  /// The view selected by `indices` (missing trailing axes are taken whole). Integer indices
  /// remove their axis; ranges keep it. Assigning writes into the storage.
  public subscript(_ indices: any TensorIndexConvertible..., file file: StaticString = #fileID, line line: UInt = #line) -> Tensor {
    get { select(indices.map(\.tensorIndex), here(file, line)) }
    set { select(indices.map(\.tensorIndex), here(file, line)).assign(newValue, file: file, line: line) }
  }

  /// Assigns a Swift number to the selected elements: `a[1] = 10`. Reading gives the single
  /// selected element.
  @_disfavoredOverload
  public subscript(_ indices: any TensorIndexConvertible..., file file: StaticString = #fileID, line line: UInt = #line) -> Double {
    get { select(indices.map(\.tensorIndex), here(file, line)).item(as: Double.self, file: file, line: line) }
    set { select(indices.map(\.tensorIndex), here(file, line)).assign(Tensor.weak(newValue, .f32), file: file, line: line) }
  }

  /// Assigns a Swift integer to the selected elements.
  @_disfavoredOverload
  public subscript(_ indices: any TensorIndexConvertible..., file file: StaticString = #fileID, line line: UInt = #line) -> Int {
    get { select(indices.map(\.tensorIndex), here(file, line)).item(as: Int.self, file: file, line: line) }
    set { select(indices.map(\.tensorIndex), here(file, line)).assign(Tensor.weak(newValue, .i64), file: file, line: line) }
  }

  func select(_ indices: [TensorIndex], _ loc: Location) -> Tensor {
    guard indices.count <= rank else {
      misuse("index: \(indices.count) indices for \(type)", loc)
      return Tensor.placeholder(dtype)
    }
    var start = [Int](repeating: 0, count: rank)
    var end = shape
    var step = [Int](repeating: 1, count: rank)
    var drop: [Int] = []
    for (axis, idx) in indices.enumerated() {
      let n = shape[axis]
      switch idx {
      case .at(let i):
        let j = i < 0 ? i + n : i
        guard j >= 0 && j < n else {
          misuse("index \(i) is out of range for axis \(axis) of size \(n) in \(type)", loc)
          return Tensor.placeholder(dtype)
        }
        start[axis] = j
        end[axis] = j + 1
        drop.append(axis)
      case .range(let s, let e, let st):
        guard st >= 1 else {
          misuse("slice step \(st) on axis \(axis) must be at least 1", loc)
          return Tensor.placeholder(dtype)
        }
        // Python-style bounds: negative counts from the end, out-of-range clamps.
        func clamp(_ v: Int?, _ d: Int) -> Int {
          guard let v else { return d }
          return Swift.min(Swift.max(v < 0 ? v + n : v, 0), n)
        }
        start[axis] = clamp(s, 0)
        end[axis] = Swift.max(clamp(e, n), start[axis])
        step[axis] = st
      }
    }
    let sliced: Tensor
    if start == Array(repeating: 0, count: rank) && end == shape && step.allSatisfy({ $0 == 1 }) {
      sliced = self
    } else {
      var newShape: [Int] = []
      var offset = storageOffset
      for k in 0..<rank {
        // ceil(span / step), written so a huge step cannot overflow.
        let span: Int = end[k] - start[k]
        newShape.append(span == 0 ? 0 : (span - 1) / step[k] + 1)
        offset += start[k] * strides[k]
      }
      // An axis of one element never steps (and stride * a huge step would overflow).
      sliced = derived(
        shape: newShape, strides: (0..<rank).map { newShape[$0] > 1 ? strides[$0] * step[$0] : strides[$0] }, offset: offset,
        step: .slice(start: start, end: end, step: step), loc)
    }
    if drop.isEmpty { return sliced }
    let keep = (0..<rank).filter { !drop.contains($0) }
    let s = keep.map { sliced.shape[$0] }
    return Tensor(
      storage: storage, shape: s, strides: keep.map { sliced.strides[$0] }, offset: sliced.storageOffset,
      viewSteps: sliced.viewSteps + [LocatedViewStep(step: .reshape(s), loc: loc)])
  }

  // MARK: - in-place writes

  /// Writes `value` (broadcast to this shape, converted to this dtype) into the elements of
  /// this tensor, in its storage: every view of the storage sees the change.
  public func assign(_ value: Tensor, file: StaticString = #fileID, line: UInt = #line) {
    assign(value, at: here(file, line))
  }

  func assign(_ value: Tensor, at loc: Location?) {
    if zip(shape, strides).contains(where: { $0 > 1 && $1 == 0 }) {
      misuse("cannot write into an expanded tensor \(type): several elements share one memory location", loc)
      return
    }
    let v = value.converted(dtype, loc).broadcast(to: shape, loc)
    guard v.shape == shape else { return }
    let idx = storageIndices()
    var data = storage.data
    let src = v.array.storage
    func write<T>(_ dst: inout [T], _ s: [T]) { for (k, i) in idx.enumerated() { dst[i] = s[k] } }
    switch (data, src) {
    case (.f32(var d), .f32(let s)): write(&d, s); data = .f32(d)
    case (.f64(var d), .f64(let s)): write(&d, s); data = .f64(d)
    case (.i32(var d), .i32(let s)): write(&d, s); data = .i32(d)
    case (.i64(var d), .i64(let s)): write(&d, s); data = .i64(d)
    case (.bool(var d), .bool(let s)): write(&d, s); data = .bool(d)
    default: return
    }
    let tracer = Tracer.current
    let newValue = tracer.map { $0.value(of: v) }
    // The storage's value before the write, so a captured tensor's constant holds the old data.
    _ = tracer?.baseValue(storage)
    storage.data = data
    storage.version += 1
    if let tracer, let newValue { tracer.recordWrite(self, newValue, loc) }
  }

  /// Sets every element to `value`.
  public func fill(_ value: Double, file: StaticString = #fileID, line: UInt = #line) {
    assign(Tensor.weak(value, dtype), file: file, line: line)
  }

  /// `self` broadcast to `shape` as a fresh value (recorded as `expand` in traces).
  func broadcast(to target: [Int], _ loc: Location?) -> Tensor {
    if shape == target { return self }
    return Tensor.apply(.expand(shape: target.map(Dim.int)), [self], loc)
  }

  // MARK: - reading values

  /// The single element of a one-element tensor as a `Float` (rounded to the nearest Float for
  /// i64 and f64 tensors: use `item(as:)` or a typed `item()` for exact values). In a trace,
  /// reading a value records a guard that the value is what it was, so the graph states which
  /// data it is valid for. Misuse: a tensor with other than one element.
  public func item(file: StaticString = #fileID, line: UInt = #line) -> Float {
    item(as: Float.self, file: file, line: line)
  }

  /// The single element as a Bool (non-zero is true), for Swift `if`:
  /// `if (t.sum() .> 0).item() { ... }`.
  @_disfavoredOverload
  public func item(file: StaticString = #fileID, line: UInt = #line) -> Bool {
    item(as: Bool.self, file: file, line: line)
  }

  /// The single element as the Swift type the context asks for: `let n: Int64 = t.item()`.
  /// PyTorch's `item()` returns a Python number of the tensor's kind; here the caller picks the
  /// type, and the value is converted as `to(_:)` converts (exact when `T` holds the tensor's
  /// dtype: `Int64` for i64, `Double` for f64; integers never go through Double).
  public func item<T: TensorScalar>(file: StaticString = #fileID, line: UInt = #line) -> T {
    item(as: T.self, file: file, line: line)
  }

  /// The single element as `T`: `t.item(as: Int64.self)`. Exact when `T` holds the tensor's
  /// dtype; otherwise converted as `to(_:)` converts (float to integer truncates and saturates,
  /// integers wrap to narrower ones), never through Double. Records a guard in traces.
  /// Misuse: a tensor with other than one element.
  public func item<T: TensorScalar>(as: T.Type, file: StaticString = #fileID, line: UInt = #line) -> T {
    guard let one = itemValue(here(file, line)) else { return T.element(ArrayStorage.zeros(T.dtype, count: 1), 0) }
    return T.element(one, 0)
  }

  /// The storage of the single element (nil after a misuse), recording a guard when tracing.
  private func itemValue(_ loc: Location) -> ArrayStorage? {
    guard count == 1 else {
      misuse("item: \(type) has \(count) elements, not 1", loc)
      return nil
    }
    let a = array
    let value = a.storage.double(0)
    if let tracer = Tracer.current {
      let v = tracer.value(of: self)
      let scalar = rank == 0 ? v : (tracer.emit(.reshape(shape: []), [v], loc).first ?? v)
      let pred: Value
      let message: String
      if dtype == .bool {
        pred = value != 0 ? scalar : (tracer.emit(.unary(.not), [scalar], loc).first ?? scalar)
        message = "branch condition was \(value != 0) when traced"
      } else if value.isNaN {
        // NaN equals nothing, itself included: the guard is that the value is NaN again.
        pred = tracer.emit(.compare(.ne), [scalar, scalar], loc).first ?? scalar
        message = "value was \(Tracer.constant(NDArray(shape: [], storage: a.storage)).literal) when traced"
      } else {
        let c = tracer.emit(.constant(Tracer.constant(NDArray(shape: [], storage: a.storage))), [], loc).first ?? scalar
        pred = tracer.emit(.compare(.eq), [scalar, c], loc).first ?? scalar
        message = "value was \(Tracer.constant(NDArray(shape: [], storage: a.storage)).literal) when traced"
      }
      _ = tracer.emit(.guardTrue(message: message), [pred], loc)
    }
    return a.storage
  }

  /// All elements, row-major, converted to `T` as `item(as:)` converts (exact when `T` holds
  /// the tensor's dtype). Unlike `item()`, records no guard in traces. Misuse: an expanded view
  /// whose elements would not fit in memory (the result is then empty).
  public func scalars<T: TensorScalar>(as: T.Type = T.self, file: StaticString = #fileID, line: UInt = #line) -> [T] {
    guard checkedAllocation(dtype, shape, "scalars", here(file, line)) != nil else { return [] }
    return T.elements(array.storage)
  }
}

extension TensorIndexConvertible where Self == TensorIndex {
  /// The whole axis: `t[.all, 1]`.
  public static var all: TensorIndex { .range(start: nil, end: nil, step: 1) }
  /// A strided range: `t[.stride(0..<6, by: 2)]`.
  public static func stride(_ r: Range<Int>, by step: Int) -> TensorIndex {
    .range(start: r.lowerBound, end: r.upperBound, step: step)
  }
  /// `start...` with a step: `t[.stride(from: 1, by: 2)]`.
  public static func stride(from start: Int, by step: Int) -> TensorIndex { .range(start: start, end: nil, step: step) }
}
