// Section 8 of nnc-bench: the anchor benchmarks' elementwise and normalization workloads
// (ew_chain, gelu_tanh, softmax_rows, layernorm, axpy; graphs from AnchorWorkload in
// Tests/Support) compiled by nnc, against NumPy running the same formulas on the same data in
// the same run. Figures only: nothing is asserted.

import Foundation
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The anchors' sizes: 16M elements (flat workloads), 4096 rows of 1024 (row workloads).
let anchorElements = 16 * 1024 * 1024
let anchorRows = 4096
/// The part the interpreter checks, at the start and at the end of the data: 64K elements, or
/// 64 rows (64K elements).
let anchorCheckElements = 65_536
let anchorCheckRows = 64

extension AnchorWorkload {
  /// The anchors' size of this workload (elements, or rows).
  var fullSize: Int { isRows ? anchorRows : anchorElements }
  /// The size of each slice the interpreter checks.
  var checkSize: Int { isRows ? anchorCheckRows : anchorCheckElements }
  /// The graph at the anchors' size (also for `--asm`).
  var benchWorkload: Workload {
    Workload(name: rawValue, file: "<\(rawValue)>", text: Array(text(size: fullSize).utf8), function: functionName, bindings: [:])
  }
  var shapeLabel: String { "f32[\(resultShape(size: fullSize).map(String.init).joined(separator: ","))]" }
}

/// `n` standard normal f32 values (Box-Muller on a SplitMix64 stream), deterministic per seed:
/// the distribution of the anchors' `RandomState(0).standard_normal` (not its values).
func standardNormals(_ n: Int, seed: UInt64) -> [Float] {
  var s = seed &* 0x9E37_79B9_7F4A_7C15
  func uniform() -> Double {
    s &+= 0x9E37_79B9_7F4A_7C15
    var z = s
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return (Double(z >> 11) + 0.5) / 9_007_199_254_740_992  // (0, 1)
  }
  var out = [Float](repeating: 0, count: n)
  var i = 0
  while i < n {
    let r = (-2 * log(uniform())).squareRoot()
    let t = 2 * Double.pi * uniform()
    out[i] = Float(r * cos(t))
    if i + 1 < n { out[i + 1] = Float(r * sin(t)) }
    i += 2
  }
  return out
}

/// A 64-byte aligned copy of `v` (touched: no page faults on first use).
func alignedCopy(_ v: [Float]) -> UnsafeMutableRawPointer {
  let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, v.count * 4), alignment: 64)
  v.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
  return p
}

/// A 64-byte aligned block of `bytes` bytes (at least 1), every page touched: the caller's
/// workspace, kept for all the calls of one workload.
func touchedWorkspace(_ bytes: Int) -> UnsafeMutableRawPointer {
  let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes), alignment: 64)
  p.initializeMemory(as: UInt8.self, repeating: 0xFF, count: max(1, bytes))
  return p
}

/// NumPy's side: the formulas of the anchors' bench_numpy.py (ew_chain, gelu_tanh,
/// softmax_rows, layernorm) and bench_extra.py (axpy, axpy:out), copied verbatim, on the data
/// this program wrote (`STEM-x.npy`, ...). Before timing, it saves each formula's result on the
/// first `n` elements / `r` rows as `STEM-KEY-ref.npy` (compared with nnc's).
let elementwiseNumpySetup = """
  F32 = np.float32
  stem, n, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
  x, y, xs = np.load(stem + "-x.npy"), np.load(stem + "-y.npy"), np.load(stem + "-xsm.npy")
  w, b = np.load(stem + "-w.npy"), np.load(stem + "-b.npy")

  def ew_chain(x):
      return np.tanh(x * F32(1.5) + F32(0.5)) * (F32(1) / (F32(1) + np.exp(-x))) - x / F32(3)

  GELU_C = F32(np.sqrt(2 / np.pi))

  def gelu_tanh(x):
      return F32(0.5) * x * (F32(1) + np.tanh(GELU_C * (x + F32(0.044715) * x * x * x)))

  def softmax_rows(x):
      e = np.exp(x - x.max(-1, keepdims=True))
      return e / e.sum(-1, keepdims=True)

  def layernorm(x, w, b, eps=F32(1e-5)):
      mu = x.mean(-1, keepdims=True)
      xc = x - mu
      var = (xc * xc).mean(-1, keepdims=True)
      return xc / np.sqrt(var + eps) * w + b

  a = F32(1.5)
  z = np.empty_like(x)

  def axpy_out():
      np.multiply(x, a, out=z)
      np.add(z, y, out=z)
      return z

  cases = {
      "ew_chain": lambda: ew_chain(x),
      "gelu_tanh": lambda: gelu_tanh(x),
      "softmax_rows": lambda: softmax_rows(xs),
      "layernorm": lambda: layernorm(xs, w, b),
      "axpy": lambda: a * x + y,
      "axpy_out": axpy_out,
  }
  refs = {
      "ew_chain": ew_chain(x[:n]),
      "gelu_tanh": gelu_tanh(x[:n]),
      "softmax_rows": softmax_rows(xs[:r]),
      "layernorm": layernorm(xs[:r], w, b),
      "axpy": a * x[:n] + y[:n],
  }
  for k, v in refs.items():
      np.save(stem + "-" + k + "-ref.npy", np.ascontiguousarray(v, dtype=F32))
  """

