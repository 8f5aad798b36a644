// nnc-bench: figures for compiled code against the reference interpreter, and compile times.
// It prints measurements only; it never asserts a timing. See tools/bench/README.md.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport

#if canImport(Glibc)
  import Glibc
#endif

let usage = """
  usage: nnc-bench [--quick] [--no-interp-chain] [--no-numpy] [--samples DIR] [--asm NAME]
                   [--compile-time] [--elementwise] [--gemm] [--rnn-steps LIST] [--rnn-run T] [--rnn-graph T]
                   [--help]

  Prints, as tables and as ratios measured in the same run:
    1. cold compile time of each sample: loadGraph -> compile (O3, object) -> link (.so) -> dlopen
    2. compiled code against the interpreter on each sample (time per call, speedup)
    3. a 16M-float elementwise chain: time per call and effective GB/s, with baselines
    4. which kernels LLVM vectorized (from the emitted assembly)
    5. float reduce_sum in its defined order (16M elements) against memcpy, Swift loops, NumPy
    6. compile time against graph size (elementwise chains, one wide concat): time per op
    7. compile time of unrolled RNNs (T = 10 ... 160) and the samples, each in a child process:
       time per instruction, functions in the object, peak memory; run time of one compiled RNN
    8. the anchor benchmarks' elementwise and normalization workloads (ew_chain, gelu_tanh,
       softmax_rows, layernorm, axpy) against NumPy on the same data: time, GB/s, page faults
    9. matmul 1024^3 f32 against NumPy and the machine's FMA and multiply + add peaks (measured
       by a C loop built with cc): GFLOP/s and % of the peaks, 1 thread

    --quick            a short run (about 1.5 min instead of about 2.5 min); noisier figures
    --no-interp-chain  skip the interpreter on the 16M chain (its slowest part)
    --no-numpy         leave out the NumPy columns of sections 5 and 8 (no python3 process)
    --samples DIR      where lenet/mlp/select_branch.swiftgraph are
                       (default: Samples/models of this checkout)
    --asm NAME         print the O3 assembly for the host of NAME (lenet, mlp, select_branch,
                       chain, chain2d, sum_rows, sum_cols, sum_all, sum_short, sum_rows_f64,
                       sum_rows_l2, ew_chain, gelu_tanh, softmax_rows, layernorm, axpy, or rnnT
                       for the unrolled RNN of T steps) and exit
    --llvm-ir NAME     the same with the optimized LLVM IR
    --compile-time     only the header and section 7
    --elementwise      only the header and section 8
    --gemm             only the header and section 9
    --rnn-steps LIST   the RNN lengths of section 7 (default 10,20,40,80,160)
    --rnn-run T        the RNN whose run time section 7 measures (default 20; 0: none)
    --rnn-graph T      print the unrolled RNN of T steps as .swiftgraph text and exit
    --help             this text

  Run it as: swift run -c release nnc-bench [--quick]
  """

// MARK: - Options

