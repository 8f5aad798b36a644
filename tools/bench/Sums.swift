// Section 5 of nnc-bench: float reduce_sum in its defined order (SummationOrder) against
// memcpy, plain Swift loops and NumPy. The graphs, the Swift baselines, the check against the
// interpreter and the NumPy child process.

import Foundation
import NNCIR
import NNCPasses
import NNCRuntime

#if canImport(Glibc)
  import Glibc
#endif

/// One `reduce_sum` workload: the graph `@sum(%x) -> reduce_sum %x axes=...`.
struct SumCase {
  var name: String  // workload name (also for --asm)
  var dtype: DType
  var shape: [Int]
  var axes: [Int]
  var what: String  // e.g. "rows, lane path"
  /// The NumPy call timed for the same sum (its key in the Python script).
  var numpyKey: String
  var numpyCall: String

  var label: String {
    "\(dtype)[\(shape.map(String.init).joined(separator: ","))] axes=[\(axes.map(String.init).joined(separator: ","))]"
  }
  var elements: Int { shape.reduce(1, *) }
  var inputBytes: Int { elements * dtype.byteSize }
  var resultCount: Int { (0..<shape.count).filter { !axes.contains($0) }.reduce(1) { $0 * shape[$1] } }
  var workload: Workload {
    Workload(name: name, file: "<\(name)>", text: Array(sumText(dtype, shape, axes).utf8), function: "sum", bindings: [:])
  }
}

/// `func @sum(%x: T[shape]) -> reduce_sum %x axes=axes`.
func sumText(_ dtype: DType, _ shape: [Int], _ axes: [Int]) -> String {
  let inType = "\(dtype)[\(shape.map(String.init).joined(separator: ","))]"
  let kept = (0..<shape.count).filter { !axes.contains($0) }.map { String(shape[$0]) }
  let outType = "\(dtype)[\(kept.joined(separator: ","))]"
  return """
    swiftgraph 1
    func @sum(%x: \(inType)) -> \(outType) {
      %0 = reduce_sum %x axes=[\(axes.map(String.init).joined(separator: ","))] : \(outType)
      return %0
    }

    """
}

// MARK: - Swift baselines

/// Row sums left to right, one scalar accumulator per row: without reassociation the compiler
/// cannot vectorize it, so it runs at the latency of one add per element.
@inline(never) func swiftRowSumsSequential(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
  for r in 0..<rows {
    let p = x + r * cols
    var s: Float = -0.0
    for k in 0..<cols { s += p[k] }
    out[r] = s
  }
}

/// Row sums with 8 explicit partial sums (SIMD8<Float>), in SummationOrder: lane l takes the
/// terms k with k % 8 == l, the tail goes to lanes 0, 1, ..., and the lanes combine by the same
/// tree. It gives the compiled lane path's bits, written by hand in Swift.
@inline(never) func swiftRowSumsSIMD8(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
  let groups = cols / 8
  let raw = UnsafeRawPointer(x)
  for r in 0..<rows {
    let row = raw + r * cols * 4
    var acc = SIMD8<Float>(repeating: -0.0)
    for g in 0..<groups { acc += row.loadUnaligned(fromByteOffset: g * 32, as: SIMD8<Float>.self) }
    for k in groups * 8..<cols { acc[k - groups * 8] += x[r * cols + k] }
    out[r] = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
  }
}

/// Row sums with 4 x 8 partial sums (four SIMD8<Float> accumulators taking groups of 8 in
/// turn): a different order from SummationOrder, with four independent add chains instead of
/// one. What several accumulators per lane set would give, and a read-bandwidth probe.
@inline(never) func swiftRowSums4xSIMD8(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
  let groups = cols / 8
  let raw = UnsafeRawPointer(x)
  for r in 0..<rows {
    let row = raw + r * cols * 4
    var a0 = SIMD8<Float>(repeating: -0.0)
    var (a1, a2, a3) = (a0, a0, a0)
    var g = 0
    while g + 4 <= groups {
      a0 += row.loadUnaligned(fromByteOffset: g * 32, as: SIMD8<Float>.self)
      a1 += row.loadUnaligned(fromByteOffset: g * 32 + 32, as: SIMD8<Float>.self)
      a2 += row.loadUnaligned(fromByteOffset: g * 32 + 64, as: SIMD8<Float>.self)
      a3 += row.loadUnaligned(fromByteOffset: g * 32 + 96, as: SIMD8<Float>.self)
      g += 4
    }
    while g < groups {
      a0 += row.loadUnaligned(fromByteOffset: g * 32, as: SIMD8<Float>.self)
      g += 1
    }
    for k in groups * 8..<cols { a0[k - groups * 8] += x[r * cols + k] }
    let acc = (a0 + a1) + (a2 + a3)
    out[r] = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
  }
}

