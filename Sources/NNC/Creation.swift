// Making tensors: from Swift arrays and literals, filled, ranges, identity, and random.

import Foundation
import NNCIR
import NNCRuntime

extension Tensor {
  /// `values` as storage of `dtype` (the Swift type's default dtype when nil).
  static func storage<T: TensorScalar>(_ values: [T], _ dtype: DType?) -> ArrayStorage {
    let s = T.storage(values)
    let t = dtype ?? T.defaultDType
    return s.dtype == t ? s : Kernels.cast(s, to: t)
  }

  /// A tensor of `shape` holding `values` row-major, like `torch.tensor(values).view(shape)`.
  /// The dtype is `dtype`, else the Swift type's: `Double` gives f32 (PyTorch's default float
  /// dtype; pass `dtype: .f64` to keep Doubles exactly), `Float` f32, `Int`/`Int64` i64, `Int32`
  /// i32, `Bool` bool. Converting to another dtype works like `to(_:)`.
  /// Misuse: a negative size, or a count of values that does not fill `shape`.
  public convenience init<T: TensorScalar>(
    _ values: [T], shape: [Int], dtype: DType? = nil, file: StaticString = #fileID, line: UInt = #line
  ) {
    let t = dtype ?? T.defaultDType
    let n = ShapeMath.elementCount(shape)
    if n != values.count {
      misuse("Tensor(_:shape:): \(values.count) values do not fill shape \(shape)", here(file, line))
      self.init(array: Tensor.placeholder(t, shape).array)
      return
    }
    self.init(array: NDArray(shape: shape, storage: Tensor.storage(values, t)))
  }

  /// A 1-d tensor, like `torch.tensor([1.0, 2.0])`: `Tensor([1.0, 2.0])` is f32 (PyTorch's
  /// default dtype), `Tensor([1.0, 2.0], dtype: .f64)` keeps the Doubles exactly, `Tensor([1, 2])`
  /// is i64. See `init(_:shape:dtype:)` for the dtype rules.
  public convenience init<T: TensorScalar>(_ values: [T], dtype: DType? = nil) {
    self.init(array: NDArray(shape: [values.count], storage: Tensor.storage(values, dtype)))
  }

  /// A 2-d tensor from nested arrays (dtype as in `init(_:shape:dtype:)`).
  /// Misuse: rows of different lengths.
  public convenience init<T: TensorScalar>(
    _ rows: [[T]], dtype: DType? = nil, file: StaticString = #fileID, line: UInt = #line
  ) {
    let cols = rows.first?.count ?? 0
    if rows.contains(where: { $0.count != cols }) {
      misuse("Tensor(_:): rows have different lengths \(rows.map(\.count))", here(file, line))
      self.init(array: NDArray.zeros(dtype ?? T.defaultDType, [0, cols]))
      return
    }
    self.init(rows.flatMap { $0 }, shape: [rows.count, cols], dtype: dtype, file: file, line: line)
  }

  /// A 3-d tensor from nested arrays (dtype as in `init(_:shape:dtype:)`).
  /// Misuse: ragged nested arrays.
  public convenience init<T: TensorScalar>(
    _ planes: [[[T]]], dtype: DType? = nil, file: StaticString = #fileID, line: UInt = #line
  ) {
    let rows = planes.first?.count ?? 0
    let cols = planes.first?.first?.count ?? 0
    let ok = planes.allSatisfy { $0.count == rows && $0.allSatisfy { $0.count == cols } }
    if !ok {
      misuse("Tensor(_:): nested arrays are ragged", here(file, line))
      self.init(array: NDArray.zeros(dtype ?? T.defaultDType, [0, rows, cols]))
      return
    }
    self.init(planes.flatMap { $0.flatMap { $0 } }, shape: [planes.count, rows, cols], dtype: dtype, file: file, line: line)
  }

  /// A 0-d tensor holding `value`, like `torch.tensor(value)` (a `Double` gives f32 unless
  /// `dtype: .f64`; dtype rules as in `init(_:shape:dtype:)`).
  public convenience init<T: TensorScalar>(scalar value: T, dtype: DType? = nil) {
    self.init(array: NDArray(shape: [], storage: Tensor.storage([value], dtype)))
  }

