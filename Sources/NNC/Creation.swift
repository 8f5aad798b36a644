// Making tensors: from Swift arrays and literals, filled, ranges, identity, and random.

import Foundation
import NNCIR
import NNCRuntime

/// The element count of `shape`, or nil (after reporting a misuse) when a size is negative or
/// the count passes 2^48.
func checkedCount(_ shape: [Int], _ what: String, _ loc: Location) -> Int? {
  guard let n = ShapeMath.elementCount(shape) else {
    misuse("\(what): bad shape \(shape) (sizes must be >= 0 and hold at most 2^48 elements)", loc)
    return nil
  }
  return n
}

extension Tensor {
  /// A tensor of `shape` holding `values` row-major.
  public convenience init<T: TensorScalar>(_ values: [T], shape: [Int], file: StaticString = #fileID, line: UInt = #line) {
    let n = shape.reduce(1, *)
    if shape.contains(where: { $0 < 0 }) || n != values.count {
      misuse("Tensor(_:shape:): \(values.count) values do not fill shape \(shape)", here(file, line))
      self.init(array: NDArray.zeros(T.dtype, shape.contains(where: { $0 < 0 }) ? [0] : shape))
      return
    }
    self.init(array: NDArray(shape: shape, storage: T.storage(values)))
  }

  /// A 1-d tensor: `Tensor([1.0, 2.0, 3.0] as [Float])`.
  public convenience init<T: TensorScalar>(_ values: [T]) {
    self.init(array: NDArray(shape: [values.count], storage: T.storage(values)))
  }

  /// A 2-d tensor from nested arrays; every row must have the same length.
  public convenience init<T: TensorScalar>(_ rows: [[T]], file: StaticString = #fileID, line: UInt = #line) {
    let cols = rows.first?.count ?? 0
    if rows.contains(where: { $0.count != cols }) {
      misuse("Tensor(_:): rows have different lengths \(rows.map(\.count))", here(file, line))
    }
    self.init(rows.flatMap { $0.count == cols ? $0 : Array(repeating: $0.first ?? rows[0][0], count: cols) }, shape: [rows.count, cols], file: file, line: line)
  }

  /// A 3-d tensor from nested arrays.
  public convenience init<T: TensorScalar>(_ planes: [[[T]]], file: StaticString = #fileID, line: UInt = #line) {
    let rows = planes.first?.count ?? 0
    let cols = planes.first?.first?.count ?? 0
    let ok = planes.allSatisfy { $0.count == rows && $0.allSatisfy { $0.count == cols } }
    if !ok { misuse("Tensor(_:): nested arrays are ragged", here(file, line)) }
    let flat = planes.flatMap { $0.flatMap { $0 } }
    self.init(ok ? flat : Array(repeating: flat[0], count: planes.count * rows * cols), shape: [planes.count, rows, cols], file: file, line: line)
  }

  /// A 0-d tensor holding `value`.
  public convenience init<T: TensorScalar>(scalar value: T) {
    self.init(array: NDArray(shape: [], storage: T.storage([value])))
  }

  /// `shape` filled with `value`, of `dtype`.
  public static func full(
    _ shape: [Int], _ value: Double, dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    guard checkedCount(shape, "full", here(file, line)) != nil else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let one = Kernels.cast(.f64([value]), to: dtype)
    return Tensor(array: NDArray(shape: shape, storage: one.gather(Array(repeating: 0, count: shape.reduce(1, *)))))
  }

  /// Zeros of `shape`.
  public static func zeros(_ shape: [Int], dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    full(shape, 0, dtype: dtype, file: file, line: line)
  }
  /// Ones of `shape`.
  public static func ones(_ shape: [Int], dtype: DType = .f32, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    full(shape, 1, dtype: dtype, file: file, line: line)
  }

  /// `0, 1, ..., end-1` as i64, like `torch.arange(end)`.
  public static func arange(_ end: Int) -> Tensor { arange(0, end) }

  /// `start, start+step, ...` below `end`, as i64.
  public static func arange(_ start: Int, _ end: Int, step: Int = 1) -> Tensor {
    let values = step > 0 ? Array(stride(from: start, to: end, by: step)) : step < 0 ? Array(stride(from: start, to: end, by: step)) : []
    return Tensor(values.map(Int64.init))
  }

  /// `start, start+step, ...` below `end`, as floats of `dtype` (f32 by default).
  public static func arange(_ start: Double, _ end: Double, step: Double = 1, dtype: DType = .f32) -> Tensor {
    let n = step == 0 ? 0 : Swift.max(0, Int(((end - start) / step).rounded(.up)))
    let values = (0..<n).map { start + Double($0) * step }
    return Tensor(array: NDArray(shape: [n], storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// `count` evenly spaced values from `start` to `end` inclusive.
  public static func linspace(_ start: Double, _ end: Double, count: Int, dtype: DType = .f32) -> Tensor {
    let n = Swift.max(count, 0)
    let step = n > 1 ? (end - start) / Double(n - 1) : 0
    let values = (0..<n).map { i in i == n - 1 && n > 1 ? end : start + Double(i) * step }
    return Tensor(array: NDArray(shape: [n], storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// The `n`x`n` identity (or `n`x`m`).
  public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .f32) -> Tensor {
    let cols = m ?? n
    let values = (0..<(n * cols)).map { ($0 / cols == $0 % cols) ? 1.0 : 0.0 }
    return Tensor(array: NDArray(shape: [n, cols], storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// Standard normal samples drawn from `generator` (the global one by default).
  public static func randn(
    _ shape: [Int], dtype: DType = .f32, generator: RandomGenerator? = nil, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    guard let n = checkedCount(shape, "randn", here(file, line)) else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let values = RandomGenerator.draw(generator) { g in (0..<n).map { _ in g.nextNormal() } }
    return Tensor(array: NDArray(shape: shape, storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// Uniform samples in [0, 1).
  public static func rand(
    _ shape: [Int], dtype: DType = .f32, generator: RandomGenerator? = nil, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    guard let n = checkedCount(shape, "rand", here(file, line)) else { return Tensor(array: NDArray.zeros(dtype, [0])) }
    let values = RandomGenerator.draw(generator) { g in (0..<n).map { _ in g.nextUniform() } }
    return Tensor(array: NDArray(shape: shape, storage: Kernels.cast(.f64(values), to: dtype)))
  }

  /// Integers uniform in `low..<high`, as i64.
  public static func randint(
    _ low: Int, _ high: Int, _ shape: [Int], generator: RandomGenerator? = nil, file: StaticString = #fileID,
    line: UInt = #line
  ) -> Tensor {
    if high <= low {
      misuse("randint: empty range \(low)..<\(high)", here(file, line))
      return Tensor.zeros(shape, dtype: .i64)
    }
    guard checkedCount(shape, "randint", here(file, line)) != nil else { return Tensor(array: NDArray.zeros(.i64, [0])) }
    let n = shape.reduce(1, *)
    let span = UInt64(Swift.max(high - low, 1))
    let values = RandomGenerator.draw(generator) { g in (0..<n).map { _ in Int64(low) + Int64(g.next() % span) } }
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
