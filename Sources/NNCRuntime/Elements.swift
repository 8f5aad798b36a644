// Element arithmetic shared by the reference kernels: what each scalar function means per dtype.
// Integer arithmetic wraps; integer division truncates toward zero and gives 0 for x / 0;
// integer pow wraps, and a negative exponent gives the truncated rational result.

#if canImport(Glibc)
  import Glibc
#endif
import NNCIR
import RealModule

/// libm's `pow`, which the compiled code calls: RealModule's `pow` returns NaN for every
/// negative base and for 0^0, where libm (and NumPy) give (-2)^2 = 4 and x^0 = 1.
protocol LibmPow {
  static func libmPow(_ x: Self, _ y: Self) -> Self
}
extension Float: LibmPow {
  static func libmPow(_ x: Float, _ y: Float) -> Float { Glibc.powf(x, y) }
}
extension Double: LibmPow {
  static func libmPow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
}

/// Arithmetic the kernels need from every numeric element type.
protocol NumericElement: Comparable {
  static var zero: Self { get }
  static var one: Self { get }
  /// Identity of max (smallest value) and of min (largest value).
  static var lowest: Self { get }
  static var highest: Self { get }
  static func add(_ a: Self, _ b: Self) -> Self
  static func sub(_ a: Self, _ b: Self) -> Self
  static func mul(_ a: Self, _ b: Self) -> Self
  static func div(_ a: Self, _ b: Self) -> Self
  /// IEEE 754-2019 `maximum`/`minimum` for floats (NaN propagates, -0.0 < +0.0); plain max/min
  /// for integers. (Not named `maximum`: FloatingPoint's own `maximum` is the older maxNum,
  /// which drops NaN, and a generic caller could pick it.)
  static func ieeeMaximum(_ a: Self, _ b: Self) -> Self
  static func ieeeMinimum(_ a: Self, _ b: Self) -> Self
  static func negate(_ a: Self) -> Self
  static func absolute(_ a: Self) -> Self
  /// `a ** b`: libm's `pow` for floats; for integers see the integer extension.
  static func power(_ a: Self, _ b: Self) -> Self
}

extension NumericElement where Self: BinaryFloatingPoint {
  static var zero: Self { 0 }
  static var one: Self { 1 }
  static var lowest: Self { -.infinity }
  static var highest: Self { .infinity }
  static func add(_ a: Self, _ b: Self) -> Self { a + b }
  static func sub(_ a: Self, _ b: Self) -> Self { a - b }
  static func mul(_ a: Self, _ b: Self) -> Self { a * b }
  static func div(_ a: Self, _ b: Self) -> Self { a / b }
  /// IEEE 754-2019 `maximum`: NaN if either operand is NaN (the default quiet NaN: NaN sign
  /// and payload are unspecified by the IR), and +0.0 is greater than -0.0. Equal operands are
  /// merged bitwise (AND clears the sign unless both are -0.0), which the lowering mirrors.
  static func ieeeMaximum(_ a: Self, _ b: Self) -> Self {
    if a.isNaN || b.isNaN { return .nan }
    if a > b { return a }
    if b > a { return b }
    return Self(sign: a.sign == .minus && b.sign == .minus ? .minus : .plus, exponent: 0, significand: a.magnitude)
  }
  /// IEEE 754-2019 `minimum`: NaN if either operand is NaN, and -0.0 is less than +0.0.
  static func ieeeMinimum(_ a: Self, _ b: Self) -> Self {
    if a.isNaN || b.isNaN { return .nan }
    if a < b { return a }
    if b < a { return b }
    return Self(sign: a.sign == .minus || b.sign == .minus ? .minus : .plus, exponent: 0, significand: a.magnitude)
  }
  static func negate(_ a: Self) -> Self { -a }
  static func absolute(_ a: Self) -> Self { Swift.abs(a) }
}

