// Comparing arrays within a tolerance: computed results against expected ones (NumPy
// fixtures, the reference interpreter).

import NNCRuntime

/// nil when `actual` matches `expected` (same dtype and shape; NaN matches NaN; infinities exact;
/// |a - e| <= atol + rtol * |e| otherwise), else what differs.
public func mismatch(_ actual: NDArray, _ expected: NDArray, rtol: Double, atol: Double) -> String? {
  guard actual.dtype == expected.dtype, actual.shape == expected.shape else {
    return "got \(actual.type), expected \(expected.type)"
  }
  for i in 0..<expected.count {
    let (a, e) = (actual.storage.double(i), expected.storage.double(i))
    if a.isNaN && e.isNaN { continue }
    if a == e { continue }
    if e.isInfinite || a.isInfinite || !(abs(a - e) <= atol + rtol * abs(e)) {
      return "element \(i): got \(a), expected \(e)"
    }
  }
  return nil
}