  /// `shape` filled with `value`, of `dtype` (f32 by default, PyTorch's default dtype for a
  /// float fill value). Misuse: a negative size, or more bytes than the machine's memory.
  public static func full(
    _ shape: [Int], _ value: Double, dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    filled(shape, .f64([value]), dtype, "full", here(file, line))
  }

  /// `shape` filled with the integer `value`, of `dtype` (i64 by default: like `torch.full`,
  /// an integer fill value gives int64). The value is converted exactly, never through Double.
  public static func full(
    _ shape: [Int], _ value: Int, dtype: DType = .i64, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    filled(shape, .i64([Int64(value)]), dtype, "full", here(file, line))
  }

  private static func filled(_ shape: [Int], _ value: ArrayStorage, _ dtype: DType, _ what: String, _ loc: Location) -> Tensor {
    guard let n = checkedAllocation(dtype, shape, what, loc) else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let one = Kernels.cast(value, to: dtype)
    return Tensor(array: NDArray(shape: shape, storage: one.gather(Array(repeating: 0, count: n))))
  }

  /// Zeros of `shape` (f32 by default), like `torch.zeros`. Misuse as for `full`.
  public static func zeros(_ shape: [Int], dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    filled(shape, .i64([0]), dtype, "zeros", here(file, line))
  }
  /// Ones of `shape` (f32 by default), like `torch.ones`. Misuse as for `full`.
  public static func ones(_ shape: [Int], dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    filled(shape, .i64([1]), dtype, "ones", here(file, line))
  }

  /// `0, 1, ..., end-1` as i64, like `torch.arange(end)`.
  public static func arange(_ end: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    arange(0, end, file: file, line: line)
  }

  /// `start, start+step, ...` below `end` (above it for a negative step), as i64, like
  /// `torch.arange(start, end, step)`. A zero step gives no elements (PyTorch raises).
  /// Misuse: more elements than fit in memory.
  public static func arange(_ start: Int, _ end: Int, step: Int = 1, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    // The element count, computed without overflow: ceil((end - start) / step).
    let span = Int64(end).subtractingReportingOverflow(Int64(start))
    var n = 0
    if step != 0 {
      if span.overflow {
        n = -1
      } else if (span.partialValue > 0) == (step > 0) && span.partialValue != 0 {
        let steps = (span.partialValue.magnitude - 1) / UInt64(step.magnitude)
        n = steps < 1 << 48 ? Int(steps) + 1 : -1
      }
    }
    let loc = here(file, line)
    guard n >= 0 else {
      misuse("arange: \(start)..<\(end) by \(step) has more than 2^48 elements", loc)
      return Tensor(array: NDArray.zeros(.i64, [0]))
    }
    guard checkedAllocation(.i64, [n], "arange", loc) != nil else { return Tensor(array: NDArray.zeros(.i64, [0])) }
    return Tensor(array: NDArray(shape: [n], storage: .i64((0..<n).map { Int64(start) &+ Int64($0) &* Int64(step) })))
  }

