// Streaming (non-temporal) stores of large fused-kernel results (NNCCodegen/Streaming.swift):
// the kernels that take that path compute what the interpreter computes, at every alignment of
// the caller's output buffer and at sizes around a tile; symbolic sizes choose the path at run
// time; the path is taken only for results in the caller's buffers and only from the footprint
// threshold on (checked in the emitted assembly). A small `streamingThresholdBytes` lets the
// tests run the streaming path on small tensors; one test keeps the default threshold with an
// axpy of 8M elements (96 MiB touched) against the formula computed here.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// Compile options whose kernels stream from `bytes` on.
private func streaming(from bytes: Int, assembly: Bool = false) -> CompileOptions {
  var target = TargetOptions()
  target.streamingThresholdBytes = bytes
  return CompileOptions(target: target, emitAssembly: assembly)
}

/// `text` through the default pipeline (which fuses), as parsed and as fused.
private func parsedAndFused(_ text: String) throws -> (original: Graph, fused: Graph) {
  let original = try loadGraph(text, file: "stream.swiftgraph")
  var g = original
  try PassManager(passes: Passes.defaultPipeline, verifyEach: true).run(&g)
  return (original, g)
}

/// Flat pointwise kernels (f32 with two results, `a*x + y` and `max(x, y)`; f64) and a row
/// kernel (rows less their max, times their sum of squares), symbolic sizes; all bound by
/// memory (no transcendentals or divisions), so they may stream.
private let graphs = """
  swiftgraph 1
  func @axpy(%x: f32[N], %y: f32[N]) -> (f32[N], f32[N]) {
    %a = const 1.5 : f32[]
    %0 = mul %x, %a
    %1 = add %0, %y
    %2 = max %x, %y
    return %1, %2
  }

  func @norm(%x: f32[R,W]) -> f32[R,W] {
    %m = reduce_max %x axes=[1] keepdims=true
    %xc = sub %x, %m
    %0 = mul %xc, %xc
    %1 = reduce_sum %0 axes=[1] keepdims=true
    %2 = mul %xc, %1
    return %2
  }

  func @axpy64(%x: f64[N], %y: f64[N]) -> f64[N] {
    %a = const 1.5 : f64[]
    %0 = mul %x, %a
    %1 = add %0, %y
    return %1
  }
  """

/// Deterministic values in [-2, 2).
private func values(_ n: Int, seed: UInt64) -> [Float] {
  var s = seed | 1
  return (0..<n).map { _ in
    s ^= s << 13
    s ^= s >> 7
    s ^= s << 17
    return Float(s % 40_000) / 10_000 - 2
  }
}

@Suite struct StreamingStoreTests {
  /// With a threshold of 0 every fused kernel whose results are the caller's streams: results
  /// equal the interpreter's for sizes below, at and around a tile (1024 elements) and a
  /// cache line, for f32 and f64.
  @Test func streamedKernelsComputeWhatTheInterpreterComputes() throws {
    let (original, fused) = try parsedAndFused(graphs)
    let entries = try compileAndLoad(fused, options: streaming(from: 0))
    for n in [1, 15, 16, 17, 1023, 1024, 1025, 3000] {
      let x = NDArray(values(n, seed: UInt64(n)), shape: [n])
      let y = NDArray(values(n, seed: UInt64(n) + 99), shape: [n])
      for name in ["axpy", "axpy64"] {
        let f = try #require(original.functions.first { $0.name == name })
        let inputs = name == "axpy" ? [x, y] : [x, y].map { a -> NDArray in
          guard case .f32(let v) = a.storage else { return a }
          return NDArray(v.map(Double.init), shape: a.shape)
        }
        let got = try #require(entries[name]).run(inputs)
        let want = try Interpreter.run(f, inputs)
        #expect(exactMismatch(got, want) == nil, "@\(name) n=\(n): \(exactMismatch(got, want) ?? "")")
      }
    }
    let norm = try #require(original.functions.first { $0.name == "norm" })
    for (r, w) in [(3, 1), (2, 16), (5, 33), (2, 1024), (3, 2500)] {
      let x = NDArray(values(r * w, seed: UInt64(r * w)), shape: [r, w])
      let got = try #require(entries["norm"]).run([x])
      let want = try Interpreter.run(norm, [x])
      #expect(exactMismatch(got, want) == nil, "@norm \(r)x\(w): \(exactMismatch(got, want) ?? "")")
    }
  }

  /// The streamed copy handles every alignment of the output: the result written at byte
  /// offsets 0 to 64 (f32 elements; odd offsets make it misaligned for its element size) of a
  /// larger buffer, with the bytes around it untouched.
  @Test func everyOutputAlignment() throws {
    let (_, fused) = try parsedAndFused(graphs)
    let entry = try #require(try compileAndLoad(fused, options: streaming(from: 0))["axpy"])
    let n = 2100
    let x = values(n, seed: 5)
    let y = values(n, seed: 6)
    let want = zip(x, y).map { $0 * 1.5 + $1 }
    let bytes = n * 4 + 256
    for offset in [0, 1, 2, 4, 8, 12, 32, 60, 63, 64] {
      let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
      let other = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
      defer {
        raw.deallocate()
        other.deallocate()
      }
      memset(raw, 0xA5, bytes)
      var xs = x
      var ys = y
      let status = xs.withUnsafeMutableBytes { xp in
        ys.withUnsafeMutableBytes { yp in
          entry.callUnchecked([xp.baseAddress, yp.baseAddress, raw + offset, other], sizes: [Int64(n)])
        }
      }
      #expect(status == 0)
      var got = [Float](repeating: 0, count: n)
      _ = got.withUnsafeMutableBytes { memcpy($0.baseAddress!, raw + offset, n * 4) }
      let firstWrong = got.indices.first { got[$0].bitPattern != want[$0].bitPattern }
      #expect(firstWrong == nil, "offset \(offset): element \(firstWrong ?? -1)")
      let bytesView = raw.assumingMemoryBound(to: UInt8.self)
      let before = (0..<offset).allSatisfy { bytesView[$0] == 0xA5 }
      let after = ((offset + n * 4)..<bytes).allSatisfy { bytesView[$0] == 0xA5 }
      #expect(before && after, "offset \(offset): bytes outside the result were written")
    }
  }

