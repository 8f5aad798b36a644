// The primitive op set: one enum with typed attributes. No layer is an op of its own: ReLU is
// `max %x, %zero`, a linear layer `matmul` then `add`, a mean `reduce_sum` then `div`; the
// Tensor API's `relu`, `gelu`, `softmax` and `mean` record such primitives when traced.

/// Elementwise unary functions.
public enum UnaryOp: String, CaseIterable, Hashable, Sendable {
  case neg, abs, exp, log, sqrt, rsqrt, tanh, sigmoid, sin, cos, erf, floor, ceil, not

  /// The element types the function accepts; the result has the operand's type.
  public func accepts(_ t: DType) -> Bool {
    switch self {
    case .neg, .abs: return t.isNumeric
    case .not: return t == .bool
    default: return t.isFloat
    }
  }
}

/// Elementwise binary functions on two operands of one dtype.
public enum BinaryOp: String, CaseIterable, Hashable, Sendable {
  case add, sub, mul, div, max, min, pow, and, or

  public func accepts(_ t: DType) -> Bool {
    switch self {
    case .add, .sub, .mul, .div, .max, .min, .pow: return t.isNumeric
    case .and, .or: return t == .bool
    }
  }
}

/// Elementwise comparisons; the result is `bool`.
public enum CompareOp: String, CaseIterable, Hashable, Sendable {
  case eq, ne, lt, le, gt, ge

  public func accepts(_ t: DType) -> Bool {
    switch self {
    case .eq, .ne: return true
    default: return t.isNumeric
    }
  }
}

/// Reductions over a set of axes.
public enum ReduceOp: String, CaseIterable, Hashable, Sendable {
  case sum, max, min
}

/// The one summation order of float `reduce_sum`, which the interpreter and every lowering
/// follow, so compiled and interpreted sums agree bit for bit (docs/swiftgraph.md, "Semantics
/// at the edges"). For each result element, its terms are taken in row-major order of the
/// reduced axes. When the operand's last axis is reduced, term k of a row goes to lane
/// `k % lanes` (k is its index along the last axis); each lane adds its terms in order, starting
/// from -0.0, and the lanes are combined as `((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7))`. Otherwise
/// (the last axis is kept, so the sum vectorizes across results) the terms are added one by one
/// from -0.0. A sum of no terms is +0.0. Integer sums wrap and are exact in any order.
public enum SummationOrder {
  /// Interleaved partial sums per result element when the last axis is reduced.
  public static let lanes = 8

  /// The lanes combined pairwise, halving: lane l with l + 4, then l with l + 2, then 0 with 1.
  @inlinable
  public static func combine<T: FloatingPoint>(_ s: [T]) -> T {
    ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
  }
}

/// Index-of-extreme reductions over one axis, giving `i64`.
public enum ArgReduceOp: String, CaseIterable, Hashable, Sendable {
  case argmax, argmin
}

/// 2-D pooling kinds.
public enum PoolOp: String, CaseIterable, Hashable, Sendable {
  case max, avg
}

/// A scalar attribute exactly as it was written: an integer (`7`), a float (`2.5`, `inf`, `nan`)
/// or a bool (`true`). Integers are kept as `Int64` and never pass through `Double`, so
/// `9007199254740993` stays exact; the value is converted to an operand's dtype only when the
/// graph runs (`int64`, `float32`, `float64`, `bool` below say how).
public enum ScalarValue: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral
{
  /// An integer literal (`7`, `-9223372036854775808`).
  case int(Int64)
  /// A float literal (`2.5`, `-0.0`, `inf`, `nan`).
  case float(Double)
  /// `true` or `false`.
  case bool(Bool)

  /// `7` in Swift source is `.int(7)`.
  public init(integerLiteral value: Int64) { self = .int(value) }
  /// `2.5` in Swift source is `.float(2.5)`.
  public init(floatLiteral value: Double) { self = .float(value) }
  /// `true` in Swift source is `.bool(true)`.
  public init(booleanLiteral value: Bool) { self = .bool(value) }

  /// Floats compare bit for bit, as constants do: `nan` equals itself, `-0.0` differs from
  /// `0.0`. Values of different kinds differ (`1` is not `1.0`).
  public static func == (a: ScalarValue, b: ScalarValue) -> Bool {
    switch (a, b) {
    case (.int(let x), .int(let y)): return x == y
    case (.float(let x), .float(let y)): return x.bitPattern == y.bitPattern
    case (.bool(let x), .bool(let y)): return x == y
    default: return false
    }
  }

  public func hash(into h: inout Hasher) {
    switch self {
    case .int(let v): h.combine(0); h.combine(v)
    case .float(let v): h.combine(1); h.combine(v.bitPattern)
    case .bool(let v): h.combine(2); h.combine(v)
    }
  }

  /// The text form: `-3`, `2.5`, `-0.0`, `inf`, `nan`, `true`.
  public var description: String {
    switch self {
    case .int(let v): return String(v)
    case .float(let v): return formatFloat(v, .f64)
    case .bool(let v): return v ? "true" : "false"
    }
  }

