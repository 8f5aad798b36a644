// The register-tiled GEMM (NNCCodegen/GemmLowering.swift), and convolutions as implicit GEMMs
// on it, against the interpreter, bit for bit
// (exactMismatch): shapes across the micro-kernel tile (MR = 8 rows, NR = one vector of
// columns), the blocks (KC = 256 f32 / 128 f64 terms, MC = 128 rows) and their remainders,
// primes, sizes 0 and 1, batches with broadcasting, symbolic sizes (the GEMM or the i-p-j loops
// chosen at run time), f32 and f64, integer dtypes (the i-p-j loops), fused epilogues, and
// inputs with special values (NaN, ±inf, ±0, subnormals), where any change in the order of the
// terms or a fused multiply-add would show.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
@testable import NNCRuntime
import NNCTestSupport
import Testing

/// `[M, K, N]` triples: every dim from a list crossing the tile and block edges, drawn so each
/// value appears in each position; a few large ones.
private let shapes: [[Int]] = {
  let dims = [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 97, 127, 128, 129, 255, 256, 257]
  var out: [[Int]] = []
  for (k, d) in dims.enumerated() {
    out.append([d, dims[(k * 7 + 3) % dims.count], dims[(k * 5 + 11) % dims.count]])
    out.append([dims[(k * 11 + 5) % dims.count], dims[(k * 3 + 1) % dims.count], d])
  }
  return out + [[300, 300, 300], [0, 5, 16], [16, 0, 16], [16, 5, 0], [130, 513, 47]]
}()

/// Deterministic values: integers over 8 (exact products and many exact sums, so order
/// changes would often not show) mixed with values of full precision (so they do).
private func matrixValues(_ count: Int, seed: UInt64, special: Bool) -> [Double] {
  var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
  let specials: [Double] = [.nan, .infinity, -.infinity, -0.0, 0, 1e-40, -3e-39, 1e30]
  return (0..<count).map { k in
    s ^= s << 13
    s ^= s >> 7
    s ^= s << 17
    if special && s % 29 == 0 { return specials[Int(s / 29 % UInt64(specials.count))] }
    return s % 3 == 0 ? Double(Int(s % 33) - 16) / 8 : Double(s % 2_000_001) / 1_000_000 - 1
  }
}

private func array(_ values: [Double], _ shape: [Int], _ t: DType) -> NDArray {
  switch t {
  case .f32: return NDArray(values.map { Float($0) }, shape: shape)
  case .f64: return NDArray(values, shape: shape)
  case .i32: return NDArray(values.map { Int32((abs($0) < 1e6 ? $0 : 3) * 8) }, shape: shape)
  default: return NDArray(values.map { Int64((abs($0) < 1e6 ? $0 : 3) * 8) }, shape: shape)
  }
}

/// Compiles the functions of `text` (after the default pipeline) and checks each against the
/// interpreter on `inputs(function)`, exactly.
private func check(_ text: String, inputs: (Function) -> [[NDArray]]) throws {
  let original = try loadGraph(text, file: "gemm.swiftgraph")
  var g = original
  try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&g)
  let entries = try compileAndLoad(g)
  for f in original.functions {
    let entry = try #require(entries[f.name])
    for input in inputs(f) {
      let want = try Interpreter.run(f, input)
      let got = try entry.run(input)
      #expect(exactMismatch(got, want) == nil, "@\(f.name) \(input.map(\.shape)): \(exactMismatch(got, want) ?? "")")
    }
  }
}

@Suite struct GemmTests {
  /// Static shapes, f32 and f64, plain and with special values.
  @Test(arguments: [DType.f32, .f64])
  func staticShapes(_ t: DType) throws {
    var text = "swiftgraph 1\n"
    for (k, s) in shapes.enumerated() {
      text += "func @m\(k)(%a: \(t)[\(s[0]),\(s[1])], %b: \(t)[\(s[1]),\(s[2])]) -> \(t)[\(s[0]),\(s[2])] {\n"
      text += "  %0 = matmul %a, %b\n  return %0\n}\n"
    }
    try check(text) { f in
      let (a, b) = (f.parameterTypes[0].shape.map { $0.value! }, f.parameterTypes[1].shape.map { $0.value! })
      return [false, true].map { special in
        [
          array(matrixValues(a.reduce(1, *), seed: UInt64(a[0] * 7 + a[1]), special: special), a, t),
          array(matrixValues(b.reduce(1, *), seed: UInt64(b[0] * 5 + b[1]), special: special), b, t),
        ]
      }
    }
  }

