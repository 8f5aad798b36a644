// Accuracy of the unary float functions over their whole range, against the correctly rounded
// values mpmath computed (Tests/Fixtures/unary_reference.json, made by
// tools/fixtures/gen_unary_reference.py): zeros, infinities, NaN, subnormals, overflow and
// underflow thresholds, saturation points, huge arguments of sin and cos, and a few hundred
// log-uniform random values per function and dtype.
//
// For every function and dtype: the interpreter and the compiled code agree bit for bit (NaN
// matching any NaN), special results (±0, ±inf, NaN) are exact, and every other result is
// within the function's bound in ulps (the distance in representable numbers). The bounds are
// the figures docs/swiftgraph.md states ("Accuracy of unary functions"): for f32 transcendentals
// those of nnc's own approximations (NNCIR/VectorMath.swift), for f64 glibc's libm on x86-64.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// Tests/Fixtures/unary_reference.json: per function and dtype, input and correctly rounded
/// output bit patterns (hex).
struct UnaryReferenceFile: Decodable {
  struct Case: Decodable, CustomStringConvertible {
    var function: String
    var dtype: String
    var values: [[String]]
    var description: String { "\(function) \(dtype)" }
  }
  var cases: [Case]

  static let file: UnaryReferenceFile = {
    let url = packageRoot.appendingPathComponent("Tests/Fixtures/unary_reference.json")
    return try! JSONDecoder().decode(UnaryReferenceFile.self, from: Data(contentsOf: url))
  }()
}

/// One function `@<function>_<dtype>(%x: dtype[N]) -> dtype[N]` per case, in one graph.
let unaryReferenceGraph: Graph = {
  var text = "swiftgraph 1\n"
  for c in UnaryReferenceFile.file.cases {
    text += """
      func @\(c.function)_\(c.dtype)(%x: \(c.dtype)[N]) -> \(c.dtype)[N] {
        %0 = \(c.function) %x : \(c.dtype)[N]
        return %0
      }

      """
  }
  return try! loadGraph(text, file: "unary_reference")
}()

/// Compiled once for the suite.
let unaryReferenceEntries: Result<[String: CompiledEntry], Error> = Result { try compileAndLoad(unaryReferenceGraph) }

/// An element's bit pattern widened to 64 bits, with its format's layout.
struct FloatBits {
  var bits: UInt64
  var is32: Bool

  var signBit: UInt64 { is32 ? 1 << 31 : 1 << 63 }
  var infinity: UInt64 { is32 ? 0x7f80_0000 : 0x7ff0_0000_0000_0000 }
  var magnitude: UInt64 { bits & ~signBit }
  var isNaN: Bool { magnitude > infinity }
  var isInfinite: Bool { magnitude == infinity }
  var isZero: Bool { magnitude == 0 }
  var isSpecial: Bool { isNaN || isInfinite || isZero }
  /// The position among the floats counted from zero (negative below it; ±0 are both 0).
  var ordinal: Int64 { bits & signBit != 0 ? -Int64(magnitude) : Int64(magnitude) }

  var text: String {
    let v = is32 ? Double(Float(bitPattern: UInt32(bits))) : Double(bitPattern: bits)
    return "\(v) (0x\(String(bits, radix: 16)))"
  }

  /// The error of `self` against the correctly rounded `reference`, in ulps: nil when a special
  /// value is involved and they differ (NaN matches any NaN; zeros and infinities are exact).
  func ulps(from reference: FloatBits) -> UInt64? {
    if reference.isNaN || isNaN { return reference.isNaN && isNaN ? 0 : nil }
    if reference.isSpecial || isSpecial { return bits == reference.bits ? 0 : nil }
    return (ordinal - reference.ordinal).magnitude
  }
}

extension NDArray {
  /// The elements' bit patterns.
  var bitPatterns: [FloatBits] {
    switch storage {
    case .f32(let v): return v.map { FloatBits(bits: UInt64($0.bitPattern), is32: true) }
    case .f64(let v): return v.map { FloatBits(bits: $0.bitPattern, is32: false) }
    default: return []
    }
  }
}

