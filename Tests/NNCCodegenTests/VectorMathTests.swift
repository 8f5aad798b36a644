// The shared f32 approximations (NNCIR/VectorMath.swift) over the whole float range: every
// special value and a strided sweep of all 2^32 bit patterns, in ulps against the correctly
// rounded result, with the interpreter and the compiled code agreeing bit for bit; a loop of
// each function vectorizes without libm calls; and the scalar lowering at width 8 gives the
// width-1 results bit for bit for every unary, binary, compare and cast.

import Foundation
@testable import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The f32 functions VectorMath computes, with their reference (glibc's f64 function, whose
/// result rounded to f32 is the correctly rounded f32 result but in double-rounding cases of
/// probability about 2^-29 per input) and their bound in ulps (docs/swiftgraph.md).
let vectorMathFunctions: [(op: UnaryOp, reference: @Sendable (Double) -> Double, bound: Int64)] = [
  (.exp, { Glibc.exp($0) }, 1),
  (.log, { Glibc.log($0) }, 1),
  (.tanh, { Glibc.tanh($0) }, 2),
  (.sigmoid, { 1 / (1 + Glibc.exp(-$0)) }, 2),
  (.sin, { Glibc.sin($0) }, 1),
  (.cos, { Glibc.cos($0) }, 1),
  (.erf, { Glibc.erf($0) }, 1),
]

/// Special inputs: signed zeros, infinities, NaNs, the extreme subnormals and normals, the
/// thresholds where results overflow, become subnormal, vanish or saturate, with their
/// neighbours, and multiples of pi/2 and huge arguments for sin and cos.
let vectorMathSpecials: [Float] = {
  let centres: [Float] = [
    0, 1, 0.5, 2, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
    Float(bitPattern: 0x007f_ffff), 88.72283935546875, 88.7228317, 87.33654, 103.97208, 104, 149,
    9.010913848876953, 16.63553237915039, 3.919205904006958, 4, 0.625, 0.34657359, Float(bitPattern: 0x0071_6fe2),
    .pi / 2, .pi, 3 * .pi / 2, 120, 119.99999, 1e22, 0x1p100, 12_868_000, 0x1p24, 0x1p31,
  ]
  var values: [Float] = [.infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7fc0_1234)]
  for c in centres {
    for v in [c, c.nextUp, c.nextDown] where v.isFinite { values += [v, -v] }
  }
  return values
}()

/// Every `stride`-th bit pattern (an odd stride visits every low-bit pattern), then the specials.
func sweepInputs(stride: UInt64) -> [Float] {
  Swift.stride(from: 0, to: UInt64(1) << 32, by: Int(stride)).map { Float(bitPattern: UInt32($0)) }
    + vectorMathSpecials
}

/// `%r = OP %x` for each function, compiled once for the suite.
let vectorMathGraph: Graph = {
  var text = "swiftgraph 1\n"
  for (op, _, _) in vectorMathFunctions {
    text += "func @\(op)(%x: f32[N]) -> f32[N] {\n  %0 = \(op) %x : f32[N]\n  return %0\n}\n"
  }
  return try! loadGraph(text, file: "vector_math")
}()

let vectorMathEntries: Result<[String: CompiledEntry], Error> = Result { try compileAndLoad(vectorMathGraph) }

/// The distance in floats between two finite floats of one sign region (±0 count as one).
func ulpDistance(_ a: Float, _ b: Float) -> Int64 {
  func ordinal(_ x: Float) -> Int64 {
    let m = Int64(x.bitPattern & 0x7fff_ffff)
    return x.sign == .minus ? -m : m
  }
  return Swift.abs(ordinal(a) - ordinal(b))
}

@Suite struct VectorMathTests {
  /// Every 65537th bit pattern (65536 inputs, all exponents and signs) keeps each function
  /// within a few seconds in a debug build, where the interpreter runs the approximations one
  /// generic call per primitive. NNC_VECTOR_MATH_STRIDE=1021 sweeps 4.2 million inputs per
  /// function (measured with it: the same maxima).
  static let stride: UInt64 = ProcessInfo.processInfo.environment["NNC_VECTOR_MATH_STRIDE"].flatMap { UInt64($0) } ?? 65537

