// Element types of tensors.

/// The element type of a tensor.
public enum DType: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
  case f32, f64, i32, i64, bool

  /// The spelling used in `.swiftgraph` text.
  public var description: String { rawValue }

  /// True for `f32` and `f64`.
  public var isFloat: Bool { self == .f32 || self == .f64 }
  /// True for `i32` and `i64`.
  public var isInteger: Bool { self == .i32 || self == .i64 }
  /// True for every type that arithmetic applies to (all but `bool`).
  public var isNumeric: Bool { self != .bool }

  /// Size of one element in bytes.
  public var byteSize: Int {
    switch self {
    case .f32, .i32: return 4
    case .f64, .i64: return 8
    case .bool: return 1
    }
  }
}