/// Writes `s` to standard error.
func printError(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

/// Prints and flushes (so a piped run shows progress).
func say(_ s: String = "") {
  print(s)
  fflush(nil)
}

var quick = false
var interpChain = true
var useNumpy = true
var asmName: String?
var emitIR = false
var compileTimeOnly = false
var elementwiseOnly = false
var gemmOnly = false
var rnnSteps = [10, 20, 40, 80, 160]
var rnnRun: Int? = 20
/// Parses a positive step count (or `0` where `zeroOK`), or exits with a usage error.
func stepCount(_ s: String?, _ option: String, zeroOK: Bool = false) -> Int {
  guard let s, let n = Int(s), n >= (zeroOK ? 0 : 1) else {
    printError("nnc-bench: \(option) needs a step count\n")
    exit(2)
  }
  return n
}
var samplesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("../../Samples/models").standardized.path
do {
  var args = CommandLine.arguments.dropFirst()
  while let a = args.popFirst() {
    switch a {
    case "--quick": quick = true
    case "--no-interp-chain": interpChain = false
    case "--no-numpy": useNumpy = false
    case "--samples":
      guard let d = args.popFirst() else { printError("nnc-bench: --samples needs a directory\n"); exit(2) }
      samplesDir = d
    case "--asm":
      guard let n = args.popFirst() else { printError("nnc-bench: --asm needs a name\n"); exit(2) }
      asmName = n
    case "--llvm-ir":
      guard let n = args.popFirst() else { printError("nnc-bench: --llvm-ir needs a name\n"); exit(2) }
      asmName = n
      emitIR = true
    case "--compile-time": compileTimeOnly = true
    case "--elementwise": elementwiseOnly = true
    case "--gemm": gemmOnly = true
    case "--rnn-steps":
      rnnSteps = (args.popFirst() ?? "").split(separator: ",").map { stepCount(String($0), "--rnn-steps") }
      if rnnSteps.isEmpty { _ = stepCount(nil, "--rnn-steps") }
    case "--rnn-run":
      let n = stepCount(args.popFirst(), "--rnn-run", zeroOK: true)
      rnnRun = n == 0 ? nil : n
    case "--rnn-graph":
      print(UnrolledRNN(steps: stepCount(args.popFirst(), "--rnn-graph")).text, terminator: "")
      exit(0)
    case "--compile-child":
      // Internal: section 7 runs this program once per graph (--compile-child PATH FUNCTION SECONDS).
      let rest = Array(args)
      guard rest.count == 3, let budget = Double(rest[2]) else { printError("nnc-bench: bad --compile-child\n"); exit(2) }
      compileChildMain(path: rest[0], function: rest[1], budget: budget)
    case "--help", "-h": print(usage); exit(0)
    default: printError("nnc-bench: unknown argument '\(a)'\n\(usage)\n"); exit(2)
    }
  }
}
if !FileManager.default.fileExists(atPath: samplesDir) && FileManager.default.fileExists(atPath: "Samples/models") {
  samplesDir = "Samples/models"  // a binary built elsewhere, run from the repository root
}

// Budgets: compiled calls are cheap to sample; the interpreter is not.
let fast = quick
  ? Budget(seconds: 0.3, minSamples: 5, maxSamples: 50, sampleSeconds: 0.005, warmup: 2)
  : Budget(seconds: 1.5, minSamples: 11, maxSamples: 200, sampleSeconds: 0.01, warmup: 3)
let slow = quick
  ? Budget(seconds: 0.5, minSamples: 3, maxSamples: 20, sampleSeconds: 0.005, warmup: 1)
  : Budget(seconds: 3.0, minSamples: 5, maxSamples: 100, sampleSeconds: 0.01, warmup: 1)
let compileRuns = quick ? 3 : 7
let started = now()

// MARK: - Workloads

@MainActor func sample(_ name: String, function: String, bindings: [String: Int], fix: @escaping ([NDArray]) -> [NDArray] = { $0 }) -> Workload {
  let path = samplesDir + "/\(name).swiftgraph"
  guard let data = FileManager.default.contents(atPath: path) else {
    printError("nnc-bench: cannot read \(path) (use --samples DIR)\n")
    exit(1)
  }
  return Workload(name: name, file: path, text: Array(data), function: function, bindings: bindings, fixInputs: fix)
}

let lenetBatch = 16
let mlpBatch = 64
let samples = [
  sample("lenet", function: "lenet", bindings: ["N": lenetBatch]),
  sample("mlp", function: "mlp", bindings: ["N": mlpBatch]),
  sample("select_branch", function: "select_branch", bindings: [:]) { xs in
    var xs = xs
    xs[1] = NDArray([Float(-1)], shape: [])  // z < 0: the then-branch
    return xs
  },
]
let chainN = 16_777_216
let chainWorkloads = [
  Workload(name: "chain", file: "<chain>", text: Array(chainText(shape: [chainN]).utf8), function: "chain", bindings: [:]),
  Workload(name: "chain2d", file: "<chain2d>", text: Array(chainText(shape: [4096, 4096]).utf8), function: "chain", bindings: [:]),
]
let sumSide = 4096
let sumCases = [
  SumCase(name: "sum_rows", dtype: .f32, shape: [sumSide, sumSide], axes: [1], what: "rows, lane path", numpyKey: "rows", numpyCall: "np.sum(x, axis=1)"),
  SumCase(name: "sum_cols", dtype: .f32, shape: [sumSide, sumSide], axes: [0], what: "columns, row path", numpyKey: "cols", numpyCall: "np.sum(x, axis=0)"),
  SumCase(name: "sum_all", dtype: .f32, shape: [sumSide, sumSide], axes: [0, 1], what: "everything, lane path", numpyKey: "all", numpyCall: "np.sum(x)"),
  SumCase(name: "sum_short", dtype: .f32, shape: [262_144, 64], axes: [1], what: "short rows, lane path", numpyKey: "short", numpyCall: "np.sum(x.reshape(262144,64), axis=1)"),
  SumCase(name: "sum_rows_f64", dtype: .f64, shape: [sumSide, sumSide], axes: [1], what: "f64 rows, lane path", numpyKey: "rows64", numpyCall: "np.sum(x.astype(float64), axis=1)"),
  // The first 64 rows (1 MiB), which stay in L2 from call to call: the sum's own speed.
  SumCase(name: "sum_rows_l2", dtype: .f32, shape: [64, sumSide], axes: [1], what: "1 MiB of rows, in cache", numpyKey: "rows_l2", numpyCall: "np.sum(x[:64], axis=1)"),
]
if let name = asmName {
  var named = samples + chainWorkloads + sumCases.map(\.workload) + AnchorWorkload.allCases.map(\.benchWorkload)
  if name.hasPrefix("rnn"), let t = Int(name.dropFirst(3)), t > 0 {
    named.append(Workload(name: name, file: "<\(name)>", text: Array(UnrolledRNN(steps: t).text.utf8), function: UnrolledRNN.functionName, bindings: [:]))
  }
  guard let w = named.first(where: { $0.name == name }) else {
    printError("nnc-bench: \(emitIR ? "--llvm-ir" : "--asm"): unknown name '\(name)'\n")
    exit(2)
  }
  do {
    // Through the default pipeline, as the timed sections compile it.
    var g = try loadGraph(w.text, file: w.file)
    _ = try PassManager(passes: Passes.defaultPipeline).run(&g)
    let m = try compile(g, options: CompileOptions(emitAssembly: !emitIR, emitLLVMIR: emitIR))
    print((emitIR ? m.llvmIR : m.assembly) ?? "")
  } catch {
    printError("nnc-bench: \(error)\n")
    exit(1)
  }
  exit(0)
}

// MARK: - Header

/// The 1, 5 and 15 minute load averages (the machine is shared: a high load means noisy figures).
func loadAverage() -> String {
  guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
  return text.split(separator: " ").prefix(3).joined(separator: " ")
}

func cpuModel() -> String {
  guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "?" }
  var fields: [String: String] = [:]
  for line in text.split(separator: "\n") {
    let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
    if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
    if line.isEmpty { break }
  }
  return "\(fields["model name"] ?? "?") (family \(fields["cpu family"] ?? "?"), model \(fields["model"] ?? "?"))"
}

func compilerVersion() -> String {
  #if compiler(>=6.4)
    return "Swift >= 6.4"
  #elseif compiler(>=6.3)
    return "Swift 6.3"
  #elseif compiler(>=6.2)
    return "Swift 6.2"
  #else
    return "Swift < 6.2"
  #endif
}

#if DEBUG
  let configuration = "debug (figures are not meaningful: build with -c release)"
#else
  let configuration = "release"
#endif

let host: (cpu: String, features: String)
do { host = try hostTarget() } catch {
  printError("nnc-bench: cannot initialize LLVM: \(error)\n")
  exit(1)
}
let enabled = host.features.split(separator: ",").filter { $0.hasPrefix("+") }.map { String($0.dropFirst()) }
let shown = ["sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512vnni", "avx512bf16"]
  .filter { enabled.contains($0) }