// MARK: - Comparison

/// Compares `count` results at `got` with `expected` (f32 or f64) bit for bit (any NaN equals
/// any NaN): "bit-identical", or the largest difference and how many differ.
func compareBits(_ got: UnsafeRawPointer, _ expected: NDArray, count: Int) -> String {
  var differ = 0
  var worst = 0.0
  func check<T: BinaryFloatingPoint>(_ e: [T], _ bits: (T) -> UInt64) {
    let g = got.assumingMemoryBound(to: T.self)
    for i in 0..<min(count, e.count) where bits(g[i]) != bits(e[i]) && !(g[i].isNaN && e[i].isNaN) {
      differ += 1
      worst = max(worst, Double(abs(g[i] - e[i])))
    }
  }
  switch expected.storage {
  case .f32(let e):
    guard e.count >= count else { return "shape?" }
    check(e) { UInt64($0.bitPattern) }
  case .f64(let e):
    guard e.count >= count else { return "shape?" }
    check(e) { $0.bitPattern }
  default: return "dtype?"
  }
  return differ == 0 ? "bit-identical" : String(format: "max|Δ| %.1e (%d of %d differ)", worst, differ, count)
}

/// Runs the interpreter on a part of `values` (as `c`'s matrix) whose sums are also sums of the
/// whole: the first rows when the rows are summed, the first columns when the columns are (about
/// `sliceElements` elements), all of it otherwise; compares them with the compiled results at
/// `got`. Returns the comparison and the part checked.
func checkAgainstInterpreter(_ c: SumCase, _ values: [Float], _ got: UnsafeRawPointer, sliceElements: Int) -> (String, String) {
  let (rows, cols) = (c.shape[0], c.shape[1])
  var shape = c.shape
  var part: [Float]
  let on: String
  switch c.axes {
  case [1]:
    shape[0] = min(rows, max(1, sliceElements / cols))
    part = Array(values[0..<shape[0] * cols])
    on = "rows 0..<\(shape[0])"
  case [0]:
    shape[1] = min(cols, max(1, sliceElements / rows))
    part = []
    part.reserveCapacity(rows * shape[1])
    for r in 0..<rows { part += values[r * cols..<r * cols + shape[1]] }
    on = "columns 0..<\(shape[1])"
  default:
    part = Array(values[0..<c.elements])
    on = "all"
  }
  let input = c.dtype == .f32 ? NDArray(part, shape: shape) : NDArray(part.map(Double.init), shape: shape)
  let count = (0..<shape.count).filter { !c.axes.contains($0) }.reduce(1) { $0 * shape[$1] }
  do {
    let f = try loadGraph(sumText(c.dtype, shape, c.axes)).functions[0]
    let expected = try Interpreter.run(f, [input])[0]
    return (compareBits(got, expected, count: count), on)
  } catch {
    return ("interpreter: \(error)", on)
  }
}

// MARK: - NumPy

/// A Python script for `NumpyTimer`: imports numpy (or prints `no-numpy` and exits), runs
/// `setup` (Python at column 0, which loads the data and defines `cases`, a dict from key to a
/// function of no arguments), prints `ready VERSION`, then for each line `key seconds minSamples
/// maxSamples sampleSeconds warmup` on stdin times `cases[key]` with `timeit` as `measure` does
/// (a batch of calls per sample, samples until the budget is spent) and prints `key batch
/// faults t1 t2 ...`: the batch size, the minor page faults per timed call and the seconds per
/// call of each sample.
func numpyTimerScript(setup: String) -> String {
  """
  import sys, time, timeit, resource
  try:
      import numpy as np
  except ImportError:
      print("no-numpy", flush=True)
      sys.exit(0)

  """ + setup + """

  def _minflt():
      return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  print("ready", np.__version__, flush=True)
  for line in sys.stdin:
      key, seconds, lo, hi, sample, warmup = line.split()
      seconds, lo, hi, sample, warmup = float(seconds), int(lo), int(hi), float(sample), int(warmup)
      t = timeit.Timer(cases[key])
      single = 0.0
      for _ in range(max(1, warmup)):
          single = t.timeit(1)
      batch = max(1, min(1000000, int(sample / max(single, 1e-9))))
      times = []
      start = time.perf_counter()
      f0 = _minflt()
      while len(times) < hi and (len(times) < lo or time.perf_counter() - start < seconds):
          times.append(t.timeit(batch) / batch)
      print(key, batch, (_minflt() - f0) / (len(times) * batch), *times, flush=True)

  """
}