@Suite struct UnaryAccuracyTests {
  /// The largest error allowed, in ulps, per function: (f32, f64). Zeros, infinities and NaN
  /// must be exact whatever the bound. neg, abs, floor, ceil and sqrt are exact (IEEE 754);
  /// rsqrt is two correctly rounded operations, 1/sqrt(x) (< 1.5 ulps from the exact value, so
  /// at most 1 from the correctly rounded one); f64 libm functions have the maximum errors glibc
  /// documents for x86-64 (libm-test-ulps: exp, log, sin, cos, erf 1; tanh 2), and the f32
  /// approximations the bounds docs/swiftgraph.md derives (exp, log 1 as measured; sin, cos,
  /// erf 1 from their f64 evaluation rounded once; tanh 2); sigmoid is
  /// (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|): exp's error plus two roundings (< 2.5 ulps
  /// from the exact value, at most 2 from the correctly rounded one).
  static let bounds: [String: (f32: UInt64, f64: UInt64)] = [
    "neg": (0, 0), "abs": (0, 0), "floor": (0, 0), "ceil": (0, 0), "sqrt": (0, 0),
    "rsqrt": (1, 1),
    "exp": (1, 1), "log": (1, 1), "sin": (1, 1), "cos": (1, 1), "erf": (1, 1),
    "tanh": (2, 2),
    "sigmoid": (2, 2),
  ]

  /// Single inputs allowed a larger error than their function's bound, as measured:
  /// "function dtype input-bits" -> ulps.
  static let exceptions: [String: UInt64] = [
    // 6381956970095103 * 2^797, the f64 closest to a multiple of pi/2 (Kahan and McDonald):
    // cos is 4.7e-19 there, and glibc's argument reduction keeps too few bits of it.
    "cos f64 7506ac5b262ca1ff": 8
  ]

  /// Every exception names an input of the fixture (none is left over from an older one).
  @Test func exceptionsAreFixtureInputs() {
    let keys = Set(
      UnaryReferenceFile.file.cases.flatMap { c in c.values.map { "\(c.function) \(c.dtype) \($0[0])" } })
    for key in Self.exceptions.keys { #expect(keys.contains(key), "\(key)") }
  }

  @Test(arguments: UnaryReferenceFile.file.cases.indices)
  func matchesCorrectlyRoundedReference(_ k: Int) throws {
    let entries = try unaryReferenceEntries.get()
    let c = UnaryReferenceFile.file.cases[k]
    let is32 = c.dtype == "f32"
    let f = unaryReferenceGraph.functions[k]
    #expect(f.name == "\(c.function)_\(c.dtype)")
    let inputs = c.values.map { FloatBits(bits: UInt64($0[0], radix: 16)!, is32: is32) }
    let reference = c.values.map { FloatBits(bits: UInt64($0[1], radix: 16)!, is32: is32) }
    let x =
      is32
      ? NDArray(inputs.map { Float(bitPattern: UInt32($0.bits)) }, shape: [inputs.count])
      : NDArray(inputs.map { Double(bitPattern: $0.bits) }, shape: [inputs.count])
    let interpreted = try Interpreter.run(f, [x])[0].bitPatterns
    let compiled = try entries[f.name]!.run([x])[0].bitPatterns
    try #require(interpreted.count == inputs.count && compiled.count == inputs.count)

    let bound = is32 ? Self.bounds[c.function]!.f32 : Self.bounds[c.function]!.f64
    var worst: (ulps: UInt64, at: Int)? = nil
    for i in inputs.indices {
      let (a, b, r) = (interpreted[i], compiled[i], reference[i])
      #expect(
        a.bits == b.bits || (a.isNaN && b.isNaN),
        "\(c): \(inputs[i].text): interpreter \(a.text), compiled \(b.text)")
      let allowed = Self.exceptions["\(c.function) \(c.dtype) \(c.values[i][0])"] ?? bound
      for (path, y) in [("interpreter", a), ("compiled", b)] {
        guard let e = y.ulps(from: r) else {
          Issue.record("\(c): \(inputs[i].text): \(path) gave \(y.text), expected exactly \(r.text)")
          continue
        }
        #expect(
          e <= allowed,
          "\(c): \(inputs[i].text): \(path) gave \(y.text), correctly rounded \(r.text): \(e) ulps > \(allowed)")
        if e > (worst?.ulps ?? 0) { worst = (e, i) }
      }
    }
    if ProcessInfo.processInfo.environment["NNC_PRINT_ULPS"] != nil {
      let w = worst.map { "\($0.ulps) ulps at \(inputs[$0.at].text)" } ?? "0 ulps"
      print("ULPS \(c.function) \(c.dtype) \(c.values.count) values: max \(w)")
    }
  }
}