  /// Symbolic sizes: one kernel chooses the GEMM or the i-p-j loops per call; batches with a
  /// broadcast batch dim; integer dtypes.
  @Test func symbolicBatchedAndInteger() throws {
    let text = """
      swiftgraph 1
      func @sym(%a: f32[M,K], %b: f32[K,N]) -> f32[M,N] {
        %0 = matmul %a, %b
        return %0
      }
      func @batch(%a: f32[2,1,M,K], %b: f32[3,K,N]) -> f32[2,3,M,N] {
        %0 = matmul %a, %b
        return %0
      }
      func @i32(%a: i32[M,K], %b: i32[K,N]) -> i32[M,N] {
        %0 = matmul %a, %b
        return %0
      }
      func @f64(%a: f64[M,K], %b: f64[K,N]) -> f64[M,N] {
        %0 = matmul %a, %b
        return %0
      }
      """
    try check(text) { f in
      [(1, 1, 1), (7, 3, 15), (8, 16, 16), (9, 130, 17), (129, 260, 40), (0, 4, 16), (20, 0, 33)].map { m, k, n in
        f.parameterTypes.enumerated().map { i, pt in
          let shape = pt.shape.map { d -> Int in
            switch d {
            case .int(let v): return v
            case .sym(let s): return s == "M" ? m : (s == "K" ? k : n)
            }
          }
          return array(matrixValues(shape.reduce(1, *), seed: UInt64(m * 31 + k * 7 + n + i), special: true), shape, pt.dtype)
        }
      }
    }
  }

  /// Convolutions, with special values: without padding (implicit GEMMs where a group has a
  /// tile of output channels and positions, direct loops otherwise) across stride, dilation,
  /// groups, depthwise, 1x1, kernels larger than the stride; with padding (direct loops); f32
  /// and f64; with a fused bias + relu epilogue.
  @Test func convolutions() throws {
    // (C, H, W, O, kernel, stride, padding, dilation, groups)
    let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
      (6, 12, 12, 16, 5, 1, 0, 1, 1),  // LeNet's conv2
      (1, 28, 28, 6, 5, 1, 0, 1, 1),  // conv1: 6 channels, direct loops
      (3, 17, 19, 24, 3, 2, 0, 1, 1),  // stride 2
      (4, 20, 20, 16, 3, 1, 0, 2, 1),  // dilation 2
      (8, 10, 9, 32, 3, 1, 0, 1, 2),  // 2 groups of 16 channels
      (16, 9, 9, 16, 3, 1, 0, 1, 16),  // depthwise
      (32, 7, 7, 40, 1, 1, 0, 1, 1),  // 1x1
      (5, 13, 13, 9, 4, 3, 0, 1, 1),  // kernel larger than the stride, 9 channels
      (6, 12, 12, 16, 3, 1, 1, 1, 1),  // padding: direct loops
      (300, 4, 4, 8, 1, 1, 0, 1, 1),  // 300 input channels: two blocks of terms
    ]
    for dtype in [DType.f32, .f64] {
      var text = "swiftgraph 1\n"
      for (k, c) in cases.enumerated() {
        let (ch, h, w, o, kk, st, pad, dil, g) = c
        let (oh, ow) = ((h + 2 * pad - dil * (kk - 1) - 1) / st + 1, (w + 2 * pad - dil * (kk - 1) - 1) / st + 1)
        text += """
          func @c\(k)(%x: \(dtype)[N,\(ch),\(h),\(w)], %w: \(dtype)[\(o),\(ch / g),\(kk),\(kk)], %b: \(dtype)[\(o)]) -> \(dtype)[N,\(o),\(oh),\(ow)] {
            %z = const 0.0 : \(dtype)[]
            %0 = conv2d %x, %w stride=[\(st),\(st)] padding=[\(pad),\(pad)] dilation=[\(dil),\(dil)] groups=\(g)
            %1 = reshape %b shape=[1,\(o),1,1]
            %2 = add %0, %1
            %3 = max %2, %z
            return %3
          }

          """
      }
      try check(text) { f in
        [1, 3].map { n in
          f.parameterTypes.enumerated().map { i, pt in
            let shape = pt.shape.map { $0.value ?? n }
            return array(matrixValues(shape.reduce(1, *), seed: UInt64(n * 17 + i), special: n == 3), shape, dtype)
          }
        }
      }
    }
  }

  /// A matmul with a fused epilogue (bias, relu, residual): the epilogue runs on each block of
  /// rows once the GEMM has finished them.
  @Test func fusedEpilogues() throws {
    let text = """
      swiftgraph 1
      func @mlp(%x: f32[N,300], %w: f32[300,130], %b: f32[130], %r: f32[N,130]) -> f32[N,130] {
        %z = const 0.0 : f32[]
        %0 = matmul %x, %w
        %1 = add %0, %b
        %2 = max %1, %z
        %3 = add %2, %r
        return %3
      }
      """
    let g = try loadGraph(text)
    var fused = g
    try PassManager(passes: Passes.defaultPipeline).run(&fused)
    var epilogues = 0
    fused.functions[0].forEachInstruction { if case .fused = $0.op { epilogues += 1 } }
    #expect(epilogues == 1)
    // `run` calls the compiled code for a function with fused kernels and symbolic sizes: the
    // shape rules hold (else it would give the interpreter's result, as it does where a rule
    // fails at run time).
    let entry = try #require(try compileAndLoad(fused)["mlp"])
    #expect(entry.shapeRulesHold(["N": 129]))
    try check(text) { f in
      [1, 8, 129, 300].map { n in
        f.parameterTypes.enumerated().map { i, pt in
          let shape = pt.shape.map { $0.value ?? n }
          return array(matrixValues(shape.reduce(1, *), seed: UInt64(n * 3 + i), special: n == 129), shape, .f32)
        }
      }
    }
  }
}