  /// True for `0` and `0.0` (not `-0.0`): the default of `pad`'s value, left out when printing.
  public var isPlainZero: Bool {
    switch self {
    case .int(let v): return v == 0
    case .float(let v): return v == 0 && v.sign == .plus
    case .bool: return false
    }
  }

  /// As an integer: floats truncate toward zero, saturate at the Int64 range, NaN gives 0
  /// (the IR's float-to-int rule); bools are 0 or 1.
  public var int64: Int64 {
    switch self {
    case .int(let v): return v
    case .float(let d): return saturatingInt64(d)
    case .bool(let b): return b ? 1 : 0
    }
  }

  /// As i32: `int64` clamped to the Int32 range.
  public var int32: Int32 { Int32(clamping: int64) }

  /// As f64: integers round once to the nearest Double.
  public var float64: Double {
    switch self {
    case .int(let v): return Double(v)
    case .float(let d): return d
    case .bool(let b): return b ? 1 : 0
    }
  }

  /// As f32: integers and doubles round once to the nearest Float (an integer never goes
  /// through Double first).
  public var float32: Float {
    switch self {
    case .int(let v): return Float(v)
    case .float(let d): return Float(d)
    case .bool(let b): return b ? 1 : 0
    }
  }

  /// As bool: true when not zero (NaN is not zero).
  public var bool: Bool {
    switch self {
    case .int(let v): return v != 0
    case .float(let d): return d != 0
    case .bool(let b): return b
    }
  }

  /// Whether the value converts to `dtype` without losing its meaning: any number for floats;
  /// an integer or an integral float for integers (out-of-range values saturate when run); 0,
  /// 1, `true` or `false` for bool. A bool fits only bool.
  public func fits(_ dtype: DType) -> Bool {
    switch (self, dtype) {
    case (.bool, .bool): return true
    case (.bool, _): return false
    case (_, .f32), (_, .f64): return true
    case (.int(let v), .bool): return v == 0 || v == 1
    case (.int, _): return true
    case (.float(let d), .bool): return d == 0 || d == 1
    case (.float(let d), _): return d.rounded(.towardZero) == d
    }
  }
}

/// Elements of a constant: one value repeated (splat) or one per element, row-major.
public enum ConstantData: Hashable, Sendable {
  case floats([Double])
  case ints([Int64])
  case bools([Bool])

  public var count: Int {
    switch self {
    case .floats(let v): return v.count
    case .ints(let v): return v.count
    case .bools(let v): return v.count
    }
  }

  /// Floats compare bit for bit, as a compiler must: `nan` equals itself (so a parsed graph
  /// equals its printed form) and `-0.0` differs from `0.0` (so CSE cannot merge them).
  /// The synthesized hash stays consistent: equal bit patterns hash equally.
  public static func == (a: ConstantData, b: ConstantData) -> Bool {
    switch (a, b) {
    case (.floats(let x), .floats(let y)): return x.map(\.bitPattern) == y.map(\.bitPattern)
    case (.ints(let x), .ints(let y)): return x == y
    case (.bools(let x), .bools(let y)): return x == y
    case (.floats, _), (.ints, _), (.bools, _): return false
    }
  }
}

/// A literal tensor. `data` holds one element (a splat over the whole shape) or all of them.
/// f32 values are stored already rounded to Float, so printing and parsing round-trip exactly.
public struct Constant: Hashable, Sendable {
  public var type: TensorType
  public var data: ConstantData

  public init(type: TensorType, data: ConstantData) {
    self.type = type
    self.data = data
  }

  /// A scalar float constant of `dtype` (f32 values are rounded to Float).
  public static func scalar(_ value: Double, _ dtype: DType = .f32) -> Constant {
    Constant(type: .scalar(dtype), data: ConstantData.of(value, dtype))
  }

  public var isSplat: Bool {
    data.count == 1 && type.staticShape.map { ShapeMath.elementCount($0) != 1 } ?? true
  }
}

extension ConstantData {
  /// One value of `dtype` made from a Double (ints truncate and clamp to the dtype's range; f32
  /// rounds to Float; bool is != 0).
  public static func of(_ value: Double, _ dtype: DType) -> ConstantData {
    switch dtype {
    case .f32: return .floats([Double(Float(value))])
    case .f64: return .floats([value])
    case .i32:
      let clamped = value.isNaN ? 0 : Swift.max(Swift.min(value, Double(Int32.max)), Double(Int32.min))
      return .ints([Int64(clamped)])
    case .i64:
      let clamped = value.isNaN ? 0 : Swift.max(Swift.min(value, 9.2e18), -9.2e18)
      return .ints([Int64(clamped)])
    case .bool: return .bools([value != 0])
    }
  }
}

/// Attributes of `conv2d`: each pair is (height, width).
public struct Conv2DAttrs: Hashable, Sendable {
  public var stride: [Int]
  public var padding: [Int]
  public var dilation: [Int]
  public var groups: Int

