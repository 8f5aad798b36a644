// Section 9: matmul 1024^3 f32 against NumPy (OpenBLAS) and the machine's peak, at one thread.
// The peak is measured here, by a small C loop compiled with `cc -O2 -march=native` (`$CC`): 16
// independent vector FMA chains, and 12 independent multiplies plus 12 independent adds (the
// operations nnc's matmul is made of: the IR's matmul rounds each product and each sum, so it is
// no fused multiply-add; GemmLowering.swift).

import Foundation
import NNCCodegen
import NNCIR
import NNCRuntime

#if canImport(Glibc)
  import Glibc
#endif

/// The peak loop: prints `fma GFLOPS` and `muladd GFLOPS` (512-bit vectors where the compiler
/// targets them, else 256).
let peakSource = """
  #include <immintrin.h>
  #include <stdio.h>
  #include <time.h>
  static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
  #ifdef __AVX512F__
  #define W 16
  #define R "zmm"
  #else
  #define W 8
  #define R "ymm"
  #endif
  int main(void) {
    long iters = 40000000;
    double best_fma = 0, best_muladd = 0;
    for (int rep = 0; rep < 3; rep++) {
      long n = iters;
      double t = now();
      __asm__ volatile("1:\\n"
        ".irp r,4,5,6,7,8,9,10,11,12,13,14,15\\n vfmadd231ps %%" R "1, %%" R "2, %%" R "\\\\r\\n .endr\\n"
        "dec %0\\n jnz 1b\\n" : "+r"(n) :: "memory");
      t = now() - t;
      if (12.0 * W * 2 * iters / t / 1e9 > best_fma) best_fma = 12.0 * W * 2 * iters / t / 1e9;
      n = iters;
      t = now();
      __asm__ volatile("1:\\n"
        ".irp r,4,5,6,7,8,9,10,11,12,13,14,15\\n vmulps %%" R "1, %%" R "2, %%" R "\\\\r\\n .endr\\n"
        ".irp r,0,1,2,3,16,17,18,19,20,21,22,23\\n vaddps %%" R "3, %%" R "\\\\r, %%" R "\\\\r\\n .endr\\n"
        "dec %0\\n jnz 1b\\n" : "+r"(n) :: "memory");
      t = now() - t;
      if (12.0 * W * 2 * iters / t / 1e9 > best_muladd) best_muladd = 12.0 * W * 2 * iters / t / 1e9;
    }
    printf("%.2f %.2f %d\\n", best_fma, best_muladd, W * 32);
    return 0;
  }
  """

/// The peak (FMA, multiply + add) in GFLOP/s at one thread and the vector bits, or why not.
func measurePeak(scratch: Scratch) -> Result<(fma: Double, mulAdd: Double, bits: Int), BenchFailure> {
  let stem = scratch.next("peak")
  do { try peakSource.write(toFile: stem + ".c", atomically: false, encoding: .utf8) } catch {
    return .failure(BenchFailure("cannot write the peak loop: \(error)"))
  }
  do {
    _ = try runTool(systemCC, ["-O2", "-march=native", stem + ".c", "-o", stem])
    let f = try runTool(stem, []).split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    guard f.count == 3 else { return .failure(BenchFailure("the peak loop printed something else")) }
    return .success((f[0], f[1], Int(f[2])))
  } catch {
    return .failure(BenchFailure("the peak loop: \(error)"))
  }
}

struct BenchFailure: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

