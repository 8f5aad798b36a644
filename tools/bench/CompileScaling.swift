// Section 7: compile time against graph size on unrolled RNNs (UnrolledRNN, shared with the
// tests) and the sample models. Each graph is compiled in a child process of this program
// (`--compile-child`), so its peak memory is its own (`peakResidentBytes`) and a slow or
// crashing compile cannot take the benchmark with it. Figures only: nothing is asserted.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// What one child reports about compiling one graph.
struct ChildCompile {
  var instructions = 0
  /// Medians over the child's runs, in seconds.
  var times = CompileTimes()
  var runs = 0
  /// Functions defined in the object (kernels, entries), from `nm`; -1 when nm failed.
  var functions = -1
  /// The largest resident set, in bytes, of the compiling process or a child it forked
  /// (`peakResidentBytes`): the whole process, Swift runtime and libLLVM included.
  var peakBytes = 0
}

/// The child's side: compiles the graph in `path` (function `name`) after one warm-up compile
/// of a tiny graph (paging in libLLVM is not the graph's cost), repeating while the runs take
/// under `budget` seconds (at most 3 runs), and prints one line of figures for the parent.
func compileChildMain(path: String, function: String, budget: Double) -> Never {
  let scratch = Scratch()
  do {
    let warm = Workload(
      name: "warm", file: "<warm-up>", text: Array(chainGraphText(2).utf8), function: "f", bindings: [:])
    _ = try coldCompile(warm, scratch: scratch)
    guard let data = FileManager.default.contents(atPath: path) else { throw BenchError("cannot read \(path)") }
    let w = Workload(name: "g", file: path, text: Array(data), function: function, bindings: [:])
    var runs: [CompileTimes] = []
    var instructions = 0
    var objectPath = ""
    let start = now()
    repeat {
      let (_, graph, t) = try coldCompile(w, scratch: scratch)
      runs.append(t)
      instructions = 0
      graph.functions.forEach { $0.forEachInstruction { _ in instructions += 1 } }
      objectPath = scratch.lastObject
    } while runs.count < 3 && now() - start < budget
    let functions = (try? runTool("nm", ["--defined-only", objectPath]))
      .map { $0.split(separator: "\n").filter { $0.split(separator: " ").dropFirst().first.map { ["t", "T"].contains($0) } ?? false }.count } ?? -1
    let m = { (k: KeyPath<CompileTimes, Double>) in median(runs.map { $0[keyPath: k] }) }
    print(
      "ok \(instructions) \(m(\.parse)) \(m(\.compile)) \(m(\.link)) \(m(\.load)) \(runs[0].objectBytes) \(runs.count) \(functions) \(peakResidentBytes())"
    )
    scratch.cleanup()
    exit(0)
  } catch {
    print("error \(error)".replacingOccurrences(of: "\n", with: " "))
    scratch.cleanup()
    exit(1)
  }
}