  public init(stride: [Int] = [1, 1], padding: [Int] = [0, 0], dilation: [Int] = [1, 1], groups: Int = 1) {
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.groups = groups
  }
}

/// Attributes of `maxpool2d` / `avgpool2d`: each pair is (height, width).
public struct Pool2DAttrs: Hashable, Sendable {
  public var kernel: [Int]
  public var stride: [Int]
  public var padding: [Int]

  public init(kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0]) {
    self.kernel = kernel
    self.stride = stride ?? kernel
    self.padding = padding
  }
}

/// Every operation of the IR. Each case carries its attributes, typed.
public enum Op: Hashable, Sendable {
  case constant(Constant)
  case unary(UnaryOp)
  case binary(BinaryOp)
  case compare(CompareOp)
  /// `select %c, %a, %b`: `a` where `c`, else `b`.
  case select
  case cast(to: DType)
  case reduce(ReduceOp, axes: [Int], keepDims: Bool)
  case argReduce(ArgReduceOp, axis: Int, keepDims: Bool)
  case reshape(shape: [Dim])
  case permute(perm: [Int])
  /// NumPy `broadcast_to`.
  case expand(shape: [Dim])
  case slice(start: [Int], end: [Dim], step: [Int])
  /// `value` fills the new elements; it is converted to the operand's dtype when the graph runs.
  case pad(low: [Int], high: [Int], value: ScalarValue)
  case concat(axis: Int)
  case matmul
  case conv2d(Conv2DAttrs)
  case pool2d(PoolOp, Pool2DAttrs)
  /// Two regions (then, else); operand 0 is a `bool[]` predicate.
  case cond
  /// Fails the run when operand 0 (a `bool[]`) is false; no results.
  case guardTrue(message: String)
  /// A fused kernel: one region computing its results from its operands, which are exactly the
  /// outer values the region reads (it reads nothing else). It means what its region means,
  /// op by op; compiled, the region's values live in registers or cache, never in memory.
  /// Made by the `fuse` pass (NNCPasses/Fusion), or written by hand.
  case fused
}

extension Op {
  /// The op with symbols in its attributes (reshape/expand shapes, slice ends, constant types)
  /// replaced by their sizes, for running at known sizes.
  public func resolved(_ b: [String: Int]) -> Op {
    switch self {
    case .constant(var c):
      c.type = c.type.resolved(b)
      return .constant(c)
    case .reshape(let s): return .reshape(shape: s.map { $0.resolved(b) })
    case .expand(let s): return .expand(shape: s.map { $0.resolved(b) })
    case .slice(let start, let end, let step): return .slice(start: start, end: end.map { $0.resolved(b) }, step: step)
    default: return self
    }
  }
}

extension Op {
  /// Synthesized equality (the `pad` value compares bit for bit, like constants).
  public static func == (a: Op, b: Op) -> Bool {
    switch a {
    case .constant(let x): if case .constant(let y) = b { return x == y }
    case .unary(let x): if case .unary(let y) = b { return x == y }
    case .binary(let x): if case .binary(let y) = b { return x == y }
    case .compare(let x): if case .compare(let y) = b { return x == y }
    case .select: if case .select = b { return true }
    case .cast(let x): if case .cast(let y) = b { return x == y }
    case .reduce(let k, let ax, let kd):
      if case .reduce(let k2, let ax2, let kd2) = b { return k == k2 && ax == ax2 && kd == kd2 }
    case .argReduce(let k, let ax, let kd):
      if case .argReduce(let k2, let ax2, let kd2) = b { return k == k2 && ax == ax2 && kd == kd2 }
    case .reshape(let x): if case .reshape(let y) = b { return x == y }
    case .permute(let x): if case .permute(let y) = b { return x == y }
    case .expand(let x): if case .expand(let y) = b { return x == y }
    case .slice(let s, let e, let st):
      if case .slice(let s2, let e2, let st2) = b { return s == s2 && e == e2 && st == st2 }
    case .pad(let lo, let hi, let v):
      if case .pad(let lo2, let hi2, let v2) = b { return lo == lo2 && hi == hi2 && v == v2 }
    case .concat(let x): if case .concat(let y) = b { return x == y }
    case .matmul: if case .matmul = b { return true }
    case .conv2d(let x): if case .conv2d(let y) = b { return x == y }
    case .pool2d(let k, let x): if case .pool2d(let k2, let y) = b { return k == k2 && x == y }
    case .cond: if case .cond = b { return true }
    case .guardTrue(let x): if case .guardTrue(let y) = b { return x == y }
    case .fused: if case .fused = b { return true }
    }
    return false
  }
}

/// Float to integer conversion as the IR defines it (`cast`, pad values): truncation toward
/// zero, NaN to 0, and out-of-range values clamped to the Int64 range. 2^63 is the first Double
/// past `Int64.max`, so the comparisons are exact.
public func saturatingInt64(_ d: Double) -> Int64 {
  if d.isNaN { return 0 }
  if d >= 0x1p63 { return .max }
  if d < -0x1p63 { return .min }
  return Int64(d.rounded(.towardZero))
}
