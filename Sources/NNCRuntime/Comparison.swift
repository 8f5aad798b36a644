// Exact comparison of results, as `nnc run --check` does it: compiled code against the reference
// interpreter. Nothing goes through Double, so integers beyond 2^53 compare exactly.

import NNCIR

/// Exact equality of arrays and the message for the first difference.
public enum ExactComparison {
  /// The flat row-major index of the first element where `a` and `b` differ, or nil when they
  /// are equal. Arrays of different dtypes or shapes differ at element 0. Integers and bools
  /// compare by value; floats by bit pattern (so -0.0 differs from 0.0), except that any NaN
  /// equals any NaN (NaN sign and payload are unspecified).
  public static func firstDifference(_ a: NDArray, _ b: NDArray) -> Int? {
    guard a.shape == b.shape else { return 0 }
    switch (a.storage, b.storage) {
    case (.f32(let x), .f32(let y)):
      return x.indices.first { !(x[$0].bitPattern == y[$0].bitPattern || (x[$0].isNaN && y[$0].isNaN)) }
    case (.f64(let x), .f64(let y)):
      return x.indices.first { !(x[$0].bitPattern == y[$0].bitPattern || (x[$0].isNaN && y[$0].isNaN)) }
    case (.i32(let x), .i32(let y)): return x.indices.first { x[$0] != y[$0] }
    case (.i64(let x), .i64(let y)): return x.indices.first { x[$0] != y[$0] }
    case (.bool(let x), .bool(let y)): return x.indices.first { x[$0] != y[$0] }
    default: return 0
    }
  }

  /// Element `i` as the `.swiftgraph` format writes it: `1.0`, `-0.0`, `nan`, `-nan`, `1e+20`,
  /// `-7`, `true`.
  public static func element(_ a: NDArray, _ i: Int) -> String {
    switch a.storage {
    case .f32(let v): return formatFloat(Double(v[i]), .f32)
    case .f64(let v): return formatFloat(v[i], .f64)
    case .i32(let v): return String(v[i])
    case .i64(let v): return String(v[i])
    case .bool(let v): return v[i] ? "true" : "false"
    }
  }

  /// The coordinates of flat row-major index `flat` in `shape`, written `[i, j, k]` (`[]` for a
  /// scalar).
  public static func coordinates(_ flat: Int, _ shape: [Int]) -> String {
    var rest = flat
    var idx = [Int](repeating: 0, count: shape.count)
    for k in stride(from: shape.count - 1, through: 0, by: -1) where shape[k] > 0 {
      idx[k] = rest % shape[k]
      rest /= shape[k]
    }
    return "[" + idx.map(String.init).joined(separator: ", ") + "]"
  }

  /// Nil when `compiled` equals `interpreted` exactly (`firstDifference`); otherwise
  /// `result K differs from the interpreter at [i, j]: compiled X, interpreter Y` (or, for
  /// another type, `result K is T compiled but U in the interpreter`).
  public static func mismatch(result k: Int, compiled: NDArray, interpreted: NDArray) -> String? {
    guard compiled.type == interpreted.type else {
      return "result \(k) is \(compiled.type) compiled but \(interpreted.type) in the interpreter"
    }
    guard let i = firstDifference(compiled, interpreted) else { return nil }
    return "result \(k) differs from the interpreter at \(coordinates(i, interpreted.shape)): compiled "
      + "\(element(compiled, i)), interpreter \(element(interpreted, i))"
  }
}
