// Float max/min in fused row kernels accumulate ordered integer keys (FusedLowering.swift,
// `OrderedKey`) instead of IEEE maxima: these tests hold them to the IEEE 754-2019 meaning the
// interpreter gives `reduce_max`/`reduce_min` (NaN if the row holds any NaN, whatever its sign;
// -0 below +0; -inf/+inf for an empty row), on rows of special values whose lengths hit the
// whole runs of groups, the groups left and the tail, against a reference written out here
// and against the interpreter. Also the shared exp at the widths the row kernels compute it
// (AVX-512's vscalefps where the host has it), on arguments around its thresholds.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// IEEE 754-2019 maximum (`largest`) or minimum of `xs`, written independently of nnc: NaN if
/// any element is NaN; -0 orders below +0.
private func reference<T: BinaryFloatingPoint>(_ xs: [T], largest: Bool) -> T {
  if xs.contains(where: \.isNaN) { return .nan }
  var best: T = largest ? -.infinity : .infinity
  for x in xs {
    let above = x > best || (x == best && x.sign == .plus && best.sign == .minus)
    let below = x < best || (x == best && x.sign == .minus && best.sign == .plus)
    if largest ? above : below { best = x }
  }
  return best
}

/// Rows of `width` elements drawn from special values: all -0, -0 and +0 mixed, a NaN of
/// either sign at the first, a middle and the last position, ±inf only, subnormals, and
/// ordinary values; deterministic.
private func specialRows(_ width: Int, count: Int, seed: UInt64) -> [[Float]] {
  let negativeNaN = Float(bitPattern: 0xFFC0_0001)
  let pool: [Float] = [
    0, -0.0, 1.5, -2.25, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
    .greatestFiniteMagnitude, -.greatestFiniteMagnitude, Float(bitPattern: 0x0020_0000), -7,
  ]
  var state = seed | 1
  func next(_ n: Int) -> Int {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return Int(state % UInt64(n))
  }
  var rows: [[Float]] = []
  for r in 0..<count {
    var row = (0..<width).map { _ in pool[next(pool.count)] }
    switch r % 8 {
    case 0: row = Array(repeating: -0.0, count: width)
    case 1: row = (0..<width).map { $0 == width / 2 ? 0 : -0.0 }
    case 2 where width > 0: row[0] = .nan
    case 3 where width > 0: row[width - 1] = negativeNaN
    case 4 where width > 0: row[width / 2] = negativeNaN
    case 5: row = (0..<width).map { $0 % 3 == 0 ? -.infinity : .infinity }
    case 6: row = (0..<width).map { $0 % 2 == 0 ? -Float.leastNonzeroMagnitude : -.infinity }
    default: break
    }
    rows.append(row)
  }
  return rows
}

/// `text` parsed and run through the default pipeline (which fuses), with the functions as
/// parsed (to interpret) and as compiled, loaded.
private func fusedAndLoaded(_ text: String) throws -> (original: Graph, entries: [String: CompiledEntry], fused: Int) {
  let original = try loadGraph(text, file: "rows.swiftgraph")
  var g = original
  try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&g)
  var fused = 0
  g.functions.forEach { $0.forEachInstruction { if case .fused = $0.op { fused += 1 } } }
  return (original, try compileAndLoad(g), fused)
}

/// The function named `name` in `g`.
private func function(_ g: Graph, _ name: String) throws -> Function {
  try #require(g.functions.first { $0.name == name })
}

@Suite struct RowReductionTests {
  /// `reduce_max` and `reduce_min` of rows, each also feeding an elementwise consumer so the
  /// pass fuses it into a row kernel; f32 and f64; widths across the 32-term runs, the 8-term
  /// groups and the tail.
  @Test(arguments: [DType.f32, .f64])
  func floatMaxAndMinOfSpecialRows(_ dtype: DType) throws {
    let widths = [0, 1, 7, 8, 9, 31, 32, 33, 40, 100]
    let rows = 16
    let t = dtype == .f32 ? "f32" : "f64"
    var text = "swiftgraph 1\n"
    for w in widths {
      text += """
        func @m\(w)(%x: \(t)[\(rows),\(w)]) -> (\(t)[\(rows),1], \(t)[\(rows),1], \(t)[\(rows),\(w)]) {
          %hi = reduce_max %x axes=[1] keepdims=true
          %lo = reduce_min %x axes=[1] keepdims=true
          %d = sub %x, %hi
          %e = sub %d, %lo
          return %hi, %lo, %e
        }

        """
    }
    let (original, entries, fusedRows) = try fusedAndLoaded(text)
    #expect(fusedRows >= widths.count - 1, "the reductions were not fused into row kernels")
    for w in widths {
      let entry = try #require(entries["m\(w)"])
      let values = specialRows(w, count: rows, seed: UInt64(w + 11))
      let input = dtype == .f32
        ? NDArray(values.flatMap { $0 }, shape: [rows, w]) : NDArray(values.flatMap { $0.map(Double.init) }, shape: [rows, w])
      let got = try entry.run([input])
      let want = try Interpreter.run(try function(original, "m\(w)"), [input])
      #expect(exactMismatch(got, want) == nil, "width \(w): \(exactMismatch(got, want) ?? "")")
      let hi = dtype == .f32 ? NDArray(values.map { reference($0, largest: true) }, shape: [rows, 1])
        : NDArray(values.map { reference($0.map(Double.init), largest: true) }, shape: [rows, 1])
      let lo = dtype == .f32 ? NDArray(values.map { reference($0, largest: false) }, shape: [rows, 1])
        : NDArray(values.map { reference($0.map(Double.init), largest: false) }, shape: [rows, 1])
      #expect(exactMismatch(got[0], hi) == nil, "width \(w) max: \(exactMismatch(got[0], hi) ?? "")")
      #expect(exactMismatch(got[1], lo) == nil, "width \(w) min: \(exactMismatch(got[1], lo) ?? "")")
    }
  }

