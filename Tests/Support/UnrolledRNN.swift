// An Elman RNN cell unrolled over T time steps, as `.swiftgraph` text: the graph whose compile
// time must grow linearly with T (every step repeats the same seven instructions on the same
// types). Used by the compile-time section of nnc-bench and by the codegen tests.

/// The sizes of an unrolled Elman RNN: `h_t = tanh(x_t @ W_ih + h_{t-1} @ W_hh + b)`.
public struct UnrolledRNN: Hashable, Sendable {
  /// Time steps T (each adds seven instructions).
  public var steps: Int
  /// Rows of `x_t` and `h_t`.
  public var batch: Int
  /// Width of `h_t`.
  public var hidden: Int
  /// Width of `x_t`.
  public var input: Int
  /// Whether the batch dim is the symbol `N` in the text (then `batch` is not used): kernels
  /// with loop bounds known only at run time.
  public var symbolicBatch: Bool

  /// An RNN of `steps` steps; the defaults are batch 4, hidden 64, input 32.
  public init(steps: Int, batch: Int = 4, hidden: Int = 64, input: Int = 32, symbolicBatch: Bool = false) {
    precondition(steps >= 1 && batch >= 1 && hidden >= 1 && input >= 1, "UnrolledRNN: sizes must be positive")
    self.steps = steps
    self.batch = batch
    self.hidden = hidden
    self.input = input
    self.symbolicBatch = symbolicBatch
  }

  /// The name of the one function of `text`.
  public static let functionName = "rnn"

  /// Instructions in the function: seven per step (slice, reshape, two matmuls, two adds, tanh).
  public var instructionCount: Int { 7 * steps }

  /// The graph as `.swiftgraph` text: `@rnn(%x: f32[T,B,I], %hinit: f32[B,H], %w_ih: f32[I,H],
  /// %w_hh: f32[H,H], %b: f32[H]) -> f32[B,H]`, returning the last hidden state (B is `N` when
  /// `symbolicBatch`). The weights are inputs (not constants), so every step's instructions have
  /// the same op, attributes and types except the slice that picks `x_t`.
  public var text: String {
    let (t, b, h, i) = (steps, symbolicBatch ? "N" : String(batch), hidden, input)
    var lines = [
      "swiftgraph 1",
      "// An Elman RNN cell unrolled over \(t) steps: h_t = tanh(x_t @ w_ih + h_{t-1} @ w_hh + b).",
      "func @\(Self.functionName)(%x: f32[\(t),\(b),\(i)], %hinit: f32[\(b),\(h)], %w_ih: f32[\(i),\(h)], "
        + "%w_hh: f32[\(h),\(h)], %b: f32[\(h)]) -> f32[\(b),\(h)] {",
    ]
    var previous = "%hinit"
    for s in 0..<t {
      lines += [
        "  %xs\(s) = slice %x start=[\(s),0,0] end=[\(s + 1),\(b),\(i)] : f32[1,\(b),\(i)]",
        "  %x\(s) = reshape %xs\(s) shape=[\(b),\(i)] : f32[\(b),\(i)]",
        "  %a\(s) = matmul %x\(s), %w_ih : f32[\(b),\(h)]",
        "  %r\(s) = matmul \(previous), %w_hh : f32[\(b),\(h)]",
        "  %s\(s) = add %a\(s), %r\(s) : f32[\(b),\(h)]",
        "  %p\(s) = add %s\(s), %b : f32[\(b),\(h)]",
        "  %h\(s) = tanh %p\(s) : f32[\(b),\(h)]",
      ]
      previous = "%h\(s)"
    }
    lines += ["  return \(previous)", "}"]
    return lines.joined(separator: "\n") + "\n"
  }
}