extension NumericElement where Self: FixedWidthInteger & SignedInteger {
  static var zero: Self { 0 }
  static var one: Self { 1 }
  static var lowest: Self { .min }
  static var highest: Self { .max }
  static func add(_ a: Self, _ b: Self) -> Self { a &+ b }
  static func sub(_ a: Self, _ b: Self) -> Self { a &- b }
  static func mul(_ a: Self, _ b: Self) -> Self { a &* b }
  static func div(_ a: Self, _ b: Self) -> Self { b == 0 ? 0 : a.dividedReportingOverflow(by: b).partialValue }
  static func ieeeMaximum(_ a: Self, _ b: Self) -> Self { Swift.max(a, b) }
  static func ieeeMinimum(_ a: Self, _ b: Self) -> Self { Swift.min(a, b) }
  static func negate(_ a: Self) -> Self { 0 &- a }
  static func absolute(_ a: Self) -> Self { a < 0 ? 0 &- a : a }
  /// Integer power (PyTorch's integer `pow`): square-and-multiply with wrapping products, so
  /// `0 ** 0 = 1`; a negative exponent gives the truncated value of the rational result: 1 for
  /// base 1, -1 or 1 for base -1 (odd or even exponent), 0 otherwise.
  static func power(_ a: Self, _ b: Self) -> Self {
    if b < 0 { return a == 1 ? 1 : a == -1 ? (b & 1 == 0 ? 1 : -1) : 0 }
    var result: Self = 1
    var base = a
    var e = b
    while e != 0 {
      if e & 1 != 0 { result = result &* base }
      base = base &* base
      e >>= 1
    }
    return result
  }
}

extension Float: NumericElement {
  static func power(_ a: Float, _ b: Float) -> Float { libmPow(a, b) }
}
extension Double: NumericElement {
  static func power(_ a: Double, _ b: Double) -> Double { libmPow(a, b) }
}
extension Int32: NumericElement {}
extension Int64: NumericElement {}

/// Floating-point element functions.
enum FloatFunctions {
  static func unary<T: Real & BinaryFloatingPoint>(_ op: UnaryOp) -> (T) -> T {
    // f32 transcendentals: the approximations the compiled code shares (NNCIR/VectorMath.swift).
    if T.self == Float.self, VectorMath.computes(op) {
      let m = ScalarMath()
      let f: (Float) -> Float = { VectorMath.unary(op, m, $0)! }
      return f as! (T) -> T
    }
    switch op {
    case .neg: return { -$0 }
    case .abs: return { Swift.abs($0) }
    case .exp: return { T.exp($0) }
    case .log: return { T.log($0) }
    case .sqrt: return { T.sqrt($0) }
    case .rsqrt: return { 1 / T.sqrt($0) }
    case .tanh: return { T.tanh($0) }
    case .sigmoid:
      // 1/(1+exp(-x)) for x >= 0 and e/(1+e), e = exp(x), for x < 0: exp never overflows (the
      // old 1/(1+exp(-x)) gave 0 for x < -88.7 in f32, where the result is subnormal), and
      // (x >= 0 ? 1 : e)/(1+e) with e = exp(-|x|) is both in one libm call. -0 gives 0.5,
      // -inf gives +0, NaN gives NaN. The lowering does the same operations in the same order.
      return { x in
        let e = T.exp(-Swift.abs(x))
        return (x >= 0 ? 1 : e) / (1 + e)
      }
    case .sin: return { T.sin($0) }
    case .cos: return { T.cos($0) }
    case .erf: return { T.erf($0) }
    case .floor: return { $0.rounded(.down) }
    case .ceil: return { $0.rounded(.up) }
    case .not: return { $0 }  // rejected by the verifier for floats
    }
  }

  static func binary<T: Real & BinaryFloatingPoint & NumericElement & LibmPow>(_ op: BinaryOp) -> (T, T) -> T {
    switch op {
    case .pow: return { T.libmPow($0, $1) }
    default: return numericBinary(op)
    }
  }
}

func numericBinary<T: NumericElement>(_ op: BinaryOp) -> (T, T) -> T {
  switch op {
  case .add: return T.add
  case .sub: return T.sub
  case .mul: return T.mul
  case .div: return T.div
  case .max: return T.ieeeMaximum
  case .min: return T.ieeeMinimum
  case .pow: return T.power
  case .and, .or: return { a, _ in a }  // rejected by the verifier for these types
  }
}

func compareFunction<T: Comparable>(_ op: CompareOp) -> (T, T) -> Bool {
  switch op {
  case .eq: return (==)
  case .ne: return (!=)
  case .lt: return (<)
  case .le: return (<=)
  case .gt: return (>)
  case .ge: return (>=)
  }
}

