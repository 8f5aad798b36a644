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

/// nil when `actual` equals `expected` under the project's comparison of compiled and
/// interpreted results (docs/swiftgraph.md, "Semantics at the edges"), the one `nnc run --check`
/// uses (`ExactComparison`): same dtype and shape; integers and bools exactly (never through
/// Double); floats bit for bit, except that any NaN equals any NaN. +0.0 and -0.0 differ.
public func exactMismatch(_ actual: NDArray, _ expected: NDArray) -> String? {
  guard actual.type == expected.type else { return "got \(actual.type), expected \(expected.type)" }
  guard let i = ExactComparison.firstDifference(actual, expected) else { return nil }
  return "element \(i): got \(ExactComparison.element(actual, i)), expected \(ExactComparison.element(expected, i))"
}

/// `exactMismatch` over a function's results: nil when there are as many as expected and each
/// equals its expected one, else the first difference (`result K: ...`).
public func exactMismatch(_ actual: [NDArray], _ expected: [NDArray]) -> String? {
  guard actual.count == expected.count else { return "\(actual.count) results, expected \(expected.count)" }
  for (k, (x, y)) in zip(actual, expected).enumerated() {
    if let m = exactMismatch(x, y) { return "result \(k): \(m)" }
  }
  return nil
}
