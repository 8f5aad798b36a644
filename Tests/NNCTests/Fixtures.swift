// Loads the NumPy-computed op fixtures (Tests/Fixtures/ops.json, made by
// tools/fixtures/gen_op_fixtures.py) and compares arrays within their tolerances.

import Foundation
import NNCIR
import NNCRuntime

/// One fixture: a graph, its inputs, and the outputs NumPy computed.
struct OpFixture: CustomStringConvertible, Sendable {
  var name: String
  var graph: String
  var inputs: [NDArray]
  var outputs: [NDArray]
  var rtol: Double
  var atol: Double
  /// For error cases: the guard message expected.
  var errorMessage: String?
  var description: String { name }
}

enum Fixtures {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// A JSON element: a number, a bool, or one of "inf", "-inf", "nan". Numbers are read as
  /// Double first (decoding "-0.0" as an integer would lose the sign); the generator keeps i64
  /// values below 2^53, where Double is exact.
  enum Element: Decodable {
    case number(Double), integer(Int64), flag(Bool)
    init(from decoder: Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let b = try? c.decode(Bool.self) {
        self = .flag(b)
      } else if let d = try? c.decode(Double.self) {
        self = .number(d)
      } else {
        let s = try c.decode(String.self)
        self = .number(s == "inf" ? .infinity : s == "-inf" ? -.infinity : .nan)
      }
    }
    var double: Double {
      switch self {
      case .number(let d): return d
      case .integer(let i): return Double(i)
      case .flag(let b): return b ? 1 : 0
      }
    }
  }

  struct JSONArray: Decodable {
    var dtype: String
    var shape: [Int]
    var data: [Element]
    var array: NDArray {
      switch DType(rawValue: dtype)! {
      case .f32: return NDArray(data.map { Float($0.double) }, shape: shape)
      case .f64: return NDArray(data.map(\.double), shape: shape)
      case .i32: return NDArray(data.map { Int32($0.double) }, shape: shape)
      case .i64: return NDArray(data.map { if case .integer(let i) = $0 { return i } else { return Int64($0.double) } }, shape: shape)
      case .bool: return NDArray(data.map { $0.double != 0 }, shape: shape)
      }
    }
  }

  struct JSONCase: Decodable {
    var name: String
    var graph: String
    var inputs: [JSONArray]
    var outputs: [JSONArray]?
    var rtol: Double?
    var atol: Double?
    var message: String?
  }

  struct JSONFile: Decodable {
    var cases: [JSONCase]
    var error_cases: [JSONCase]
  }

  static let file: JSONFile = {
    let data = try! Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/ops.json"))
    return try! JSONDecoder().decode(JSONFile.self, from: data)
  }()

  static func convert(_ c: JSONCase) -> OpFixture {
    OpFixture(
      name: c.name, graph: c.graph, inputs: c.inputs.map(\.array), outputs: (c.outputs ?? []).map(\.array),
      rtol: c.rtol ?? 0, atol: c.atol ?? 0, errorMessage: c.message)
  }

  static let cases = file.cases.map(convert)
  static let errorCases = file.error_cases.map(convert)
}

/// nil when `actual` matches `expected` (same dtype and shape; NaN matches NaN; infinities exact;
/// |a - e| <= atol + rtol * |e| otherwise), else what differs.
func mismatch(_ actual: NDArray, _ expected: NDArray, rtol: Double, atol: Double) -> String? {
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