let ccVersion = (try? runTool(systemCC, ["--version"]))?.split(separator: "\n").first.map(String.init) ?? "?"
let dateFormatter = DateFormatter()
dateFormatter.locale = Locale(identifier: "en_US_POSIX")
dateFormatter.dateFormat = "yyyy-MM-dd HH:mm:ss ZZZZZ"

say("nnc-bench: compiled code vs the reference interpreter, and compile times")
say("  date     \(dateFormatter.string(from: Date()))")
say("  cpu      \(cpuModel()), \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) online cpus")
say("  llvm     host cpu '\(host.cpu)', \(enabled.count) features on, incl. \(shown.joined(separator: " "))")
say("  build    nnc-bench \(configuration), \(compilerVersion()), \(codegenVersion), LLVM 14 C API, O3, PIC")
say("  linker   \(systemCC): \(ccVersion)")
say(
  "  mode     \(quick ? "--quick (short budgets: noisier)" : "full")\(interpChain ? "" : ", --no-interp-chain")"
    + "\(compileTimeOnly ? ", --compile-time" : "")\(elementwiseOnly ? ", --elementwise" : "")\(gemmOnly ? ", --gemm" : "")\(useNumpy ? "" : ", --no-numpy")")
say("  load     \(loadAverage()) (1/5/15 min load average at the start)")
say("  timing   median of repeated samples (short calls batched); the machine is shared: compare")
say("           ratios measured in this run rather than figures across runs")

let scratch = Scratch()
var summary: [String] = []

if compileTimeOnly || elementwiseOnly || gemmOnly {
  var lines: [String] = []
  if compileTimeOnly {
    lines += rnnCompileTimeSection(steps: rnnSteps, samples: samples, runStep: rnnRun, quick: quick, scratch: scratch)
  }
  if elementwiseOnly { lines += elementwiseSection(quick: quick, useNumpy: useNumpy, scratch: scratch) }
  if gemmOnly { lines += gemmSection(quick: quick, useNumpy: useNumpy, scratch: scratch) }
  say("\nSummary (ratios from this run)")
  for s in lines { say("  \(s)") }
  say("  total benchmark time: \(fmtTime(now() - started)); load average at the end: \(loadAverage())")
  scratch.cleanup()
  exit(0)
}

@MainActor func fail(_ what: String, _ error: Error) -> Never {
  printError("nnc-bench: \(what): \(error)\n")
  scratch.cleanup()
  exit(1)
}

// MARK: - 1. Cold compile

say("\n1. Cold compile: loadGraph -> compile (O3, object) -> link (.so) -> dlopen")
say("   median of \(compileRuns) runs per sample, each from the text with a new .o/.so path;")
say("   LLVM's target was initialized before (hostTarget() for the header)")
var entries: [String: CompiledEntry] = [:]
var firstCompile: (String, Double)?
var compileTable = Table([
  "sample", "instrs", "parse+verify", "compile", "write+link", "dlopen", "total", "min total", "first run", ".o bytes",
])
var lenetCompile = 0.0
for w in samples {
  var runs: [CompileTimes] = []
  var instrs = 0
  for _ in 0..<compileRuns {
    do {
      let (entry, graph, t) = try coldCompile(w, scratch: scratch)
      entries[w.name] = entry
      runs.append(t)
      instrs = 0
      graph.functions.forEach { $0.forEachInstruction { _ in instrs += 1 } }
      if firstCompile == nil { firstCompile = (w.name, t.total) }
    } catch { fail("compiling \(w.name)", error) }
  }
  let totals = runs.map(\.total)
  if w.name == "lenet" { lenetCompile = median(totals) }
  compileTable.add([
    w.name, "\(instrs)", fmtTime(median(runs.map(\.parse))), fmtTime(median(runs.map(\.compile))),
    fmtTime(median(runs.map(\.link))), fmtTime(median(runs.map(\.load))), fmtTime(median(totals)),
    fmtTime(totals.min()!), fmtTime(runs[0].total), "\(runs[0].objectBytes)",
  ])
}
say(compileTable.render())
say("   compile = verify + LLVM lowering + O3 + object emission (one call); write+link = write the")
say("   .o and run `\(systemCC) -shared`; columns are medians per stage, `total` the median total")
summary.append("cold compile LeNet (median total): \(fmtTime(lenetCompile))")

// MARK: - 2. Compiled vs interpreter

/// FLOPs of the top-level matmuls and convolutions (2 per multiply-add).
func macFlops(_ f: Function, _ bindings: [String: Int]) -> Double {
  var total = 0.0
  for inst in f.body.instructions {
    guard let rt = f.type(of: inst.results.first ?? Value(-1))?.resolved(bindings).staticShape else { continue }
    let out = Double(rt.reduce(1, *))
    switch inst.op {
    case .matmul:
      let at = f.type(of: inst.operands[0])!.resolved(bindings).staticShape!
      total += 2 * out * Double(at.last!)
    case .conv2d:
      let wt = f.type(of: inst.operands[1])!.resolved(bindings).staticShape!
      total += 2 * out * Double(wt[1] * wt[2] * wt[3])
    default: break
    }
  }
  return total
}

