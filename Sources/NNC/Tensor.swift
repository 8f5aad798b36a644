// The eager tensor: a strided view of a shared storage, PyTorch style. Views share storage;
// in-place writes are seen through every view of the same storage.

import NNCIR
import NNCRuntime

/// The memory behind one or more tensors. Compare with `===` to see whether two tensors share it.
public final class TensorStorage: @unchecked Sendable {
  /// The elements, in the row-major order of `baseShape`.
  public internal(set) var data: ArrayStorage
  /// The shape of the tensor that created this storage; views are described relative to it.
  public let baseShape: [Int]
  /// Bumped by every in-place write, so traced views know to re-read.
  var version = 0

  init(_ data: ArrayStorage, baseShape: [Int]) {
    self.data = data
    self.baseShape = baseShape
  }

  public var count: Int { data.count }
}

/// One step from a storage's base tensor to a view of it; traces replay these as IR ops.
enum ViewStep: Equatable {
  case reshape([Int])
  case permute([Int])
  case slice(start: [Int], end: [Int], step: [Int])
  case expand([Int])
}

/// A view step and the Swift call that made it (`x.t()` at model.swift:12): a trace replays the
/// step lazily, when the view is first used, and gives the op this location, not the use's.
struct LocatedViewStep: Equatable {
  let step: ViewStep
  let loc: Location?
}

/// An n-dimensional array of one dtype. Tensors have reference semantics, like PyTorch's: a view
/// (`view`, `transpose`, subscripts, `expand`, ...) shares storage with its base, and an in-place
/// write (`+=`, `t[i] = v`, `fill`) is visible through every tensor on that storage.
public final class Tensor: @unchecked Sendable {
  public let storage: TensorStorage
  public let shape: [Int]
  /// Elements to skip per step along each axis (0 for an expanded axis).
  public let strides: [Int]
  /// Index of the first element in `storage`.
  public let storageOffset: Int
  /// How this tensor is reached from the storage's base tensor.
  let viewSteps: [LocatedViewStep]
  /// A 0-d tensor made from a Swift scalar: it takes the dtype of the tensor it meets.
  let isWeakScalar: Bool
  /// The trace value last computed for this tensor: (tracer, storage version, value).
  var traceCache: (UInt64, Int, Value)?

  init(
    storage: TensorStorage, shape: [Int], strides: [Int], offset: Int, viewSteps: [LocatedViewStep],
    weakScalar: Bool = false
  ) {
    self.storage = storage
    self.shape = shape
    self.strides = strides
    self.storageOffset = offset
    self.viewSteps = viewSteps
    self.isWeakScalar = weakScalar
  }

  /// A tensor on fresh storage holding `array`'s elements (for example an interpreter result).
  public convenience init(_ array: NDArray) { self.init(array: array) }

  /// A new tensor owning fresh storage that holds `array`.
  convenience init(array: NDArray, weakScalar: Bool = false) {
    self.init(
      storage: TensorStorage(array.storage, baseShape: array.shape), shape: array.shape,
      strides: ShapeMath.strides(array.shape), offset: 0, viewSteps: [], weakScalar: weakScalar)
  }

  public var dtype: DType { storage.data.dtype }
  public var rank: Int { shape.count }
  /// Number of elements.
  public var count: Int { shape.reduce(1, *) }
  /// The IR type of the tensor.
  public var type: TensorType { TensorType(dtype, shape.map(Dim.int)) }

  /// True when the elements are laid out row-major without gaps, from `storageOffset`, as
  /// PyTorch's `is_contiguous()`: strides of size-1 dims do not matter, and an empty tensor is
  /// contiguous.
  public var isContiguous: Bool {
    if shape.contains(0) { return true }
    var expected = 1
    for k in stride(from: rank - 1, through: 0, by: -1) where shape[k] != 1 {
      if strides[k] != expected { return false }
      expected *= shape[k]
    }
    return true
  }

  /// Storage index of every element, row-major.
  func storageIndices() -> [Int] {
    let n = count
    if isContiguous { return Array(storageOffset..<storageOffset + n) }
    let rowMajor = ShapeMath.strides(shape)
    return (0..<n).map { i in
      var s = storageOffset
      for k in 0..<rank { s += ((i / rowMajor[k]) % shape[k]) * strides[k] }
      return s
    }
  }