  /// `start, start+step, ...` below `end`, as floats of `dtype` (f32 by default, PyTorch's
  /// default dtype). Misuse: more elements than fit in memory (or a non-finite count).
  public static func arange(
    _ start: Double, _ end: Double, step: Double = 1, dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let loc = here(file, line)
    let exact = step == 0 ? 0 : Swift.max(0, ((end - start) / step).rounded(.up))
    guard exact.isFinite, exact < 0x1p48 else {
      misuse("arange: \(start)..<\(end) by \(step) has too many elements", loc)
      return Tensor(array: NDArray.zeros(dtype, [0]))
    }
    let n = Int(exact)
    guard checkedAllocation(dtype, [n], "arange", loc) != nil else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let values = (0..<n).map { start + Double($0) * step }
    return Tensor(array: NDArray(shape: [n], storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// `count` evenly spaced values from `start` to `end` inclusive, of `dtype` (f32 by default),
  /// like `torch.linspace`. Misuse: more elements than fit in memory.
  public static func linspace(
    _ start: Double, _ end: Double, count: Int, dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let n = Swift.max(count, 0)
    guard checkedAllocation(dtype, [n], "linspace", here(file, line)) != nil else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let step = n > 1 ? (end - start) / Double(n - 1) : 0
    let values = (0..<n).map { i in i == n - 1 && n > 1 ? end : start + Double(i) * step }
    return Tensor(array: NDArray(shape: [n], storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// The `n`x`n` identity (or `n`x`m`), of `dtype` (f32 by default), like `torch.eye`.
  /// Misuse: a negative size, or more bytes than the machine's memory.
  public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let cols = m ?? n
    guard let count = checkedAllocation(dtype, [n, cols], "eye", here(file, line)) else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let values = (0..<count).map { Int64(($0 / cols == $0 % cols) ? 1 : 0) }
    return Tensor(array: NDArray(shape: [n, cols], storage: Kernels.cast(.i64(values), to: dtype)))
  }

  /// Standard normal samples drawn from `generator` (the global one by default), of `dtype`
  /// (f32 by default). Misuse: a negative size, or more bytes than the machine's memory.
  public static func randn(
    _ shape: [Int], dtype: DType = .f32, generator: RandomGenerator? = nil, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    guard let n = checkedAllocation(dtype, shape, "randn", here(file, line)) else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let values = RandomGenerator.draw(generator) { g in (0..<n).map { _ in g.nextNormal() } }
    return Tensor(array: NDArray(shape: shape, storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// Uniform samples in [0, 1), of `dtype` (f32 by default). Misuse as for `randn`.
  public static func rand(
    _ shape: [Int], dtype: DType = .f32, generator: RandomGenerator? = nil, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    guard let n = checkedAllocation(dtype, shape, "rand", here(file, line)) else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let values = RandomGenerator.draw(generator) { g in (0..<n).map { _ in g.nextUniform() } }
    return Tensor(array: NDArray(shape: shape, storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// Integers uniform in `low..<high`, as i64. Misuse: an empty range, a negative size, or more
  /// bytes than the machine's memory.
  public static func randint(
    _ low: Int, _ high: Int, _ shape: [Int], generator: RandomGenerator? = nil, file: StaticString = #fileID,
    line: UInt = #line
  ) -> Tensor {
    if high <= low {
      misuse("randint: empty range \(low)..<\(high)", here(file, line))
      return Tensor(array: NDArray.zeros(.i64, [0]))
    }
    guard let n = checkedAllocation(.i64, shape, "randint", here(file, line)) else { return Tensor(array: NDArray.zeros(.i64, [0])) }
    let span = UInt64(bitPattern: Int64(high) &- Int64(low))
    let values = RandomGenerator.draw(generator) { g in (0..<n).map { _ in Int64(low) &+ Int64(bitPattern: g.next() % span) } }
    return Tensor(array: NDArray(shape: shape, storage: .i64(values)))
  }
}

/// A seedable pseudo-random generator (xoshiro256**, seeded by SplitMix64): the same seed gives
/// the same numbers on every machine.
public final class RandomGenerator: @unchecked Sendable {
  private var s: (UInt64, UInt64, UInt64, UInt64)
  private var spareNormal: Double?

  public init(seed: UInt64) {
    var x = seed
    func splitmix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s = (splitmix(), splitmix(), splitmix(), splitmix())
  }

  public func next() -> UInt64 {
    func rotl(_ v: UInt64, _ k: UInt64) -> UInt64 { (v << k) | (v >> (64 - k)) }
    let result = rotl(s.1 &* 5, 7) &* 9
    let t = s.1 << 17
    s.2 ^= s.0
    s.3 ^= s.1
    s.1 ^= s.2
    s.0 ^= s.3
    s.2 ^= t
    s.3 = rotl(s.3, 45)
    return result
  }

  /// Uniform in [0, 1) with 53 random bits.
  public func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// Standard normal by the Box-Muller transform.
  public func nextNormal() -> Double {
    if let z = spareNormal {
      spareNormal = nil
      return z
    }
    var u = nextUniform()
    while u == 0 { u = nextUniform() }
    let v = nextUniform()
    let r = (-2 * Foundation.log(u)).squareRoot()
    spareNormal = r * Foundation.sin(2 * .pi * v)
    return r * Foundation.cos(2 * .pi * v)
  }

  private static let globalLock = NSLock()
  nonisolated(unsafe) private static var global = RandomGenerator(seed: 0)

  /// Reseeds the global generator, like `torch.manual_seed`.
  public static func manualSeed(_ seed: UInt64) {
    globalLock.withLock { global = RandomGenerator(seed: seed) }
  }

  static func draw<R>(_ g: RandomGenerator?, _ body: (RandomGenerator) -> R) -> R {
    if let g { return body(g) }
    return globalLock.withLock { body(global) }
  }
}