say("\n2. Compiled vs interpreter, time per call (median over 3 alternating rounds)")
say("   callUnchecked: preallocated raw buffers, no checks (the kernels' time);")
say("   run: checks inputs, allocates outputs, calls; interpreter: Interpreter.run (verifies each call)")
var runTable = Table([
  "sample", "inputs", "interpreter", "run", "callUnchecked", "speedup", "speedup(run)", "run overhead", "GFLOP/s",
  "max|Δ|",
])
for w in samples {
  let entry = entries[w.name]!
  let f = entry.function
  let inputs = w.fixInputs(makeInputs(f, w.bindings, seed: 7))
  let buffers = Buffers(f, inputs, w.bindings)
  let expected: [NDArray]
  let viaRun: [NDArray]
  do {
    expected = try Interpreter.run(f, inputs)
    viaRun = try entry.run(inputs)
  } catch { fail("running \(w.name)", error) }
  let status = entry.callUnchecked(buffers.pointers, sizes: buffers.sizes)
  var diff = 0.0
  for k in expected.indices {
    diff = max(diff, maxAbsDiff(buffers.outputFloats(k), expected[k]))
    if case .f32(let r) = viaRun[k].storage { diff = max(diff, maxAbsDiff(r, expected[k])) }
  }
  let stats = measureRounds(
    3,
    [
      (slow, { _ = try! Interpreter.run(f, inputs) }),
      (fast, { _ = try! entry.run(inputs) }),
      (fast, { _ = entry.callUnchecked(buffers.pointers, sizes: buffers.sizes) }),
    ])
  let (interp, run, unchecked) = (stats[0], stats[1], stats[2])
  let flops = macFlops(f, w.bindings)
  let shape = f.parameterTypes[0].resolved(w.bindings).description
  runTable.add([
    w.name, shape, fmtTime(interp.median), fmtTime(run.median), fmtTime(unchecked.median),
    fmtRatio(interp.median / unchecked.median), fmtRatio(interp.median / run.median),
    fmtTime(run.median - unchecked.median), flops > 0 ? fmt(flops / unchecked.median / 1e9, 2) : "-",
    status == 0 ? String(format: "%.1e", diff) : "status \(status)",
  ])
  summary.append(
    "\(w.name) \(shape): compiled \(fmtRatio(interp.median / unchecked.median)) faster than the interpreter (callUnchecked), \(fmtRatio(interp.median / run.median)) via run")
}
say(runTable.render())
say("   speedup = interpreter / callUnchecked; speedup(run) = interpreter / run; GFLOP/s counts the")
say("   matmuls and convolutions only (2 per multiply-add) at the callUnchecked time; max|Δ| is the")
say("   largest difference between compiled results (both paths) and the interpreter's")

// MARK: - 3. Elementwise chain

say("\n3. Elementwise chain y = max((x * 1.5 + b) * x - 0.25, 0), x and b f32[\(chainN)] (64 MiB each)")
say("   five ops, three with a scalar operand; each op is its own kernel (no fusion yet), so")
say("   the compiled code mallocs 4 intermediates of 64 MiB per call (fresh pages: page faults)")

var chainTable = Table(["variant", "time/call", "graph GB/s", "kernel GB/s", "faults/call", "samples", "max|Δ|"])
var chainFigures: [String: Double] = [:]
let chainGraphBytes = 3 * chainN * 4  // read x and b, write y

/// Adds a row: GB/s from `graphBytes` (inputs + outputs) and `kernelBytes` (all kernels' traffic).
@MainActor func chainRow(_ name: String, _ s: Stats, graphBytes: Int, kernelBytes: Int?, diff: String) {
  chainTable.add([
    name, fmtTime(s.median), fmt(Double(graphBytes) / s.median / 1e9, 2),
    kernelBytes.map { fmt(Double($0) / s.median / 1e9, 2) } ?? "-", fmt(s.faultsPerCall, 0),
    "\(s.samples)x\(s.batch)", diff,
  ])
  chainFigures[name] = s.median
}

let chainStats: Budget = quick
  ? Budget(seconds: 0.6, minSamples: 3, maxSamples: 30, sampleSeconds: 0, warmup: 1)
  : Budget(seconds: 2.5, minSamples: 9, maxSamples: 60, sampleSeconds: 0, warmup: 1)

// Swift baselines over preallocated, touched buffers.
let xs = makeInputs(
  try! loadGraph(chainText(shape: [chainN])).functions[0], [:], seed: 11)
let xPtr = UnsafeMutablePointer<Float>.allocate(capacity: chainN)
let bPtr = UnsafeMutablePointer<Float>.allocate(capacity: chainN)
let yPtr = UnsafeMutablePointer<Float>.allocate(capacity: chainN)
let temps = (0..<4).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: chainN) }
if case .f32(let v) = xs[0].storage { v.withUnsafeBufferPointer { xPtr.initialize(from: $0.baseAddress!, count: chainN) } }
if case .f32(let v) = xs[1].storage { v.withUnsafeBufferPointer { bPtr.initialize(from: $0.baseAddress!, count: chainN) } }
yPtr.initialize(repeating: 0, count: chainN)
for t in temps { t.initialize(repeating: 0, count: chainN) }

@inline(never) func swiftFused(_ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
  for i in 0..<n {
    let v = (x[i] * 1.5 + b[i]) * x[i] - 0.25
    y[i] = v.isNaN ? v : (v > 0 ? v : 0)
  }
}
@inline(never) func swiftUnfused(
  _ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ t: [UnsafeMutablePointer<Float>], _ n: Int
) {
  let (t0, t1, t2, t3) = (t[0], t[1], t[2], t[3])
  for i in 0..<n { t0[i] = x[i] * 1.5 }
  for i in 0..<n { t1[i] = t0[i] + b[i] }
  for i in 0..<n { t2[i] = t1[i] * x[i] }
  for i in 0..<n { t3[i] = t2[i] - 0.25 }
  for i in 0..<n {
    let v = t3[i]
    y[i] = v.isNaN ? v : (v > 0 ? v : 0)
  }
}

@inline(never) func swiftUnfusedMalloc(_ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
  let t = (0..<4).map { _ in malloc(n * 4)!.assumingMemoryBound(to: Float.self) }
  swiftUnfused(x, b, y, t, n)
  for p in t { free(p) }
}