/// The largest resident set of this process (`VmHWM` of /proc/self/status: this process's own
/// memory since its exec) or of any child it waited for (`RUSAGE_CHILDREN`: the forked child that
/// runs LLVM's optimizer and back end, the linker), in bytes. Not `wait4`'s figure for this
/// process: `posix_spawn` runs the child in the parent's memory until exec, and Linux counts the
/// parent's peak as the child's.
func peakResidentBytes() -> Int {
  var own = 0
  if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
  {
    own = (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024  // kB
  }
  var children = rusage()
  getrusage(RUSAGE_CHILDREN.rawValue, &children)
  return max(own, Int(children.ru_maxrss) * 1024)  // Linux reports KiB
}

/// The parent's side: runs `--compile-child` on `path` and reads its figures and peak memory.
func compileInChild(path: String, function: String, budget: Double) throws -> ChildCompile {
  let (status, output) = try runProcess(
    "/proc/self/exe", ["--compile-child", path, function, String(budget)], captureStderr: false)
  let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
  let fields = text.split(separator: " ").map(String.init)
  guard fields.first == "ok", fields.count == 10 else {
    throw BenchError(text.isEmpty ? "the child died (status \(status))" : text)
  }
  var r = ChildCompile()
  r.instructions = Int(fields[1]) ?? 0
  r.times.parse = Double(fields[2]) ?? .nan
  r.times.compile = Double(fields[3]) ?? .nan
  r.times.link = Double(fields[4]) ?? .nan
  r.times.load = Double(fields[5]) ?? .nan
  r.times.objectBytes = Int(fields[6]) ?? 0
  r.runs = Int(fields[7]) ?? 0
  r.functions = Int(fields[8]) ?? -1
  r.peakBytes = Int(fields[9]) ?? 0
  return r
}

/// Section 7. Returns the summary lines.
@MainActor func rnnCompileTimeSection(
  steps: [Int], samples: [Workload], runStep: Int?, quick: Bool, scratch: Scratch
) -> [String] {
  var summary: [String] = []
  let sizes = UnrolledRNN(steps: 1)
  say("\n7. Compile time of unrolled RNNs and the samples, each compiled in a child process")
  say("   UnrolledRNN: h_t = tanh(x_t @ w_ih + h_{t-1} @ w_hh + b), batch \(sizes.batch), hidden \(sizes.hidden),")
  say("   input \(sizes.input), 7 instructions per step (batch N: the batch dim symbolic, loop bounds known")
  say("   only at run time); median of up to 3 runs after a warm-up compile")
  var table = Table([
    "graph", "instrs", "compile", "total", "per instr", "functions", ".o bytes", "peak RSS", "runs",
  ])
  var perInstruction: [(String, Int, Double)] = []
  var graphs: [(name: String, text: String, function: String)] = steps.map {
    ("rnn T=\($0)", UnrolledRNN(steps: $0).text, UnrolledRNN.functionName)
  }
  if let t = steps.max() {
    graphs.append(("rnn T=\(t), batch N", UnrolledRNN(steps: t, symbolicBatch: true).text, UnrolledRNN.functionName))
  }
  graphs += samples.map { ($0.name, String(decoding: $0.text, as: UTF8.self), $0.function) }
  for g in graphs {
    let path = scratch.next("graph") + ".swiftgraph"
    do {
      try g.text.write(toFile: path, atomically: false, encoding: .utf8)
      let r = try compileInChild(path: path, function: g.function, budget: quick ? 1 : 4)
      let per = r.times.total / Double(max(1, r.instructions))
      table.add([
        g.name, "\(r.instructions)", fmtTime(r.times.compile), fmtTime(r.times.total), fmtTime(per),
        r.functions < 0 ? "?" : "\(r.functions)", "\(r.times.objectBytes)",
        "\(r.peakBytes / (1 << 20)) MiB", "\(r.runs)",
      ])
      if g.name.hasPrefix("rnn") && !g.name.hasSuffix("batch N") { perInstruction.append((g.name, r.instructions, per)) }
    } catch {
      table.add([g.name, "error: \(error)"])
    }
  }
  say(table.render())
  say("   compile = verify + lowering + O3 + object emission; total adds parse, link (cc -shared) and")
  say("   dlopen; per instr = total / instrs; functions = functions defined in the object (nm: kernels")
  say("   and entries); peak RSS = the largest resident set of the compiling process or the code")
  say("   generation child it forks (whole processes, libLLVM included)")
  if let first = perInstruction.first, let last = perInstruction.last, last.1 > first.1 {
    let line = "unrolled RNN: time per instruction at \(last.0) / at \(first.0): \(fmtRatio(last.2 / first.2)) (1.0x is linear)"
    say("   ratio: \(line)")
    summary.append("compile scaling, \(line)")
  }
  if let last = perInstruction.last {
    summary.append("compile of \(last.0) (\(last.1) instructions): \(fmtTime(last.2 * Double(last.1))) in all")
  }

  // Run time of one compiled RNN against the interpreter (and its results, bit for bit).
  guard let t = runStep else { return summary }
  let rnn = UnrolledRNN(steps: t)
  let w = Workload(name: "rnn\(t)", file: "<rnn T=\(t)>", text: Array(rnn.text.utf8), function: UnrolledRNN.functionName, bindings: [:])
  do {
    let (entry, _, _) = try coldCompile(w, scratch: scratch)
    let f = entry.function
    let inputs = makeInputs(f, [:], seed: 21)
    let buffers = Buffers(f, inputs, [:])
    let expected = try Interpreter.run(f, inputs)
    let got = try entry.run(inputs)
    let status = entry.callUnchecked(buffers.pointers, sizes: buffers.sizes)
    let unchecked = NDArray(buffers.outputFloats(0), shape: expected[0].shape)
    let check = status != 0 ? "status \(status)" : (exactMismatch(got[0], expected[0]) ?? exactMismatch(unchecked, expected[0]) ?? "bit-identical")
    let budgetFast = quick
      ? Budget(seconds: 0.3, minSamples: 5, maxSamples: 50, sampleSeconds: 0.005, warmup: 2)
      : Budget(seconds: 1.5, minSamples: 11, maxSamples: 200, sampleSeconds: 0.01, warmup: 3)
    let budgetSlow = quick
      ? Budget(seconds: 0.5, minSamples: 3, maxSamples: 20, sampleSeconds: 0.005, warmup: 1)
      : Budget(seconds: 2.0, minSamples: 5, maxSamples: 100, sampleSeconds: 0.01, warmup: 1)
    let stats = measureRounds(
      3,
      [
        (budgetSlow, { _ = try! Interpreter.run(f, inputs) }),
        (budgetFast, { _ = entry.callUnchecked(buffers.pointers, sizes: buffers.sizes) }),
      ])
    var runTable = Table(["graph", "interpreter", "callUnchecked", "speedup", "check"])
    runTable.add([
      "rnn T=\(t)", fmtTime(stats[0].median), fmtTime(stats[1].median), fmtRatio(stats[0].median / stats[1].median), check,
    ])
    say(runTable.render())
    say("   run time of the compiled RNN (callUnchecked on preallocated buffers) against the interpreter;")
    say("   check: the compiled results (run and callUnchecked) against the interpreter's, bit for bit")
    summary.append(
      "rnn T=\(t): compiled \(fmtTime(stats[1].median)) per call, \(fmtRatio(stats[0].median / stats[1].median)) faster than the interpreter (\(check))")
  } catch {
    say("   rnn T=\(t): error: \(error)")
  }
  return summary
}

/// A chain of `n` elementwise ops on f32[N,64] (add, mul, sub, max with the input): section 6's
/// graph, and the child's warm-up compile.
func chainGraphText(_ n: Int) -> String {
  var lines = ["swiftgraph 1", "func @f(%x: f32[N,64]) -> f32[N,64] {"]
  var previous = "%x"
  for i in 0..<n {
    lines.append("  %\(i) = \(["add", "mul", "sub", "max"][i % 4]) \(previous), %x")
    previous = "%\(i)"
  }
  return (lines + ["  return \(previous)", "}"]).joined(separator: "\n") + "\n"
}