  /// Integer max/min rows keep their own path: the extremes of Int32 and empty rows.
  @Test func integerMaxAndMinOfRows() throws {
    let text = """
      swiftgraph 1
      func @i(%x: i32[4,37]) -> (i32[4,1], i32[4,1], i32[4,37]) {
        %hi = reduce_max %x axes=[1] keepdims=true
        %lo = reduce_min %x axes=[1] keepdims=true
        %d = sub %x, %hi
        return %hi, %lo, %d
      }
      """
    let (_, entries, fused) = try fusedAndLoaded(text)
    #expect(fused == 1)
    let entry = try #require(entries["i"])
    var values: [Int32] = (0..<(4 * 37)).map { Int32(($0 * 7919) % 201) - 100 }
    values[5] = .max
    values[37 + 36] = .min
    let got = try entry.run([NDArray(values, shape: [4, 37])])
    let rows = (0..<4).map { Array(values[($0 * 37)..<($0 * 37 + 37)]) }
    #expect(exactMismatch(got[0], NDArray(rows.map { $0.max()! }, shape: [4, 1])) == nil)
    #expect(exactMismatch(got[1], NDArray(rows.map { $0.min()! }, shape: [4, 1])) == nil)
  }

  /// softmax's `exp(x - max)` computed in the row kernel's sum pass (16 or 8 lanes, the tail
  /// one by one) on arguments around exp's thresholds (overflow at 88.7228, subnormal results
  /// below -87.34, +0 below -103.97), compiled against interpreted, bit for bit, and e^x of each
  /// argument against glibc's exp in f64 rounded to f32, within exp's stated 1 ulp.
  @Test func expInRowKernelsAtItsThresholds() throws {
    let text = """
      swiftgraph 1
      func @e(%x: f32[6,75]) -> (f32[6,75], f32[6,1]) {
        %e = exp %x
        %s = reduce_sum %e axes=[1] keepdims=true
        %y = div %e, %s
        return %e, %s
      }
      """
    let (original, entries, fused) = try fusedAndLoaded(text)
    #expect(fused == 1)
    let entry = try #require(entries["e"])
    let specials: [Float] = [
      88.72283, 88.72284, 88.7, 89, -87.33654, -87.34, -100, -103.9, -103.97, -104, -110, 0, -0.0, 1e-30,
      .infinity, -.infinity, .nan, 0.5, -0.5, 10,
    ]
    let values = (0..<(6 * 75)).map { k -> Float in
      k % 3 == 0 ? specials[(k / 3) % specials.count] : Float(k % 97) * 1.83 - 89
    }
    let input = NDArray(values, shape: [6, 75])
    let got = try entry.run([input])
    let want = try Interpreter.run(try function(original, "e"), [input])
    #expect(exactMismatch(got, want) == nil, "\(exactMismatch(got, want) ?? "")")
    guard case .f32(let e) = got[0].storage else {
      Issue.record("exp's result is not f32")
      return
    }
    for (x, y) in zip(values, e) {
      let correct = Float(Foundation.exp(Double(x)))
      if x.isNaN {
        #expect(y.isNaN)
      } else if correct.isInfinite || correct == 0 {
        #expect(y == correct, "exp(\(x)) = \(y), expected \(correct)")
      } else {
        let ulps = abs(Int64(y.bitPattern) - Int64(correct.bitPattern))
        #expect(ulps <= 1, "exp(\(x)) = \(y), correctly rounded \(correct): \(ulps) ulps")
      }
    }
  }
}