// Compile both shapes first, then measure everything in alternating rounds.
struct ChainVariant {
  var label: String
  var entry: CompiledEntry
  var inputs: [NDArray]
  var buffers: Buffers
  var diff: String
  var output: [Float]
}
var variants: [ChainVariant] = []
for shape in [[chainN], [4096, 4096]] {
  let label = "f32[\(shape.map(String.init).joined(separator: ","))]"
  let w = Workload(name: "chain\(shape.count)d", file: "<chain \(label)>", text: Array(chainText(shape: shape).utf8), function: "chain", bindings: [:])
  let entry: CompiledEntry
  let compileTime: CompileTimes
  do { (entry, _, compileTime) = try coldCompile(w, scratch: scratch) } catch { fail("compiling the chain", error) }
  let inputs = [NDArray(shape: shape, storage: xs[0].storage), NDArray(shape: shape, storage: xs[1].storage)]
  let buffers = Buffers(entry.function, inputs, [:])
  let status = entry.callUnchecked(buffers.pointers, sizes: buffers.sizes)
  let out = buffers.outputFloats(0)
  variants.append(ChainVariant(label: label, entry: entry, inputs: inputs, buffers: buffers, diff: status == 0 ? "" : "status \(status)", output: out))
  say("   \(label): cold compile \(fmtTime(compileTime.total)) (compile \(fmtTime(compileTime.compile)))")
}
let chainKernelTraffic = kernelTraffic(variants[0].entry.function, [:])
swiftFused(xPtr, bPtr, yPtr, chainN)
let reference = Array(UnsafeBufferPointer(start: yPtr, count: chainN))
for k in variants.indices where variants[k].diff.isEmpty {
  let d = zip(variants[k].output, reference).reduce(0.0) { max($0, Double(abs($1.0 - $1.1))) }
  variants[k].diff = String(format: "%.1e", d)
}
var runBudget = chainStats
runBudget.minSamples = quick ? 3 : 6
runBudget.seconds /= 2
var chainItems: [(Budget, () -> Void)] = [
  (chainStats, { memcpy(temps[0], xPtr, chainN * 4) }),
  (chainStats, { swiftFused(xPtr, bPtr, yPtr, chainN) }),
  (chainStats, { swiftUnfused(xPtr, bPtr, yPtr, temps, chainN) }),
  (chainStats, { swiftUnfusedMalloc(xPtr, bPtr, yPtr, chainN) }),
]
for v in variants {
  chainItems.append((chainStats, { _ = v.entry.callUnchecked(v.buffers.pointers, sizes: v.buffers.sizes) }))
  chainItems.append((runBudget, { _ = try! v.entry.run(v.inputs) }))
}
let chainMeasured = measureRounds(3, chainItems)
let memcpyStats = chainMeasured[0]
let fusedStats = chainMeasured[1]
let unfusedStats = chainMeasured[2]
let mallocStats = chainMeasured[3]
chainRow("baseline: memcpy 64 MiB", memcpyStats, graphBytes: 2 * chainN * 4, kernelBytes: nil, diff: "")
chainRow("baseline: Swift loop, fused", fusedStats, graphBytes: chainGraphBytes, kernelBytes: chainGraphBytes, diff: "")
chainRow("baseline: Swift, 5 passes, preallocated", unfusedStats, graphBytes: chainGraphBytes, kernelBytes: chainKernelTraffic, diff: "")
chainRow("baseline: Swift, 5 passes, malloc per call", mallocStats, graphBytes: chainGraphBytes, kernelBytes: chainKernelTraffic, diff: "")
for (k, v) in variants.enumerated() {
  chainRow("compiled \(v.label), callUnchecked", chainMeasured[4 + 2 * k], graphBytes: chainGraphBytes, kernelBytes: chainKernelTraffic, diff: v.diff)
  chainRow("compiled \(v.label), run", chainMeasured[5 + 2 * k], graphBytes: chainGraphBytes, kernelBytes: chainKernelTraffic, diff: "")
}
if interpChain {
  let v = variants[0]
  var result: [NDArray] = []
  var times: [Double] = []
  for _ in 0..<(quick ? 1 : 2) {
    let t0 = now()
    let f0 = minorFaults()
    result = try! Interpreter.run(v.entry.function, v.inputs)
    times.append(now() - t0)
    chainRow(
      "interpreter \(v.label) (run \(times.count))",
      Stats(median: times.last!, min: times.last!, samples: 1, batch: 1, faultsPerCall: Double(minorFaults() - f0)),
      graphBytes: chainGraphBytes, kernelBytes: chainKernelTraffic, diff: "")
  }
  chainTable.rows[chainTable.rows.count - 1][6] = String(format: "%.1e", maxAbsDiff(v.output, result[0]))
  chainFigures["interp"] = median(times)
}
say(chainTable.render())
say("   graph GB/s = (x + b read, y written: \(chainGraphBytes / 1_048_576) MiB) / time; kernel GB/s = traffic of every")
say("   op as its own kernel (\(chainKernelTraffic / 1_048_576) MiB: each op reads its operands and writes a full buffer)")
say("   / time; GB = 1e9 bytes. Writes also cost a read for ownership (not counted). faults/call =")
say("   minor page faults per call. The interpreter runs \(quick ? "once" : "twice") on the chain (it is slow);")
say("   max|Δ| compares with the Swift fused loop (interpreter row: with the compiled result)")
let compiled1D = chainFigures["compiled f32[\(chainN)], callUnchecked"]!
let compiled2D = chainFigures["compiled f32[4096,4096], callUnchecked"]!
var chainRatios = [
  "compiled f32[\(chainN)] / Swift fused loop: \(fmtRatio(compiled1D / fusedStats.median)) the time (what fusion can win)",
  "compiled f32[\(chainN)] / Swift 5 passes, preallocated: \(fmtRatio(compiled1D / unfusedStats.median)) the time (intermediates malloc'd per call)",
  "compiled f32[\(chainN)] / Swift 5 passes, malloc per call: \(fmtRatio(compiled1D / mallocStats.median)) the time (same structure)",
  "Swift 5 passes, malloc per call / preallocated: \(fmtRatio(mallocStats.median / unfusedStats.median)) the time (page faults)",
  "compiled f32[4096,4096] / f32[\(chainN)]: \(fmtRatio(compiled2D / compiled1D)) the time",
]
if let i = chainFigures["interp"] { chainRatios.insert("interpreter / compiled f32[\(chainN)]: \(fmtRatio(i / compiled1D)) the time", at: 0) }
for r in chainRatios { say("   ratio: \(r)") }
summary.append(
  "16M chain compiled: \(fmtTime(compiled1D)) per call = \(fmt(Double(chainGraphBytes) / compiled1D / 1e9, 2)) GB/s graph I/O, \(fmt(Double(chainKernelTraffic) / compiled1D / 1e9, 2)) GB/s per-op kernel traffic (memcpy: \(fmt(Double(2 * chainN * 4) / memcpyStats.median / 1e9, 2)) GB/s)"
)
summary += chainRatios
xPtr.deallocate()
bPtr.deallocate()
yPtr.deallocate()
for t in temps { t.deallocate() }