  /// Streaming stores appear exactly where the policy says: in kernels writing the caller's
  /// results past the threshold (static sizes decided at compile time, symbolic ones behind a
  /// run-time test), never for a workspace value, never below the threshold.
  @Test func theEmittedCodeStreamsWhereThePolicySays() throws {
    func assembly(_ text: String, threshold: Int) throws -> String {
      let (_, fused) = try parsedAndFused(text)
      return try compile(fused, options: streaming(from: threshold, assembly: true)).assembly ?? ""
    }
    let axpy = """
      swiftgraph 1
      func @f(%x: f32[4096], %y: f32[4096]) -> f32[4096] {
        %a = const 1.5 : f32[]
        %0 = mul %x, %a
        %1 = add %0, %y
        return %1
      }
      """
    // 48 KiB touched: streams with a threshold of 48 KiB, not with one byte more.
    #expect(try assembly(axpy, threshold: 3 * 4096 * 4).contains("vmovntps") || !hostHasAVX())
    #expect(try !assembly(axpy, threshold: 3 * 4096 * 4 + 1).contains("movnt"))
    // A kernel bound by its arithmetic does not stream, whatever its size.
    let gelu = """
      swiftgraph 1
      func @t(%x: f32[N]) -> f32[N] {
        %0 = tanh %x
        %1 = mul %0, %x
        return %1
      }
      """
    #expect(try !assembly(gelu, threshold: 0).contains("movnt"))
    // The value the second kernel reads stays in the workspace, stored normally (a sum over
    // the first axis is a kernel of its own); only the last kernel writes a result.
    let chain = """
      swiftgraph 1
      func @g(%x: f32[64,64]) -> f32[64] {
        %a = const 1.5 : f32[]
        %0 = mul %x, %a
        %1 = exp %0
        %2 = reduce_sum %1 axes=[0]
        %3 = mul %2, %a
        return %3
      }
      """
    let streamingKernels = streamingKernelLabels(try assembly(chain, threshold: 0))
    #expect(streamingKernels.count == 1, "\(streamingKernels)")
    #expect(streamingKernels.first?.hasSuffix("mul.f32x64:") == true, "\(streamingKernels)")
  }

  /// Every kernel of the functions the other tests run streams at threshold 0: the flat ones
  /// and the row kernel.
  @Test func theTestedKernelsStream() throws {
    let (_, fused) = try parsedAndFused(graphs)
    let labels = streamingKernelLabels(try compile(fused, options: streaming(from: 0, assembly: true)).assembly ?? "")
    for name in ["nnc_axpy.", "nnc_axpy64.", "nnc_norm."] {
      #expect(labels.contains { $0.hasPrefix(name) }, "no streaming kernel in \(name): \(labels)")
    }
  }

  /// The default threshold: an axpy of 8M elements (96 MiB touched) streams and computes the
  /// formula; 64 MiB is chosen by `N` at run time, so the same kernel also runs plain at N = 5.
  @Test func defaultThresholdOnALargeAxpy() throws {
    let (_, fused) = try parsedAndFused(graphs)
    let module = try compile(fused, options: CompileOptions(emitAssembly: true))
    #expect(module.assembly?.contains("movnt") == true)
    let entry = try #require(try compileAndLoad(fused)["axpy"])
    for n in [5, 8 << 20] {
      let x = values(n, seed: 1)
      let y = values(n, seed: 2)
      let got = try entry.run([NDArray(x, shape: [n]), NDArray(y, shape: [n])])
      guard case .f32(let r) = got[0].storage, case .f32(let m) = got[1].storage else {
        Issue.record("results are not f32")
        return
      }
      var wrong = 0
      for i in 0..<n where r[i].bitPattern != (x[i] * 1.5 + y[i]).bitPattern || m[i] != max(x[i], y[i]) { wrong += 1 }
      #expect(wrong == 0, "n=\(n): \(wrong) elements differ from the formula")
    }
  }
}

/// The labels of the kernels (`nnc_F.kN....:`) whose code holds a streaming store.
private func streamingKernelLabels(_ assembly: String) -> [String] {
  assembly.components(separatedBy: "\n").filter { $0.hasSuffix(":") && $0.hasPrefix("nnc_") && $0.contains(".k") }
    .filter { label in
      let body = assembly.components(separatedBy: "\n" + label).dropFirst().first?.components(separatedBy: ".Lfunc_end").first ?? ""
      return body.contains("movnt")
    }
}

/// Whether the host's features name AVX (vmovntps needs a VEX encoding; SSE2 hosts use movntps).
private func hostHasAVX() -> Bool {
  (try? hostTarget().features.contains("+avx")) ?? false
}