  @Test(arguments: vectorMathFunctions.indices)
  func sweepWithinBoundAndCompiledEqualsInterpreted(_ k: Int) throws {
    let (op, reference, bound) = vectorMathFunctions[k]
    let inputs = sweepInputs(stride: Self.stride)
    let f = try #require(vectorMathGraph.functions.first { $0.name == "\(op)" })
    let x = NDArray(inputs, shape: [inputs.count])
    guard case .f32(let interpreted) = try Interpreter.run(f, [x])[0].storage,
      case .f32(let compiled) = try vectorMathEntries.get()[f.name]!.run([x])[0].storage
    else { throw CodegenError("not f32") }
    var worst: (ulps: Int64, at: Float) = (0, 0)
    var failures = 0
    for (i, v) in inputs.enumerated() {
      let (a, c) = (interpreted[i], compiled[i])
      if !(a.bitPattern == c.bitPattern || (a.isNaN && c.isNaN)) {
        failures += 1
        if failures <= 5 { Issue.record("\(op)(\(v)): interpreter \(a), compiled \(c)") }
      }
      let r = Float(reference(Double(v)))
      if r.isNaN || a.isNaN || r.isInfinite || a.isInfinite || r == 0 || a == 0 {
        // Specials exact: NaN for NaN, and zeros and infinities with their sign.
        if !(r.isNaN && a.isNaN) && r.bitPattern != a.bitPattern {
          failures += 1
          if failures <= 5 { Issue.record("\(op)(\(v)) = \(a), expected exactly \(r)") }
        }
        continue
      }
      let e = ulpDistance(a, r)
      if e > worst.ulps { worst = (e, v) }
    }
    #expect(worst.ulps <= bound, "\(op): \(worst.ulps) ulps at \(worst.at) (bound \(bound))")
    if ProcessInfo.processInfo.environment["NNC_PRINT_ULPS"] != nil {
      print("ULPS \(op) f32 sweep of \(inputs.count): max \(worst.ulps) at \(worst.at)")
    }
  }

  /// The optimized IR of a loop of each function is vector code without libm calls.
  @Test(arguments: vectorMathFunctions.map(\.op))
  func loopVectorizesWithoutLibm(_ op: UnaryOp) throws {
    let g = try loadGraph(
      "swiftgraph 1\nfunc @f(%x: f32[N]) -> f32[N] {\n  %0 = \(op) %x : f32[N]\n  return %0\n}\n", file: "loop")
    let ir = try #require(try compile(g, options: CompileOptions(emitLLVMIR: true)).llvmIR)
    #expect(ir.contains("<8 x float>") || ir.contains("<16 x float>"), "\(op): no vector code")
    for name in ["expf", "logf", "tanhf", "sinf", "cosf", "erff", "fmaf", "exp", "log", "tanh", "sin", "cos", "erf"] {
      #expect(!ir.contains("@\(name)("), "\(op): calls \(name)")
    }
  }