  /// The elements as a dense row-major array (a copy).
  public var array: NDArray {
    if isContiguous && storageOffset == 0 && count == storage.count {
      return NDArray(shape: shape, storage: storage.data)
    }
    return NDArray(shape: shape, storage: storage.data.gather(storageIndices()))
  }
}

/// Element types a tensor can be made from.
public protocol TensorScalar {
  /// The dtype whose storage holds `Self` exactly (`Double` is `.f64`).
  static var dtype: DType { get }
  /// The dtype a tensor made from Swift values of this type gets when no `dtype:` is given.
  /// It is `dtype` except for `Double`, whose default is `.f32`: Swift's float literals are
  /// Doubles, and PyTorch makes float32 tensors from Python floats (its default dtype).
  static var defaultDType: DType { get }
  /// The values as storage of `dtype`.
  static func storage(_ values: [Self]) -> ArrayStorage
  /// Element `i` of storage that already holds `dtype`.
  static func exactElement(_ storage: ArrayStorage, _ i: Int) -> Self
}

extension TensorScalar {
  public static var defaultDType: DType { dtype }

  /// Element `i` of `storage` converted to Self the way `Tensor.to(_:)` converts (integers
  /// wrap, floats to integers truncate toward zero and saturate, NaN gives 0); integers are
  /// never rounded through Double.
  public static func element(_ storage: ArrayStorage, _ i: Int) -> Self {
    if storage.dtype == dtype { return exactElement(storage, i) }
    return exactElement(Kernels.cast(storage.gather([i]), to: dtype), 0)
  }

  /// Every element of `storage` converted to Self (as `element` converts one).
  static func elements(_ storage: ArrayStorage) -> [Self] {
    let s = storage.dtype == dtype ? storage : Kernels.cast(storage, to: dtype)
    return (0..<s.count).map { exactElement(s, $0) }
  }
}

extension Float: TensorScalar {
  public static var dtype: DType { .f32 }
  public static func storage(_ v: [Float]) -> ArrayStorage { .f32(v) }
  public static func exactElement(_ s: ArrayStorage, _ i: Int) -> Float {
    guard case .f32(let v) = s else { preconditionFailure("Float.exactElement: storage is \(s.dtype)") }
    return v[i]
  }
}
/// Swift `Double` values make f32 tensors unless `dtype: .f64` is given (see `defaultDType`).
extension Double: TensorScalar {
  public static var dtype: DType { .f64 }
  public static var defaultDType: DType { .f32 }
  public static func storage(_ v: [Double]) -> ArrayStorage { .f64(v) }
  public static func exactElement(_ s: ArrayStorage, _ i: Int) -> Double {
    guard case .f64(let v) = s else { preconditionFailure("Double.exactElement: storage is \(s.dtype)") }
    return v[i]
  }
}
extension Int32: TensorScalar {
  public static var dtype: DType { .i32 }
  public static func storage(_ v: [Int32]) -> ArrayStorage { .i32(v) }
  public static func exactElement(_ s: ArrayStorage, _ i: Int) -> Int32 {
    guard case .i32(let v) = s else { preconditionFailure("Int32.exactElement: storage is \(s.dtype)") }
    return v[i]
  }
}
extension Int64: TensorScalar {
  public static var dtype: DType { .i64 }
  public static func storage(_ v: [Int64]) -> ArrayStorage { .i64(v) }
  public static func exactElement(_ s: ArrayStorage, _ i: Int) -> Int64 {
    guard case .i64(let v) = s else { preconditionFailure("Int64.exactElement: storage is \(s.dtype)") }
    return v[i]
  }
}
/// Swift `Int` makes `i64` tensors, as Python ints make int64 tensors in PyTorch.
extension Int: TensorScalar {
  public static var dtype: DType { .i64 }
  public static func storage(_ v: [Int]) -> ArrayStorage { .i64(v.map(Int64.init)) }
  public static func exactElement(_ s: ArrayStorage, _ i: Int) -> Int { Int(Int64.exactElement(s, i)) }
}
extension Bool: TensorScalar {
  public static var dtype: DType { .bool }
  public static func storage(_ v: [Bool]) -> ArrayStorage { .bool(v) }
  public static func exactElement(_ s: ArrayStorage, _ i: Int) -> Bool {
    guard case .bool(let v) = s else { preconditionFailure("Bool.exactElement: storage is \(s.dtype)") }
    return v[i]
  }
}