/// System CPU time of this process so far, in seconds (page faults are served there).
func systemSeconds() -> Double {
  var u = rusage()
  getrusage(RUSAGE_SELF.rawValue, &u)
  return Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
}

/// The largest |a - b| (NaN equals NaN), the largest |b|, and how many elements differ in bits.
/// (Not ulps: these results cross zero, where a difference in the last bits of a cancellation
/// is a huge distance in ulps of a tiny result.)
func floatDistance(_ a: UnsafePointer<Float>, _ b: [Float]) -> (abs: Double, scale: Double, differ: Int) {
  var worst = 0.0
  var scale = 0.0
  var differ = 0
  for i in 0..<b.count {
    scale = max(scale, Double(abs(b[i])))
    if a[i].bitPattern == b[i].bitPattern || (a[i].isNaN && b[i].isNaN) { continue }
    differ += 1
    worst = max(worst, Double(abs(a[i] - b[i])))
  }
  return (worst, scale, differ)
}

/// Section 8. Returns the lines for the summary.
@MainActor func elementwiseSection(quick: Bool, useNumpy: Bool, scratch: Scratch) -> [String] {
  let start = now()
  let cases = AnchorWorkload.allCases
  say("\n8. Elementwise and normalization workloads of the anchor benchmarks, against NumPy in the same run")
  say("   the formulas of bench_numpy.py / bench_extra.py, one IR op per numpy step and in its order;")
  say("   f32, 1 thread; compiled (host CPU, O3) and called through nnc_NAME_packed_with_workspace on")
  say("   preallocated inputs, output and workspace")
  for w in cases { say("   \(w.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(w.shapeLabel): \(w.formula)") }

  // The data: standard normal x and y (16M), rows (4096x1024), layernorm's w = 1 + 0.1 N and
  // b = 0.1 N (as the anchors' make_data draws them).
  let dataStart = now()
  let x16 = standardNormals(anchorElements, seed: 1)
  let y16 = standardNormals(anchorElements, seed: 2)
  let xsm = standardNormals(anchorRows * AnchorWorkload.rowWidth, seed: 3)
  let lnW = standardNormals(AnchorWorkload.rowWidth, seed: 4).map { 1 + 0.1 * $0 }
  let lnB = standardNormals(AnchorWorkload.rowWidth, seed: 5).map { 0.1 * $0 }
  let values: [String: [Float]] = ["x": x16, "y": y16, "xsm": xsm, "w": lnW, "b": lnB]
  var pointers: [String: UnsafeMutableRawPointer] = [:]
  for (k, v) in values { pointers[k] = alignedCopy(v) }
  func inputNames(_ w: AnchorWorkload) -> [String] {
    switch w {
    case .ewChain, .geluTanh: return ["x"]
    case .axpy: return ["x", "y"]
    case .softmaxRows: return ["xsm"]
    case .layernorm: return ["xsm", "w", "b"]
    }
  }
  say("   data: x, y standard normal (16M each), rows standard normal (4096x1024), w = 1 + 0.1 N,")
  say("   b = 0.1 N (N: standard normal, this program's generator), made in \(fmtTime(now() - dataStart))")

  // NumPy in a child process, on the same values (written with the project's .npy writer); it
  // loads and computes its reference slices while the kernels compile.
  var numpy: NumpyTimer?
  var skipped = "--no-numpy"
  let stem = scratch.next("anchors")
  if useNumpy {
    do {
      for (k, v) in values {
        let shape = k == "xsm" ? [anchorRows, AnchorWorkload.rowWidth] : [v.count]
        try Npy.write(NDArray(v, shape: shape), to: "\(stem)-\(k).npy")
      }
      try numpyTimerScript(setup: elementwiseNumpySetup).write(toFile: stem + ".py", atomically: false, encoding: .utf8)
      numpy = NumpyTimer(
        script: stem + ".py", arguments: [stem, "\(anchorCheckElements)", "\(anchorCheckRows)"], skipped: &skipped)
    } catch { skipped = "cannot write the .npy files for NumPy: \(error)" }
  }

  struct Compiled {
    var w: AnchorWorkload
    var entry: CompiledEntry
    var pointers: [UnsafeMutableRawPointer?]
    var output: UnsafeMutableRawPointer
    var count: Int
    var traffic: Int
    /// The caller's workspace (`workspaceBytes` bytes, kept for every call).
    var workspace: UnsafeMutableRawPointer
    var workspaceBytes: Int
    var ops: Int
    var check = ""
    var vsNumpy = "-"
  }
  var compiled: [Compiled] = []
  var compileTimes: [String] = []
  for w in cases {
    let entry: CompiledEntry
    let t: CompileTimes
    do { (entry, _, t) = try coldCompile(w.benchWorkload, scratch: scratch) } catch {
      say("   \(w.rawValue): compile failed: \(error)")
      continue
    }
    let f = entry.function
    let count = w.resultShape(size: w.fullSize).reduce(1, *)
    let out = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
    out.initializeMemory(as: UInt8.self, repeating: 0, count: count * 4)  // touch every page now
    var ops = 0
    f.forEachInstruction { inst in if case .constant = inst.op {} else { ops += 1 } }
    let workspaceBytes = entry.workspaceSize(sizes: [])
    compiled.append(
      Compiled(
        w: w, entry: entry, pointers: inputNames(w).map { pointers[$0]! } + [out], output: out, count: count,
        traffic: graphTraffic(f, [:]), workspace: touchedWorkspace(workspaceBytes), workspaceBytes: workspaceBytes, ops: ops))
    compileTimes.append("\(w.rawValue) \(fmtTime(t.total))")
  }
  say("   cold compile: \(compileTimes.joined(separator: ", "))")

  // Each compiled result against the interpreter's, bit for bit, on the first and the last
  // slice (the interpreter needs seconds on the full size; every element, or every row, of
  // these workloads depends on its own element or row only, so a slice's results are the
  // whole's).
  let checkStart = now()
  for k in compiled.indices {
    let c = compiled[k]
    let status = c.entry.callUnchecked(c.pointers, sizes: [], workspace: c.workspace)
    guard status == 0 else {
      compiled[k].check = "status \(status)"
      continue
    }
    let size = c.w.checkSize
    let sliceCount = c.w.resultShape(size: size).reduce(1, *)
    var results: [String] = []
    do {
      let f = try loadGraph(c.w.text(size: size)).functions[0]
      for first in [0, c.count - sliceCount] {
        var inputs: [NDArray] = []
        for (i, name) in inputNames(c.w).enumerated() {
          let v = values[name]!
          let shape = c.w.parameterShapes(size: size)[i]
          // w and b are whole in every slice; x and y are sliced.
          inputs.append(i == 0 || name == "y" ? NDArray(Array(v[first..<first + sliceCount]), shape: shape) : NDArray(v, shape: shape))
        }
        let expected = try Interpreter.run(f, inputs)[0]
        results.append(compareBits(UnsafeRawPointer(c.output) + first * 4, expected, count: sliceCount))
      }
    } catch { results.append("interpreter: \(error)") }
    compiled[k].check = results.allSatisfy { $0 == "bit-identical" } ? "bit-identical" : results.joined(separator: "; ")
  }
  let checkSeconds = now() - checkStart

  if let p = numpy, !p.ready(&skipped) { numpy = nil }
  if numpy != nil {
    for k in compiled.indices {
      let c = compiled[k]
      do {
        let ref = try Npy.read(contentsOf: "\(stem)-\(c.w.rawValue)-ref.npy")
        guard case .f32(let r) = ref.storage, r.count <= c.count else { throw BenchError("not f32") }
        let d = floatDistance(c.output.assumingMemoryBound(to: Float.self), r)
        compiled[k].vsNumpy =
          d.differ == 0
          ? "bit-identical"
          : String(format: "%.1e (rel %.0e, %d%% differ)", d.abs, d.abs / max(d.scale, 1e-30), 100 * d.differ / r.count)
      } catch { compiled[k].vsNumpy = "? (\(error))" }
    }
  }

  let budget: Budget = quick
    ? Budget(seconds: 0.6, minSamples: 3, maxSamples: 30, sampleSeconds: 0, warmup: 1)
    : Budget(seconds: 2.5, minSamples: 6, maxSamples: 60, sampleSeconds: 0, warmup: 1)
  var numpyFailed = false
  func numpyMeasurer(_ p: NumpyTimer, _ key: String) -> (Budget) -> Stats {
    { b in
      if !numpyFailed, let s = p.measure(key, b) { return s }
      numpyFailed = true
      return Stats(median: .nan, min: .nan, samples: 0, batch: 1, faultsPerCall: .nan, times: [.nan])
    }
  }
  var items: [(Budget, (Budget) -> Stats)] = []
  // System time of nnc's calls (warm-up included), per workload and entry (caller's
  // workspace, allocating): seconds and calls.
  var system = Array(repeating: [(seconds: 0.0, calls: 0), (seconds: 0.0, calls: 0)], count: compiled.count)
  for (k, c) in compiled.enumerated() {
    let calls: [() -> Void] = [
      { _ = c.entry.callUnchecked(c.pointers, sizes: [], workspace: c.workspace) },
      { _ = c.entry.callUnchecked(c.pointers, sizes: []) },
    ]
    for (e, call) in calls.enumerated() {
      items.append(
        (
          budget,
          { b in
            let s0 = systemSeconds()
            let s = measure(b, call)
            system[k][e].seconds += systemSeconds() - s0
            system[k][e].calls += max(1, b.warmup) + s.samples * s.batch
            return s
          }
        ))
    }
    if let p = numpy { items.append((budget, numpyMeasurer(p, c.w.rawValue))) }
  }
  if let p = numpy { items.append((budget, numpyMeasurer(p, "axpy_out"))) }
  // Measurements per workload (nnc in its workspace, nnc allocating, then numpy when its
  // process answered at the start).
  let per = numpy == nil ? 2 : 3
  let measured = measureRounds(3, measurers: items)
  if let p = numpy {
    p.stop()
    if numpyFailed {
      skipped = "python3 stopped answering"
      numpy = nil
    }
  }

  var table = Table([
    "workload", "shape", "ops", "nnc", "GB/s", "faults/call", "sys/call", "workspace", "malloc'd", "faults/call", "numpy", "GB/s",
    "faults/call", "numpy/nnc", "check", "vs numpy",
  ])
  var ratioLines: [String] = []
  for (k, c) in compiled.enumerated() {
    let s = measured[per * k]
    let a = measured[per * k + 1]
    let gbs = { (t: Double) in fmt(Double(c.traffic) / t / 1e9, 2) }
    let sys = system[k][0].seconds / Double(max(1, system[k][0].calls))
    var row = [
      c.w.rawValue, c.w.shapeLabel, "\(c.ops)", fmtTime(s.median), gbs(s.median), fmt(s.faultsPerCall, 0), fmtTime(sys),
      "\(c.workspaceBytes / 1_048_576) MiB", fmtTime(a.median), fmt(a.faultsPerCall, 0),
    ]
    if numpy != nil {
      let n = measured[per * k + 2]
      row += [fmtTime(n.median), gbs(n.median), fmt(n.faultsPerCall, 0), fmtRatio(n.median / s.median)]
      ratioLines.append(
        "\(c.w.rawValue) \(c.w.shapeLabel): numpy / nnc \(fmtRatio(n.median / s.median)) (nnc \(fmtTime(s.median)) = \(gbs(s.median)) GB/s, \(fmt(s.faultsPerCall, 0)) faults/call, \(fmtTime(sys)) system time/call; malloc'd workspace \(fmtTime(a.median)), \(fmt(a.faultsPerCall, 0)) faults/call; numpy \(fmtTime(n.median)))")
    } else {
      row += ["-", "-", "-", "-"]
      ratioLines.append(
        "\(c.w.rawValue) \(c.w.shapeLabel): nnc \(fmtTime(s.median)) = \(gbs(s.median)) GB/s, \(fmt(s.faultsPerCall, 0)) faults/call, \(fmtTime(sys)) system time/call; malloc'd workspace \(fmtTime(a.median)), \(fmt(a.faultsPerCall, 0)) faults/call")
    }
    row += [c.check, c.vsNumpy]
    table.add(row)
  }
  if numpy != nil, let axpy = compiled.firstIndex(where: { $0.w == .axpy }) {
    let n = measured[measured.count - 1]
    let s = measured[per * axpy]
    let traffic = compiled[axpy].traffic
    table.add([
      "axpy:out (numpy)", compiled[axpy].w.shapeLabel, "", "", "", "", "", "", "", "", fmtTime(n.median),
      fmt(Double(traffic) / n.median / 1e9, 2), fmt(n.faultsPerCall, 0), fmtRatio(n.median / s.median), "", "",
    ])
    ratioLines.append("axpy: numpy:out (into a preallocated z) / nnc \(fmtRatio(n.median / s.median))")
  }
  say(table.render())
  say("   nnc: nnc_NAME_packed_with_workspace (callUnchecked(_:sizes:workspace:)) in one workspace of")
  say("   `workspace` bytes kept for all calls, median time per call; malloc'd: the allocating entry")
  say("   nnc_NAME_packed (malloc and free of its workspace every call); numpy: the formula as a Python")
  say("   call (fresh result arrays, as bench_numpy.py times it), timeit in one python3 process; all")
  say("   measured in 3 alternating rounds. GB/s = minimal traffic / time: every input read once and the result")
  say("   written once (ew_chain, gelu_tanh 128 MiB; axpy 192 MiB; softmax_rows 32 MiB; layernorm")
  say("   32 MiB + 8 KiB of w, b), GB = 1e9 bytes. faults/call = minor page faults per call (getrusage")
  say("   around the timed calls; numpy: of its process); sys/call = nnc's system CPU time per call")
  say("   (getrusage: where page faults are served, zeroing fresh pages). workspace = the bytes the")
  say("   entry needs (nnc_NAME_workspace_size: the plan's peak); ops = instructions but constants")
  say("   (inside fused kernels included; the fuse pass makes each workload one kernel).")
  say("   numpy/nnc > 1: nnc is faster. check: the compiled result against the interpreter, bit for")
  say("   bit, on the first and the last \(anchorCheckElements) elements (\(anchorCheckRows) rows) (\(fmtTime(checkSeconds)) of interpreter runs)")
  if let p = numpy {
    say("   vs numpy: nnc's result against numpy \(p.version)'s on the first slice: largest |Δ|, that over")
    say("   the largest |numpy result| (rel), share of elements whose bits differ; numpy's exp and tanh")
    say("   are its own SIMD code (nnc has its own approximations), and its sums are pairwise, so bits differ")
  } else {
    say("   numpy: skipped (\(skipped))")
  }
  for r in ratioLines { say("   ratio: \(r)") }
  say("   section time: \(fmtTime(now() - start))")
  for c in compiled {
    c.output.deallocate()
    c.workspace.deallocate()
  }
  for p in pointers.values { p.deallocate() }
  var summary = ratioLines
  if numpy == nil { summary.append("elementwise: no NumPy column (\(skipped))") }
  return summary
}
