// Dense row-major arrays: the buffers the reference interpreter reads and writes.

import NNCIR

/// The elements of an array, one Swift array per dtype.
public enum ArrayStorage: Equatable, Sendable {
  case f32([Float])
  case f64([Double])
  case i32([Int32])
  case i64([Int64])
  case bool([Bool])

  public var dtype: DType {
    switch self {
    case .f32: return .f32
    case .f64: return .f64
    case .i32: return .i32
    case .i64: return .i64
    case .bool: return .bool
    }
  }

  public var count: Int {
    switch self {
    case .f32(let v): return v.count
    case .f64(let v): return v.count
    case .i32(let v): return v.count
    case .i64(let v): return v.count
    case .bool(let v): return v.count
    }
  }

  /// `count` zeros (false for bool).
  public static func zeros(_ dtype: DType, count: Int) -> ArrayStorage {
    switch dtype {
    case .f32: return .f32(Array(repeating: 0, count: count))
    case .f64: return .f64(Array(repeating: 0, count: count))
    case .i32: return .i32(Array(repeating: 0, count: count))
    case .i64: return .i64(Array(repeating: 0, count: count))
    case .bool: return .bool(Array(repeating: false, count: count))
    }
  }

  /// Element `i` as a Double (bool as 0/1); for printing and tests. Lossy for i64 beyond 2^53:
  /// compare and print integers through their own cases (`ExactComparison`) instead.
  public func double(_ i: Int) -> Double {
    switch self {
    case .f32(let v): return Double(v[i])
    case .f64(let v): return v[i]
    case .i32(let v): return Double(v[i])
    case .i64(let v): return Double(v[i])
    case .bool(let v): return v[i] ? 1 : 0
    }
  }

  /// The elements at `indices`; an index of -1 takes `fill`, converted to the dtype as
  /// `ScalarValue` says (integers exactly, saturating at the dtype's range).
  public func gather(_ indices: [Int], fill: ScalarValue = 0) -> ArrayStorage {
    func g<T>(_ v: [T], _ f: T) -> [T] { indices.map { $0 < 0 ? f : v[$0] } }
    switch self {
    case .f32(let v): return .f32(g(v, fill.float32))
    case .f64(let v): return .f64(g(v, fill.float64))
    case .i32(let v): return .i32(g(v, fill.int32))
    case .i64(let v): return .i64(g(v, fill.int64))
    case .bool(let v): return .bool(g(v, fill.bool))
    }
  }

  /// All elements of several storages of one dtype, in order.
  static func joined(_ parts: [ArrayStorage], dtype: DType) -> ArrayStorage {
    var out = ArrayStorage.zeros(dtype, count: 0)
    for p in parts {
      switch (out, p) {
      case (.f32(let a), .f32(let b)): out = .f32(a + b)
      case (.f64(let a), .f64(let b)): out = .f64(a + b)
      case (.i32(let a), .i32(let b)): out = .i32(a + b)
      case (.i64(let a), .i64(let b)): out = .i64(a + b)
      case (.bool(let a), .bool(let b)): out = .bool(a + b)
      default: break
      }
    }
    return out
  }
}

/// A dense, row-major array with a static shape.
public struct NDArray: Equatable, Sendable, CustomStringConvertible {
  public var shape: [Int]
  public var storage: ArrayStorage

  public init(shape: [Int], storage: ArrayStorage) {
    self.shape = shape
    self.storage = storage
  }

  public init(_ values: [Float], shape: [Int]) { self.init(shape: shape, storage: .f32(values)) }
  public init(_ values: [Double], shape: [Int]) { self.init(shape: shape, storage: .f64(values)) }
  public init(_ values: [Int32], shape: [Int]) { self.init(shape: shape, storage: .i32(values)) }
  public init(_ values: [Int64], shape: [Int]) { self.init(shape: shape, storage: .i64(values)) }
  public init(_ values: [Bool], shape: [Int]) { self.init(shape: shape, storage: .bool(values)) }

  public static func zeros(_ dtype: DType, _ shape: [Int]) -> NDArray {
    NDArray(shape: shape, storage: .zeros(dtype, count: shape.reduce(1, &*)))
  }

  public var dtype: DType { storage.dtype }
  public var count: Int { storage.count }
  public var type: TensorType { TensorType(dtype, shape.map(Dim.int)) }

  public var description: String {
    "NDArray(\(type), [" + (0..<min(count, 8)).map { ExactComparison.element(self, $0) }.joined(separator: ", ")
      + (count > 8 ? ", ...])" : "])")
  }
}
