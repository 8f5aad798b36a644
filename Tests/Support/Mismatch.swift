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
/// interpreted results (docs/swiftgraph.md, "Semantics at the edges"): same dtype and shape;
/// integers and bools exactly (never through Double); floats bit for bit, except that any NaN
/// equals any NaN (NaN sign and payload are unspecified). +0.0 and -0.0 differ.
public func exactMismatch(_ actual: NDArray, _ expected: NDArray) -> String? {
  guard actual.dtype == expected.dtype, actual.shape == expected.shape else {
    return "got \(actual.type), expected \(expected.type)"
  }
  func first<T>(_ a: [T], _ e: [T], _ same: (T, T) -> Bool) -> String? {
    guard let i = a.indices.first(where: { !same(a[$0], e[$0]) }) else { return nil }
    return "element \(i): got \(a[i]), expected \(e[i])"
  }
  switch (actual.storage, expected.storage) {
  case (.f32(let a), .f32(let e)): return first(a, e) { ($0.isNaN && $1.isNaN) || $0.bitPattern == $1.bitPattern }
  case (.f64(let a), .f64(let e)): return first(a, e) { ($0.isNaN && $1.isNaN) || $0.bitPattern == $1.bitPattern }
  case (.i32(let a), .i32(let e)): return first(a, e, ==)
  case (.i64(let a), .i64(let e)): return first(a, e, ==)
  case (.bool(let a), .bool(let e)): return first(a, e, ==)
  default: return "got \(actual.type), expected \(expected.type)"
  }
}