/// Section 9. Returns the lines for the summary.
@MainActor func gemmSection(quick: Bool, useNumpy: Bool, scratch: Scratch) -> [String] {
  let start = now()
  let n = 1024
  say("\n9. matmul \(n)x\(n)x\(n) f32 against NumPy (OpenBLAS) and the peak, 1 thread")
  say("   nnc: the graph `matmul %a, %b` through the default pipeline, called through")
  say("   nnc_mm_packed_with_workspace on preallocated buffers; GFLOP/s = 2 n^3 / time")
  var lines: [String] = []
  let peak = measurePeak(scratch: scratch)
  switch peak {
  case .success(let p):
    say(String(format: "   peak (a C loop, %d-bit vectors): FMA %.1f GFLOP/s, multiply + add %.1f GFLOP/s", p.bits, p.fma, p.mulAdd))
  case .failure(let e): say("   peak: not measured (\(e))")
  }
  let text = """
    swiftgraph 1
    func @mm(%a: f32[\(n),\(n)], %b: f32[\(n),\(n)]) -> f32[\(n),\(n)] {
      %0 = matmul %a, %b
      return %0
    }
    """
  let entry: CompiledEntry
  do {
    (entry, _, _) = try coldCompile(Workload(name: "mm", file: "<mm>", text: Array(text.utf8), function: "mm", bindings: [:]), scratch: scratch)
  } catch {
    say("   compile failed: \(error)")
    return lines
  }
  let a = standardNormals(n * n, seed: 11)
  let b = standardNormals(n * n, seed: 12)
  let pa = alignedCopy(a)
  let pb = alignedCopy(b)
  let out = UnsafeMutableRawPointer.allocate(byteCount: n * n * 4, alignment: 64)
  let wsBytes = max(64, entry.workspaceSize(sizes: []))
  let ws = UnsafeMutableRawPointer.allocate(byteCount: wsBytes, alignment: 64)
  defer {
    pa.deallocate()
    pb.deallocate()
    out.deallocate()
    ws.deallocate()
  }
  var numpy: NumpyTimer?
  var skipped = "--no-numpy"
  if useNumpy {
    let stem = scratch.next("gemm")
    do {
      try Npy.write(NDArray(a, shape: [n, n]), to: stem + "-a.npy")
      try Npy.write(NDArray(b, shape: [n, n]), to: stem + "-b.npy")
      try numpyTimerScript(
        setup: """
          a = np.load(sys.argv[1] + "-a.npy")
          b = np.load(sys.argv[1] + "-b.npy")
          cases = {"matmul": lambda: a @ b}
          """
      ).write(toFile: stem + ".py", atomically: false, encoding: .utf8)
      numpy = NumpyTimer(script: stem + ".py", arguments: [stem], skipped: &skipped)
      if let p = numpy, !p.ready(&skipped) { numpy = nil }
    } catch { skipped = "cannot write the .npy files for NumPy: \(error)" }
  }
  let budget = quick
    ? Budget(seconds: 0.5, minSamples: 3, maxSamples: 20, sampleSeconds: 0, warmup: 1)
    : Budget(seconds: 2, minSamples: 5, maxSamples: 50, sampleSeconds: 0, warmup: 2)
  var items: [(Budget, (Budget) -> Stats)] = [
    (budget, { bud in measure(bud) { _ = entry.callUnchecked([pa, pb, out], sizes: [], workspace: ws) } })
  ]
  if let p = numpy {
    items.append((budget, { bud in p.measure("matmul", bud) ?? Stats(median: .nan, min: .nan, samples: 0, batch: 1, faultsPerCall: .nan, times: [.nan]) }))
  }
  let measured = measureRounds(3, measurers: items)
  numpy?.stop()
  // The result against the IR's definition on sampled elements: the products of row i and
  // column j summed in order of p, each product and sum rounded (Swift neither contracts nor
  // reassociates).
  let c = out.assumingMemoryBound(to: Float.self)
  var wrong = 0
  for s in 0..<64 {
    let (i, j) = ((s * 97) % n, (s * 389 + 5) % n)
    var acc: Float = 0
    for p in 0..<n { acc = acc + a[i * n + p] * b[p * n + j] }
    if acc.bitPattern != c[i * n + j].bitPattern { wrong += 1 }
  }
  let flops = 2.0 * Double(n * n * n)
  let nncGF = flops / measured[0].median / 1e9
  var line = String(format: "matmul %d^3 f32, 1 thread: nnc %@ = %.1f GFLOP/s", n, fmtTime(measured[0].median), nncGF)
  if case .success(let p) = peak {
    line += String(format: " (%.0f%% of the FMA peak %.1f, %.0f%% of multiply + add %.1f)", 100 * nncGF / p.fma, p.fma, 100 * nncGF / p.mulAdd, p.mulAdd)
  }
  if numpy != nil, measured.count > 1, measured[1].median.isFinite {
    let npGF = flops / measured[1].median / 1e9
    line += String(format: "; numpy %@ = %.1f GFLOP/s; nnc / numpy %.2fx", fmtTime(measured[1].median), npGF, npGF > 0 ? nncGF / npGF : 0)
  } else {
    line += "; numpy: \(skipped)"
  }
  say("   \(line)")
  say("   check: \(wrong == 0 ? "64 sampled elements equal the in-order sum bit for bit" : "\(wrong) of 64 sampled elements differ from the in-order sum")")
  say("   section time: \(fmtTime(now() - start))")
  lines.append(line)
  return lines
}
