// Random inputs with IEEE special values and integer extremes mixed in: what the differential
// tests of the optimizer and the differential fuzz target feed both sides of a comparison.

import NNCIR
import NNCRuntime

/// Special floats mixed into inputs: signed zeros, ±1, infinities, NaN, the smallest subnormal,
/// values near and past the f32 range.
public let specialInputFloats: [Double] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, 1e-45, 3.4e38, -3.4e38, 1e300, 0.5]
/// Special integers mixed into inputs: the i32 and i64 extremes among small values.
public let specialInputInts: [Int64] = [0, 1, -1, Int64(Int32.max), Int64(Int32.min), .max, .min, 7]

/// Inputs for `f`: symbols bound to `n`, elements from a SplitMix64 seeded with `seed` (floats in
/// [-2, 2), integers in [-20, 20], bools half true), a fraction `special` of them taken from
/// `specialInputFloats` / `specialInputInts` instead.
public func specialMixInputs(_ f: Function, n: Int, seed: UInt64, special: Double) -> [NDArray] {
  var r = SplitMix64(seed: seed)
  func value() -> Double {
    if r.chance(special) { return r.pick(specialInputFloats) }
    return Double(r.next() % 10_000) / 2_500 - 2  // [-2, 2)
  }
  func int() -> Int64 {
    if r.chance(special) { return r.pick(specialInputInts) }
    return Int64(r.next() % 41) - 20
  }
  return f.parameterTypes.map { t in
    let shape = t.shape.map { $0.value ?? n }
    let count = shape.reduce(1, *)
    switch t.dtype {
    case .f32: return NDArray((0..<count).map { _ in Float(value()) }, shape: shape)
    case .f64: return NDArray((0..<count).map { _ in value() }, shape: shape)
    case .i32: return NDArray((0..<count).map { _ in Int32(truncatingIfNeeded: int()) }, shape: shape)
    case .i64: return NDArray((0..<count).map { _ in int() }, shape: shape)
    case .bool: return NDArray((0..<count).map { _ in r.chance(0.5) }, shape: shape)
    }
  }
}