  /// Exact special values, spelled out.
  @Test func specialValues() throws {
    let m = ScalarMathProbe()
    #expect(m.exp(-.infinity) == 0 && m.exp(.infinity) == .infinity && m.exp(-0.0) == 1)
    #expect(m.exp(88.72283172607422).isFinite && m.exp(88.72283935546875) == .infinity)
    #expect(m.exp(-103.97207641601562) == .leastNonzeroMagnitude && m.exp(-103.97208404541016) == 0)
    #expect(m.exp(-87.5).isSubnormal)
    #expect(m.log(0) == -.infinity && m.log(-0.0) == -.infinity && m.log(-1).isNaN && m.log(.infinity) == .infinity)
    #expect(m.log(1).bitPattern == 0)
    #expect(m.tanh(.infinity) == 1 && m.tanh(-.infinity) == -1 && m.tanh(-0.0).bitPattern == (-0.0 as Float).bitPattern)
    #expect(m.sin(-0.0).bitPattern == (-0.0 as Float).bitPattern && m.sin(.infinity).isNaN && m.cos(-.infinity).isNaN)
    #expect(m.erf(.infinity) == 1 && m.erf(-.infinity) == -1 && m.erf(-0.0).bitPattern == (-0.0 as Float).bitPattern)
    #expect(m.sigmoid(-.infinity) == 0 && m.sigmoid(.infinity) == 1 && m.sigmoid(-0.0) == 0.5)
    for f in [m.exp, m.log, m.tanh, m.sigmoid, m.sin, m.cos, m.erf] { #expect(f(.nan).isNaN) }
  }

  /// Every scalar function lowered at width 8 gives the width-1 results bit for bit (any NaN
  /// equal to any NaN) on special values.
  @Test func widthEightEqualsWidthOne() throws {
    var ops: [LaneOp] = []
    for t in [DType.f32, .f64] {
      ops += UnaryOp.allCases.filter { $0 != .not }.map { .unary($0, t) }
    }
    for t in [DType.i32, .i64] { ops += [.unary(.neg, t), .unary(.abs, t)] }
    ops.append(.unary(.not, .bool))
    for t in [DType.f32, .f64, .i32, .i64] {
      ops += BinaryOp.allCases.filter { $0 != .and && $0 != .or }.map { .binary($0, t) }
      ops += CompareOp.allCases.map { .compare($0, t) }
    }
    ops += [.binary(.and, .bool), .binary(.or, .bool), .compare(.eq, .bool), .compare(.ne, .bool)]
    let dtypes: [DType] = [.f32, .f64, .i32, .i64, .bool]
    for s in dtypes { for t in dtypes where s != t { ops.append(.cast(s, to: t)) } }

    let dir = temporaryDirectory()
    let obj = dir.appendingPathComponent("lanes.o")
    let lib = dir.appendingPathComponent("lanes.so")
    try Data(laneCheckObject(ops)).write(to: obj)
    try linkSharedLibrary(object: obj.path, output: lib.path)
    let library = try SharedLibrary(path: lib.path)

    for (k, op) in ops.enumerated() {
      let operands = laneOperands(op.operandTypes)
      let count = operands[0].count / op.operandTypes[0].byteSize
      let names = laneCheckNames(k)
      var results: [[UInt8]] = []
      for name in [names.scalar, names.vector] {
        let entry = unsafeBitCast(try #require(library.symbol(name)), to: PackedEntry.self)
        let resultBytes = count * op.resultType.byteSize
        let pointers: [UnsafeMutableRawPointer] = (operands + [[UInt8](repeating: 0xAA, count: resultBytes)]).map {
          let p = UnsafeMutableRawPointer.allocate(byteCount: $0.count, alignment: 64)
          p.copyMemory(from: $0, byteCount: $0.count)
          return p
        }
        defer { pointers.forEach { $0.deallocate() } }
        let arguments: [UnsafeMutableRawPointer?] = pointers
        let sizes: [Int64] = [Int64(count)]
        #expect(entry(arguments, sizes) == 0)
        results.append(Array(UnsafeRawBufferPointer(start: pointers.last!, count: resultBytes)))
      }
      if let difference = laneDifference(results[0], results[1], op.resultType) {
        Issue.record("\(op): width 8 differs from width 1 at element \(difference)")
      }
    }
  }
}

/// The interpreter's f32 functions one value at a time.
struct ScalarMathProbe {
  func run(_ op: UnaryOp, _ x: Float) -> Float {
    let f = vectorMathGraph.functions.first { $0.name == "\(op)" }!
    guard case .f32(let r) = try! Interpreter.run(f, [NDArray([x], shape: [1])])[0].storage else { return .nan }
    return r[0]
  }
  func exp(_ x: Float) -> Float { run(.exp, x) }
  func log(_ x: Float) -> Float { run(.log, x) }
  func tanh(_ x: Float) -> Float { run(.tanh, x) }
  func sigmoid(_ x: Float) -> Float { run(.sigmoid, x) }
  func sin(_ x: Float) -> Float { run(.sin, x) }
  func cos(_ x: Float) -> Float { run(.cos, x) }
  func erf(_ x: Float) -> Float { run(.erf, x) }
}

/// Operand bytes for a lane check: one operand runs over the special values of its dtype;
/// two operands run over all pairs. Element counts are multiples of 8.
func laneOperands(_ types: [DType]) -> [[UInt8]] {
  func specials(_ t: DType) -> [[UInt8]] {
    func bytes<T>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
    switch t {
    case .f32:
      return (vectorMathSpecials.prefix(40) + [0.3, -7.5, 1e10, -3e38, 2.5, -2.5, 0.7, 3]).map(bytes)
    case .f64:
      let values: [Double] = [
        0, -0.0, 1, -1, 0.5, -2.5, 2.5, 3, .infinity, -.infinity, .nan, .leastNonzeroMagnitude,
        .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 709.78, -745.2, 1e300, -1e-300,
        7, 2, 120.5, 1e22, .pi, 0x1p63, -0x1p63, 3e9, -3e9,
      ]
      return values.map(bytes)
    case .i32: return [Int32](arrayLiteral: 0, 1, -1, 2, -2, 3, 7, 31, 32, -31, .max, .min, 1000, -1000, 65536, 12).map(bytes)
    case .i64: return [Int64](arrayLiteral: 0, 1, -1, 2, -2, 3, 7, 63, 64, -63, .max, .min, 1 << 40, -(1 << 40), 3_000_000_000, 12).map(bytes)
    case .bool: return [[0], [1]]
    }
  }
  var columns: [[[UInt8]]] = types.count == 1 ? [specials(types[0])] : []
  if types.count == 2 {
    let s = specials(types[0])
    columns = [s.flatMap { a in s.map { _ in a } }, s.flatMap { _ in s }]
  }
  let padded = (columns[0].count + 7) / 8 * 8
  return columns.map { column in (0..<padded).flatMap { column[$0 % column.count] } }
}

/// The first element where two result buffers differ (floats: bit for bit, any NaN equal to any NaN).
func laneDifference(_ a: [UInt8], _ b: [UInt8], _ t: DType) -> Int? {
  let size = t.byteSize
  for i in 0..<(a.count / size) {
    let x = Array(a[(i * size)..<((i + 1) * size)])
    let y = Array(b[(i * size)..<((i + 1) * size)])
    if x == y { continue }
    if t == .f32 {
      let (u, v) = x.withUnsafeBytes { p in y.withUnsafeBytes { q in (p.load(as: Float.self), q.load(as: Float.self)) } }
      if u.isNaN && v.isNaN { continue }
    }
    if t == .f64 {
      let (u, v) = x.withUnsafeBytes { p in y.withUnsafeBytes { q in (p.load(as: Double.self), q.load(as: Double.self)) } }
      if u.isNaN && v.isNaN { continue }
    }
    return i
  }
  return nil
}