// MARK: - 4. Vectorization

say("\n4. Functions in the emitted assembly (host CPU, O3): packed vs scalar f32 instructions")
var asmTable = Table(["function", "instrs", "packed ops", "widest", "scalar ops", "gather/scatter", "verdict"])
let asmWorkloads = samples + chainWorkloads
var scalarKernels: [String] = []
for w in asmWorkloads {
  do {
    var g = try loadGraph(w.text, file: w.file)
    _ = try PassManager(passes: Passes.defaultPipeline).run(&g)
    let m = try compile(g, options: CompileOptions(emitAssembly: true))
    for k in analyzeAssembly(m.assembly ?? "") where !k.name.hasSuffix("_packed") {
      var name = k.name.contains(".k") ? k.name : k.name + " (entry)"
      if w.name == "chain2d" { name = name.replacingOccurrences(of: "nnc_chain", with: "nnc_chain[4096,4096]") }
      let arithmetic = k.packed + k.scalar > 0
      let verdict = !arithmetic ? "-" : (k.packed > 0 ? (k.scalar > k.packed ? "mixed" : "vector") : "SCALAR")
      if verdict == "SCALAR" || verdict == "mixed" { scalarKernels.append(name) }
      asmTable.add([
        name, "\(k.instructions)", "\(k.packed)", k.widest.isEmpty ? "-" : k.widest, "\(k.scalar)", "\(k.gathers)", verdict,
      ])
    }
  } catch { fail("compiling \(w.name) to assembly", error) }
}
say(asmTable.render())
say("   packed ops: v{add,sub,mul,div,max,min,fmadd..}ps; scalar ops: the same on one element (..ss);")
say("   leaving out moves, shuffles and conversions; '-' = no f32 compute; gather/scatter = vgather..")
say("   and vscatter.. (vectorized across a strided dimension). Kernels are noinline and shared")
say("   within a module (one per distinct op, attributes and types), so each has its own row")
if !scalarKernels.isEmpty { summary.append("kernels without (or mostly without) packed f32 arithmetic: \(scalarKernels.joined(separator: ", "))") }

// MARK: - 5. Float sums

