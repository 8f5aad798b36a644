// Decoding the NumPy-made JSON fixtures (Tests/Fixtures/ops.json from
// tools/fixtures/gen_op_fixtures.py, Tests/Fixtures/tensor_ops.json from
// tools/fixtures/gen_tensor_fixtures.py): their arrays, and the cases of ops.json.

import Foundation
import NNCIR
import NNCRuntime

/// A JSON element: a number, a bool, or one of "inf", "-inf", "nan". Numbers are read as
/// Double first (decoding "-0.0" as an integer would lose the sign); the generators keep i64
/// values below 2^53, where Double is exact.
public enum FixtureElement: Decodable, Sendable {
  /// A number (also inf and nan), an exact integer, or a bool.
  case number(Double), integer(Int64), flag(Bool)

  /// Decodes a bool, a number, or one of the strings "inf", "-inf", "nan" (any other string
  /// reads as NaN).
  public init(from decoder: Decoder) throws {
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

  /// The element as a Double (a flag is 0 or 1).
  public var double: Double {
    switch self {
    case .number(let d): return d
    case .integer(let i): return Double(i)
    case .flag(let b): return b ? 1 : 0
    }
  }
}

/// A JSON array: dtype name, shape, and elements in row-major order.
public struct FixtureArray: Decodable, Sendable {
  /// The dtype's name (`f32`, `f64`, `i32`, `i64`, `bool`).
  public var dtype: String
  /// The shape.
  public var shape: [Int]
  /// The elements, row-major.
  public var data: [FixtureElement]

  /// The array as an NDArray of its dtype.
  public var array: NDArray {
    switch DType(rawValue: dtype)! {
    case .f32: return NDArray(data.map { Float($0.double) }, shape: shape)
    case .f64: return NDArray(data.map(\.double), shape: shape)
    case .i32: return NDArray(data.map { Int32($0.double) }, shape: shape)
    case .i64: return NDArray(data.map { if case .integer(let i) = $0 { return i } else { return Int64($0.double) } }, shape: shape)
    case .bool: return NDArray(data.map { $0.double != 0 }, shape: shape)
    }
  }
}

/// One case of ops.json: a graph, its inputs, and (for a case that succeeds) the outputs NumPy
/// computed with their tolerances, or (for an error case) the guard message expected.
public struct OpFixtureCase: Decodable, Sendable, CustomStringConvertible {
  /// The case's name, unique in the file.
  public var name: String
  /// The graph's text, one function.
  public var graph: String
  /// The inputs, one per parameter.
  public var inputs: [FixtureArray]
  /// The outputs NumPy computed (absent for error cases).
  public var outputs: [FixtureArray]?
  /// The relative tolerance of the outputs (absent: exact).
  public var rtol: Double?
  /// The absolute tolerance of the outputs (absent: exact).
  public var atol: Double?
  /// For error cases: the guard message expected.
  public var message: String?
  /// The case's name.
  public var description: String { name }
}

/// The whole of ops.json: the cases that run, and the cases whose guard fails.
public struct OpFixtureFile: Decodable, Sendable {
  /// The cases that run to completion.
  public var cases: [OpFixtureCase]
  /// The cases whose guard fails.
  public var error_cases: [OpFixtureCase]

  /// Tests/Fixtures/ops.json, decoded; stops the test run if it cannot be read.
  public static let ops: OpFixtureFile = {
    let data = try! Data(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/ops.json"))
    return try! JSONDecoder().decode(OpFixtureFile.self, from: data)
  }()
}
