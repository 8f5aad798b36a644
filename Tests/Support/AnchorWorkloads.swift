// The elementwise and normalization workloads of the anchor benchmarks (numpy's
// `bench_numpy.py` and `bench_extra.py`: ew_chain, gelu_tanh, softmax_rows, layernorm, axpy) as
// `.swiftgraph` text built from the IR's primitives, one op per step of the numpy formula and
// in its order, so the graph rounds where numpy rounds. Used by nnc-bench (section 8) and by the
// tests that check the graphs against the formulas.

/// One anchor workload. `size` is the element count of the flat workloads (ew_chain, gelu_tanh,
/// axpy: f32[size]) and the row count of the row workloads (softmax_rows, layernorm:
/// f32[size, width]).
public enum AnchorWorkload: String, CaseIterable, Sendable {
  /// `tanh(x * 1.5 + 0.5) * (1 / (1 + exp(-x))) - x / 3`
  case ewChain = "ew_chain"
  /// `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x * x * x)))`
  case geluTanh = "gelu_tanh"
  /// `exp(x - max_row(x)) / sum_row(exp(x - max_row(x)))`
  case softmaxRows = "softmax_rows"
  /// `(x - mu) / sqrt(var + 1e-5) * w + b`, mean and biased variance over the last axis
  case layernorm
  /// `1.5 * x + y`
  case axpy

  /// The formula, as numpy writes it.
  public var formula: String {
    switch self {
    case .ewChain: return "tanh(x*1.5 + 0.5) * (1/(1 + exp(-x))) - x/3"
    case .geluTanh: return "0.5*x * (1 + tanh(sqrt(2/pi) * (x + 0.044715*x*x*x)))"
    case .softmaxRows: return "e = exp(x - max(x, -1)); e / sum(e, -1)"
    case .layernorm: return "xc = x - mean(x, -1); xc / sqrt(mean(xc*xc, -1) + 1e-5) * w + b"
    case .axpy: return "a*x + y, a = 1.5"
    }
  }

  /// Whether `size` counts rows of `rowWidth` (softmax_rows, layernorm) rather than elements.
  public var isRows: Bool { self == .softmaxRows || self == .layernorm }

  /// The width of a row of the row workloads (the anchors' 4096x1024).
  public static let rowWidth = 1024
  /// The scalar `a` of axpy (`bench_extra.py`).
  public static let axpyScale: Float = 1.5
  /// `F32(sqrt(2 / pi))` of gelu_tanh.
  public static let geluC = Float((2 / Double.pi).squareRoot())
  /// The `eps` of layernorm, `F32(1e-5)`.
  public static let layernormEps = Float(1e-5)

  /// The name of the one function of `text(size:)`.
  public var functionName: String { rawValue }

  /// Shapes of the parameters, in order: `[x]`, `[x, y]` for axpy, `[x, w, b]` for layernorm.
  public func parameterShapes(size: Int) -> [[Int]] {
    switch self {
    case .ewChain, .geluTanh: return [[size]]
    case .axpy: return [[size], [size]]
    case .softmaxRows: return [[size, Self.rowWidth]]
    case .layernorm: return [[size, Self.rowWidth], [Self.rowWidth], [Self.rowWidth]]
    }
  }

  /// The shape of the one result (that of `x`).
  public func resultShape(size: Int) -> [Int] { parameterShapes(size: size)[0] }

  /// The graph as `.swiftgraph` text, static shapes.
  public func text(size: Int) -> String {
    precondition(size >= 1, "AnchorWorkload: size must be positive")
    let t = "f32[\(resultShape(size: size).map(String.init).joined(separator: ","))]"
    let w = "f32[\(Self.rowWidth)]"
    let header = "swiftgraph 1\n// \(rawValue): \(formula)\n"
    let body: String
    switch self {
    case .ewChain:
      body = """
        func @ew_chain(%x: \(t)) -> \(t) {
          %c1_5 = const \(lit(1.5)) : f32[]
          %c0_5 = const \(lit(0.5)) : f32[]
          %one = const \(lit(1)) : f32[]
          %three = const \(lit(3)) : f32[]
          %0 = mul %x, %c1_5
          %1 = add %0, %c0_5
          %2 = tanh %1
          %3 = neg %x
          %4 = exp %3
          %5 = add %one, %4
          %6 = div %one, %5
          %7 = mul %2, %6
          %8 = div %x, %three
          %9 = sub %7, %8
          return %9
        }
        """
    case .geluTanh:
      body = """
        func @gelu_tanh(%x: \(t)) -> \(t) {
          %half = const \(lit(0.5)) : f32[]
          %one = const \(lit(1)) : f32[]
          %k = const \(lit(0.044715)) : f32[]
          %c = const \(lit(Self.geluC)) : f32[]
          %0 = mul %half, %x
          %1 = mul %k, %x
          %2 = mul %1, %x
          %3 = mul %2, %x
          %4 = add %x, %3
          %5 = mul %c, %4
          %6 = tanh %5
          %7 = add %one, %6
          %8 = mul %0, %7
          return %8
        }
        """
    case .softmaxRows:
      body = """
        func @softmax_rows(%x: \(t)) -> \(t) {
          %m = reduce_max %x axes=[1] keepdims=true
          %0 = sub %x, %m
          %e = exp %0
          %s = reduce_sum %e axes=[1] keepdims=true
          %1 = div %e, %s
          return %1
        }
        """
    case .layernorm:
      body = """
        func @layernorm(%x: \(t), %w: \(w), %b: \(w)) -> \(t) {
          %n = const \(lit(Float(Self.rowWidth))) : f32[]
          %eps = const \(lit(Self.layernormEps)) : f32[]
          %0 = reduce_sum %x axes=[1] keepdims=true
          %mu = div %0, %n
          %xc = sub %x, %mu
          %1 = mul %xc, %xc
          %2 = reduce_sum %1 axes=[1] keepdims=true
          %var = div %2, %n
          %3 = add %var, %eps
          %sd = sqrt %3
          %4 = div %xc, %sd
          %5 = mul %4, %w
          %6 = add %5, %b
          return %6
        }
        """
    case .axpy:
      body = """
        func @axpy(%x: \(t), %y: \(t)) -> \(t) {
          %a = const \(lit(Self.axpyScale)) : f32[]
          %0 = mul %a, %x
          %1 = add %0, %y
          return %1
        }
        """
    }
    return header + body + "\n"
  }
}

/// An f32 constant as text whose value is exactly `v` (the f64 digits of the f32 value, so no
/// decimal-to-f64-to-f32 double rounding can move it).
private func lit(_ v: Float) -> String { "\(Double(v))" }