say("\n5. Float sums: reduce_sum in its defined order (SummationOrder), x of \(sumSide * sumSide) elements")
say("   lane path (last axis reduced): per result one <8 x float> vector of lane sums, one vector add")
say("   per 8 contiguous terms, then the fixed combine tree; row path (last axis kept): the rows are")
say("   added one by one into the results (vectorized across results)")
let sumStart = now()
let sumElements = sumSide * sumSide
let sumValues: [Float]
do {
  let f = try! loadGraph(sumText(.f32, [sumSide, sumSide], [1])).functions[0]
  guard case .f32(let v) = makeInputs(f, [:], seed: 13)[0].storage else { fatalError("f32 inputs") }
  sumValues = v
}
// The inputs once, 64-byte aligned: f32 (every f32 case reads the same 64 MiB) and the same
// values as f64 (128 MiB); a destination for memcpy.
let sumX32 = UnsafeMutableRawPointer.allocate(byteCount: sumElements * 4, alignment: 64)
sumValues.withUnsafeBytes { sumX32.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
let sumX64 = UnsafeMutableRawPointer.allocate(byteCount: sumElements * 8, alignment: 64)
do {
  let p = sumX64.bindMemory(to: Double.self, capacity: sumElements)
  for i in 0..<sumElements { p[i] = Double(sumValues[i]) }
}
let sumCopy = UnsafeMutableRawPointer.allocate(byteCount: sumElements * 8, alignment: 64)
sumCopy.initializeMemory(as: UInt8.self, repeating: 0, count: sumElements * 8)

// NumPy in a child process, on the same values (written with the project's .npy writer); it
// loads while the kernels compile.
var numpy: NumpyTimer?
var numpySkipped = "--no-numpy"
if useNumpy {
  let stem = scratch.next("sums")
  do {
    try Npy.write(NDArray(sumValues, shape: [sumSide, sumSide]), to: stem + ".npy")
    try numpyScript.write(toFile: stem + ".py", atomically: false, encoding: .utf8)
    numpy = NumpyTimer(script: stem + ".py", arguments: [stem + ".npy"], skipped: &numpySkipped)
  } catch { numpySkipped = "cannot write the .npy for NumPy: \(error)" }
}

struct SumVariant {
  var c: SumCase
  var entry: CompiledEntry
  var pointers: [UnsafeMutableRawPointer?]
  var check = ""
  var checkedOn = ""
}
var sumVariants: [SumVariant] = []
var sumCompileTimes: [String] = []
for c in sumCases {
  let entry: CompiledEntry
  let t: CompileTimes
  do { (entry, _, t) = try coldCompile(c.workload, scratch: scratch) } catch { fail("compiling \(c.name)", error) }
  let out = UnsafeMutableRawPointer.allocate(byteCount: c.resultCount * c.dtype.byteSize, alignment: 64)
  out.initializeMemory(as: UInt8.self, repeating: 0, count: c.resultCount * c.dtype.byteSize)
  sumVariants.append(SumVariant(c: c, entry: entry, pointers: [c.dtype == .f32 ? sumX32 : sumX64, out]))
  sumCompileTimes.append("\(c.name) \(fmtTime(t.total))")
}
say("   cold compile: \(sumCompileTimes.joined(separator: ", "))")

// Each compiled result against the interpreter's. The interpreter needs seconds for 16M
// elements, so row and column sums are checked on a slice of about 256K elements (a slice of
// rows or columns has the same sums as in the whole matrix); the full sum on all of it.
let sliceElements = 1 << 18
let checkStart = now()
for k in sumVariants.indices {
  let v = sumVariants[k]
  let c = v.c
  let status = v.entry.callUnchecked(v.pointers, sizes: [])
  if status != 0 {
    sumVariants[k].check = "status \(status)"
    continue
  }
  let (result, on) = checkAgainstInterpreter(c, sumValues, v.pointers[1]!, sliceElements: sliceElements)
  sumVariants[k].check = result
  sumVariants[k].checkedOn = on
}
let checkSeconds = now() - checkStart
// Swift baselines on the f32 rows (all 4096, and the first 64 that stay in cache), with their
// results against the compiled row sums.
let x32 = UnsafePointer(sumX32.assumingMemoryBound(to: Float.self))
let swiftOut = UnsafeMutablePointer<Float>.allocate(capacity: sumSide)
let compiledRows = NDArray(
  Array(UnsafeBufferPointer(start: sumVariants[0].pointers[1]!.assumingMemoryBound(to: Float.self), count: sumSide)),
  shape: [sumSide])
struct SwiftSum {
  var label: String
  var rows: Int
  var run: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void
  var check = ""
}
var swiftSums = [
  SwiftSum(label: "Swift sequential", rows: sumSide) { swiftRowSumsSequential($0, $1, rows: $2, cols: $3) },
  SwiftSum(label: "Swift SIMD8", rows: sumSide) { swiftRowSumsSIMD8($0, $1, rows: $2, cols: $3) },
  SwiftSum(label: "Swift 4xSIMD8", rows: sumSide) { swiftRowSums4xSIMD8($0, $1, rows: $2, cols: $3) },
  SwiftSum(label: "Swift SIMD8", rows: 64) { swiftRowSumsSIMD8($0, $1, rows: $2, cols: $3) },
  SwiftSum(label: "Swift 4xSIMD8", rows: 64) { swiftRowSums4xSIMD8($0, $1, rows: $2, cols: $3) },
]
for k in swiftSums.indices {
  swiftSums[k].run(x32, swiftOut, swiftSums[k].rows, sumSide)
  swiftSums[k].check = compareBits(UnsafeRawPointer(swiftOut), compiledRows, count: swiftSums[k].rows)
}

if let p = numpy, !p.ready(&numpySkipped) { numpy = nil }

let sumBudget: Budget = quick
  ? Budget(seconds: 0.25, minSamples: 5, maxSamples: 40, sampleSeconds: 0.005, warmup: 1)
  : Budget(seconds: 1.0, minSamples: 9, maxSamples: 150, sampleSeconds: 0.01, warmup: 2)
var sumItems: [(Budget, (Budget) -> Stats)] = [
  (sumBudget, { b in measure(b) { memcpy(sumCopy, sumX32, sumElements * 4) } }),
  (sumBudget, { b in measure(b) { memcpy(sumCopy, sumX64, sumElements * 8) } }),
] + swiftSums.map { w in (sumBudget, { b in measure(b) { w.run(x32, swiftOut, w.rows, sumSide) } }) }
for v in sumVariants {
  sumItems.append((sumBudget, { b in measure(b) { _ = v.entry.callUnchecked(v.pointers, sizes: []) } }))
}
var numpyFailed = false
if let p = numpy {
  for v in sumVariants {
    sumItems.append(
      (
        sumBudget,
        { b in
          if !numpyFailed, let s = p.measure(v.c.numpyKey, b) { return s }
          numpyFailed = true
          return Stats(median: .nan, min: .nan, samples: 0, batch: 1, faultsPerCall: 0, times: [.nan])
        }
      ))
  }
}
let sumMeasured = measureRounds(3, measurers: sumItems)
if let p = numpy {
  p.stop()
  if numpyFailed {
    numpySkipped = "python3 stopped answering"
    numpy = nil
  }
}

var sumTable = Table(["variant", "time/call", "GB/s read", "samples", "check", "checked on"])
@MainActor func sumRow(_ name: String, _ s: Stats, bytes: Int, check: String, on: String) {
  sumTable.add([name, fmtTime(s.median), fmt(Double(bytes) / s.median / 1e9, 2), "\(s.samples)x\(s.batch)", check, on])
}
let (memcpy32, memcpy64) = (sumMeasured[0], sumMeasured[1])
sumRow("baseline: memcpy 64 MiB (f32 x)", memcpy32, bytes: sumElements * 4, check: "", on: "")
sumRow("baseline: memcpy 128 MiB (f64 x)", memcpy64, bytes: sumElements * 8, check: "", on: "")
var swiftStats: [String: Stats] = [:]  // by "label rows"
for (k, w) in swiftSums.enumerated() {
  let s = sumMeasured[2 + k]
  swiftStats["\(w.label) \(w.rows)"] = s
  sumRow("baseline: \(w.label), rows f32[\(w.rows),\(sumSide)]", s, bytes: w.rows * sumSide * 4, check: w.check, on: "vs compiled rows")
}
let compiledBase = 2 + swiftSums.count
var sumCompiled: [String: Stats] = [:]
var sumNumpy: [String: Stats] = [:]
for (k, v) in sumVariants.enumerated() {
  let s = sumMeasured[compiledBase + k]
  sumCompiled[v.c.name] = s
  sumRow("compiled \(v.c.label) (\(v.c.what))", s, bytes: v.c.inputBytes, check: v.check, on: v.checkedOn)
  if numpy != nil {
    let n = sumMeasured[compiledBase + sumVariants.count + k]
    sumNumpy[v.c.name] = n
    sumRow("numpy \(v.c.numpyCall)", n, bytes: v.c.inputBytes, check: "", on: "")
  }
}
say(sumTable.render())
say("   GB/s read = bytes of x read per call / time (GB = 1e9 bytes); memcpy also writes as many")
say("   bytes. check: compiled results against the interpreter's, bit for bit, on the part of x the")
say("   interpreter ran on (checked on: \(fmtTime(checkSeconds)) of interpreter runs); Swift results")
say("   against the compiled row sums.")
say("   Swift loops (built for the Swift compiler's baseline x86-64 target, SSE2: 4-wide, while nnc")
say("   compiles for the host CPU): sequential = one scalar sum left to right; SIMD8 = SIMD8<Float>")
say("   lane sums in SummationOrder (the compiled lane path's order and bits); 4xSIMD8 = four SIMD8")
say("   accumulators taking groups of 8 in turn (another order: four independent add chains)")
say("   f32[64,4096] is the first 1 MiB of x, summed again and again: it stays in L2")
if let p = numpy {
  say("   numpy \(p.version): timeit in one python3 process, measured in the same alternating rounds;")
  say("   NumPy sums in its own (pairwise) order, so its results are not compared")
} else {
  say("   numpy: skipped (\(numpySkipped))")
}
var sumSummary: [String] = []
for v in sumVariants {
  let c = v.c
  let t = sumCompiled[c.name]!.median
  var parts: [String] = []
  if let n = sumNumpy[c.name] { parts.append("/ numpy \(fmtRatio(t / n.median))") }
  if c.dtype == .f32 && c.axes == [1] && c.shape[1] == sumSide {
    for w in swiftSums where w.rows == c.shape[0] {
      parts.append("/ \(w.label) \(fmtRatio(t / swiftStats["\(w.label) \(w.rows)"]!.median))")
    }
  }
  if c.name == "sum_short" { parts.append("/ compiled f32[\(sumSide),\(sumSide)] axes=[1] \(fmtRatio(t / sumCompiled["sum_rows"]!.median))") }
  if c.elements == sumElements {
    let mem = c.dtype == .f32 ? memcpy32 : memcpy64
    parts.append("/ memcpy \(c.dtype == .f32 ? 64 : 128) MiB \(fmtRatio(t / mem.median))")
  }
  say("   ratio: compiled \(c.label): \(parts.joined(separator: ", ")) the time")
  sumSummary.append(
    "reduce_sum \(c.label): \(fmtTime(t)) = \(fmt(Double(c.inputBytes) / t / 1e9, 2)) GB/s; compiled \(parts.joined(separator: ", ")) the time")
}
if numpy == nil { sumSummary.append("reduce_sum: no NumPy column (\(numpySkipped))") }
summary += sumSummary
say("   section time: \(fmtTime(now() - sumStart))")
for v in sumVariants { v.pointers[1]!.deallocate() }
sumX32.deallocate()
sumX64.deallocate()
sumCopy.deallocate()
swiftOut.deallocate()

// MARK: - 6. Compile time against graph size

say("\n6. Compile time against graph size: cold load -> compile (O3) -> link -> dlopen of generated graphs")
say("   chains of n elementwise ops on f32[N,64] (add, mul, sub, max with the input), and one concat")
say("   of n f32[2] inputs; time per op should stay flat as n grows (linear compile time)")
var scaleTable = Table(["graph", "n", "total", "compile", "per op", "object"])
let chainSizes = quick ? [50, 200] : [50, 200, 1000]
let concatSizes = quick ? [100, 1000] : [100, 1000, 4000]
func concatGraphText(_ n: Int) -> String {
  let params = (0..<n).map { "%a\($0): f32[2]" }.joined(separator: ", ")
  let operands = (0..<n).map { "%a\($0)" }.joined(separator: ", ")
  return "swiftgraph 1\nfunc @f(\(params)) -> f32[\(2 * n)] {\n  %0 = concat \(operands) axis=0\n  return %0\n}\n"
}
var scaleFigures: [(String, Int, Double)] = []
for (kind, sizes, make) in [("chain", chainSizes, chainGraphText), ("concat", concatSizes, concatGraphText)] as [(String, [Int], (Int) -> String)] {
  for n in sizes {
    let w = Workload(name: "\(kind)\(n)", file: "<\(kind) \(n)>", text: Array(make(n).utf8), function: "f", bindings: [:])
    do {
      let (_, _, t) = try coldCompile(w, scratch: scratch)
      scaleTable.add([kind, "\(n)", fmtTime(t.total), fmtTime(t.compile), fmtTime(t.total / Double(n)), "\(t.objectBytes / 1024) KiB"])
      scaleFigures.append((kind, n, t.total))
    } catch {
      scaleTable.add([kind, "\(n)", "error: \(error)", "", "", ""])
    }
  }
}
say(scaleTable.render())
for kind in ["chain", "concat"] {
  let rows = scaleFigures.filter { $0.0 == kind }
  if let first = rows.first, let last = rows.last, last.1 > first.1 {
    let growth = (last.2 / Double(last.1)) / (first.2 / Double(first.1))
    let line = "\(kind): time per op at n=\(last.1) / at n=\(first.1): \(fmtRatio(growth)) (1.0x is linear)"
    say("   ratio: \(line)")
    summary.append("compile scaling, \(line)")
  }
}

// MARK: - 7. Compile time of unrolled RNNs

summary += rnnCompileTimeSection(steps: rnnSteps, samples: samples, runStep: rnnRun, quick: quick, scratch: scratch)

// MARK: - 8. Elementwise and normalization workloads against NumPy

summary += elementwiseSection(quick: quick, useNumpy: useNumpy, scratch: scratch)

// MARK: - 9. matmul against NumPy and the peak

summary += gemmSection(quick: quick, useNumpy: useNumpy, scratch: scratch)

// MARK: - Summary

say("\nSummary (ratios from this run)")
if let (name, t) = firstCompile { say("  first compile in the process (\(name)): \(fmtTime(t))") }
for s in summary { say("  \(s)") }
say("  total benchmark time: \(fmtTime(now() - started)); load average at the end: \(loadAverage())")
scratch.cleanup()
