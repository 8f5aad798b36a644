// Tensor types: a dtype and a shape whose dims are integers or named symbols.

/// One dimension of a shape: a known size or a named symbol such as `N`, bound at run time.
public enum Dim: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral,
  ExpressibleByStringLiteral
{
  case int(Int)
  case sym(String)

  public init(integerLiteral value: Int) { self = .int(value) }
  public init(stringLiteral value: String) { self = .sym(value) }

  /// The size when it is known.
  public var value: Int? {
    if case .int(let v) = self { return v }
    return nil
  }

  public var description: String {
    switch self {
    case .int(let v): return String(v)
    case .sym(let s): return s
    }
  }
}

/// The type of every IR value: element type plus shape.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
  public var dtype: DType
  public var shape: [Dim]

  public init(_ dtype: DType, _ shape: [Dim]) {
    self.dtype = dtype
    self.shape = shape
  }

  /// A rank-0 tensor of `dtype`.
  public static func scalar(_ dtype: DType) -> TensorType { TensorType(dtype, []) }

  public var rank: Int { shape.count }

  /// The sizes when every dim is known.
  public var staticShape: [Int]? {
    var out: [Int] = []
    out.reserveCapacity(shape.count)
    for d in shape {
      guard let v = d.value else { return nil }
      out.append(v)
    }
    return out
  }

  /// The symbols the shape mentions, in order of first appearance.
  public var symbols: [String] {
    var seen: [String] = []
    for case .sym(let s) in shape where !seen.contains(s) { seen.append(s) }
    return seen
  }

  /// `f32[N,3]`.
  public var description: String {
    "\(dtype)[" + shape.map(\.description).joined(separator: ",") + "]"
  }

  /// Same dtype, another shape.
  public func with(shape: [Dim]) -> TensorType { TensorType(dtype, shape) }
  /// Same shape, another dtype.
  public func with(dtype: DType) -> TensorType { TensorType(dtype, shape) }
}

/// Element counts, with overflow reported instead of trapping.
public enum ShapeMath {
  /// Largest element count a tensor may have (2^48): keeps byte sizes and index math in range.
  public static let maxElements = 1 << 48

  /// Product of `sizes`, or nil when a size is negative or the product passes `maxElements`.
  /// A 0 anywhere makes the product 0, whatever the order of the sizes.
  public static func elementCount(_ sizes: [Int]) -> Int? {
    guard sizes.allSatisfy({ $0 >= 0 }) else { return nil }
    if sizes.contains(0) { return 0 }
    var n = 1
    for s in sizes {
      guard s >= 0 else { return nil }
      let (p, o) = n.multipliedReportingOverflow(by: s)
      if o || p > maxElements { return nil }
      n = p
    }
    return n
  }

  /// Row-major strides for `sizes`.
  public static func strides(_ sizes: [Int]) -> [Int] {
    var out = [Int](repeating: 1, count: sizes.count)
    var acc = 1
    for i in stride(from: sizes.count - 1, through: 0, by: -1) {
      out[i] = acc
      acc &*= max(sizes[i], 1)
    }
    return out
  }
}

extension Dim {
  /// The dim with a bound symbol replaced by its size.
  public func resolved(_ bindings: [String: Int]) -> Dim {
    if case .sym(let s) = self, let v = bindings[s] { return .int(v) }
    return self
  }
}

extension TensorType {
  /// The type with bound symbols replaced by their sizes.
  public func resolved(_ bindings: [String: Int]) -> TensorType {
    TensorType(dtype, shape.map { $0.resolved(bindings) })
  }
}

extension TensorType {
  /// True when every known dim and the product of the known dims are at most
  /// `ShapeMath.maxElements`: the sizes the parser accepts and shape rules may produce.
  public var isWithinLimits: Bool {
    let known = shape.compactMap(\.value)
    return known.allSatisfy { $0 >= 0 && $0 <= ShapeMath.maxElements } && ShapeMath.elementCount(known) != nil
  }
}