/// Section 5's script: loads the f32 matrix from the .npy file named by its argument and times
/// the sums.
let numpyScript = numpyTimerScript(
  setup: """
    x = np.load(sys.argv[1])
    x64 = x.astype(np.float64)
    xs = x.reshape(262144, 64)
    x2 = x[:64]
    cases = {
        "rows": lambda: np.sum(x, axis=1),
        "cols": lambda: np.sum(x, axis=0),
        "all": lambda: np.sum(x),
        "short": lambda: np.sum(xs, axis=1),
        "rows64": lambda: np.sum(x64, axis=1),
        "rows_l2": lambda: np.sum(x2, axis=1),
    }
    """)

/// One `python3` process running a `numpyTimerScript` that times NumPy calls on request
/// (`NumpyTimer.measure`). Sections 5 and 8 use it.
final class NumpyTimer {
  let process = Process()
  let input = Pipe()
  let output = Pipe()
  var pending = Data()
  /// NumPy's version, or why there is no NumPy column.
  var version = ""

  /// Starts `python3 script arguments...`; `nil` (with the reason in `skipped`) when python3
  /// cannot start. The child runs with one BLAS/OpenMP thread (nnc's code is single-threaded;
  /// numpy's ufuncs and sums are anyway).
  init?(script: String, arguments: [String], skipped: inout String) {
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + arguments
    var env = ProcessInfo.processInfo.environment
    for k in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { env[k] = "1" }
    process.environment = env
    process.standardInput = input
    process.standardOutput = output
    do { try process.run() } catch {
      skipped = "cannot start python3 (\(error))"
      return nil
    }
  }

  /// Waits for the script to load the data: false (with the reason) when it cannot.
  func ready(_ skipped: inout String) -> Bool {
    guard let line = readLine() else {
      skipped = "python3 not found or failed (exit status \(stop()))"
      return false
    }
    if line == "no-numpy" {
      skipped = "python3 has no numpy"
      _ = stop()
      return false
    }
    guard line.hasPrefix("ready ") else {
      skipped = "unexpected output from python3: \(line)"
      _ = stop()
      return false
    }
    version = String(line.dropFirst(6))
    return true
  }

  func readLine() -> String? {
    while true {
      if let i = pending.firstIndex(of: 10) {
        let line = String(decoding: pending[pending.startIndex..<i], as: UTF8.self)
        pending = Data(pending[(i + 1)...])
        return line
      }
      let d = output.fileHandleForReading.availableData
      if d.isEmpty { return nil }
      pending.append(d)
    }
  }

  /// Times the case `key` with `budget`, as `measure` does; nil when Python failed.
  func measure(_ key: String, _ budget: Budget) -> Stats? {
    let request = "\(key) \(budget.seconds) \(budget.minSamples) \(budget.maxSamples) \(budget.sampleSeconds) \(budget.warmup)\n"
    input.fileHandleForWriting.write(Data(request.utf8))
    guard let line = readLine() else { return nil }
    let fields = line.split(separator: " ")
    guard fields.count >= 4, fields[0] == key, let batch = Int(fields[1]), let faults = Double(fields[2]) else { return nil }
    let times = fields.dropFirst(3).compactMap { Double($0) }
    guard !times.isEmpty else { return nil }
    return Stats(
      median: median(times), min: times.min()!, samples: times.count, batch: batch, faultsPerCall: faults, times: times)
  }

  /// Closes its input and waits for it; returns the exit status.
  @discardableResult func stop() -> Int32 {
    try? input.fileHandleForWriting.close()
    process.waitUntilExit()
    return process.terminationStatus
  }
}
