// `nnc compile`: a .swiftgraph file to a native object file, plus assembly, LLVM IR and a C
// header on request. Also the options and helpers `nnc run` shares.

import ArgumentParser
import Foundation
import NNCCodegen
import NNCIR
import NNCPasses

#if canImport(Glibc)
  import Glibc
#endif

/// Which CPU to generate code for (shared by `compile` and `run`).
struct TargetFlags: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The CPU to generate code for, by LLVM name (x86-64, x86-64-v3, skylake-avx512, ...; 'native': the host). Default: the host CPU.",
      valueName: "name"))
  var cpu: String?

  @Option(
    help: ArgumentHelp(
      "LLVM target features, e.g. '+avx2,+fma' or '-avx512f'. Default: the host's features without --cpu; with --cpu, only that CPU's own features.",
      valueName: "features"))
  var features: String?

  @Option(
    name: .customLong("vector-width"),
    help: ArgumentHelp("The preferred vector width for loops, in bits (e.g. 128, 256, 512). Default: LLVM's choice for the CPU, except that fused kernels bound by arithmetic (transcendentals, divisions) use 512 where the CPU has AVX-512.", valueName: "bits"))
  var vectorWidth: Int?

  @Option(
    name: .customLong("streaming-threshold"),
    help: ArgumentHelp(
      "A memory-bound kernel (no transcendental, sqrt, division or pow) whose operands and results take at least this many bytes writes the function's results with streaming (non-temporal) stores, which skip the cache; 'never' for none. Default: 67108864 (64 MiB, twice the L3 it was tuned on).",
      valueName: "bytes"))
  var streamingThreshold: String?

  /// `--streaming-threshold` as bytes (`Int.max` for 'never'), nil when not given.
  var streamingThresholdBytes: Int? {
    guard let streamingThreshold else { return nil }
    return streamingThreshold == "never" ? Int.max : Int(streamingThreshold)
  }

  func validate() throws {
    if let t = streamingThreshold, t != "never", Int(t).map({ $0 >= 0 }) != true {
      throw ValidationError("--streaming-threshold: '\(t)' is not a byte count (a whole number >= 0) or 'never'")
    }
    if let cpu, cpu.isEmpty || cpu.contains(where: \.isWhitespace) {
      throw ValidationError("--cpu: '\(cpu)' is not a CPU name")
    }
    if let w = vectorWidth, !(w >= 8 && w <= 4096 && w & (w - 1) == 0) {
      throw ValidationError("--vector-width: \(w) is not a power of two between 8 and 4096")
    }
  }

  /// The target options. A CPU named without features gets that CPU's own features (not the
  /// host's), so `--cpu x86-64` really means code that runs on any x86-64. `native` is the host.
  var options: TargetOptions {
    let named = cpu == "native" ? nil : cpu
    var options = TargetOptions(cpu: named, features: features ?? (named == nil ? nil : ""), vectorWidth: vectorWidth)
    options.streamingThresholdBytes = streamingThresholdBytes
    return options
  }

  /// Fails with a short message for a CPU name LLVM does not know, suggesting similar names.
  func checkCPU() {
    #if arch(x86_64)
      guard let cpu, cpu != "native", !NNCCodegen.knownCPUs.contains(cpu) else { return }
      let close = NNCCodegen.knownCPUs.filter { $0.hasPrefix(String(cpu.prefix(3))) }.prefix(8)
      failError(
        "--cpu: unknown CPU '\(cpu)'"
          + (close.isEmpty ? " (e.g. x86-64, x86-64-v3, skylake-avx512, znver3)" : " (did you mean \(close.joined(separator: ", "))?)"))
    #endif
  }
}

/// The graph with only `name` (every function when nil); a clear error for an unknown name.
func selectFunctions(_ graph: Graph, _ name: String?, file: String) -> Graph {
  guard let name else { return graph }
  let bare = name.hasPrefix("@") ? String(name.dropFirst()) : name
  guard let f = graph.function(named: bare) else {
    failError("\(file) has no function @\(bare); it has " + graph.functions.map { "@" + $0.name }.joined(separator: ", "))
  }
  return Graph(functions: [f])
}

/// Writes `bytes` to `path`, replacing it; a clear error when it cannot.
func writeFileOrFail(_ path: String, _ bytes: [UInt8]) {
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
  guard fd >= 0 else { failError("cannot write \(path): \(String(cString: strerror(errno)))") }
  var done = 0
  while done < bytes.count {
    let k = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
    if k < 0 {
      if errno == EINTR { continue }
      failError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    done += k
  }
  if close(fd) != 0 { failError("cannot write \(path): \(String(cString: strerror(errno)))") }
}

/// What `nnc compile --emit` can write.
enum Artifact: String, CaseIterable {
  case obj, asm, llvm, header

  var fileExtension: String {
    switch self {
    case .obj: return "o"
    case .asm: return "s"
    case .llvm: return "ll"
    case .header: return "h"
    }
  }

  /// `obj,header` as a list; nil naming the bad item otherwise.
  static func parseList(_ text: String) throws(ValidationError) -> [Artifact] {
    var out: [Artifact] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
      let name = item.trimmingCharacters(in: .whitespaces)
      guard let a = Artifact(rawValue: name) else {
        throw ValidationError(
          "--emit: unknown artifact '\(name)' (expected a comma-separated list of: obj, asm, llvm, header)")
      }
      if !out.contains(a) { out.append(a) }
    }
    return out
  }
}

struct Compile: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compile a .swiftgraph file to a native object file (and assembly, LLVM IR or a C header).",
    discussion: """
      Parses, verifies and infers shapes like `nnc verify`, runs the default pass pipeline \
      (--passes to choose, --remarks to see each decision), then lowers every function (or only \
      the one --function names) through LLVM at -O3 for the chosen CPU. The object exports, per \
      function @NAME, `int32_t nnc_NAME(...)` and `int32_t nnc_NAME_packed(void **, const int64_t *)` \
      (see docs/abi.md); it needs nothing beyond libc and libm. The same input and options give \
      byte-identical files.

      The object goes to OUTPUT; other artifacts go next to it with OUTPUT's extension replaced: \
      .s (asm), .ll (llvm), .h (header). Example:
        nnc compile Samples/models/mlp.swiftgraph -o build/mlp.o --emit obj,header
      writes build/mlp.o and build/mlp.h.
      """)

  @OptionGroup var input: InputFile

  @OptionGroup var pipeline: PipelineOptions

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "The object file to write. Default: the input's base name with .o, in the current directory.",
      valueName: "path"))
  var output: String?

  @Option(
    help: ArgumentHelp(
      "What to write, comma-separated: obj (OUTPUT), asm (.s), llvm (.ll, optimized LLVM IR), header (.h).",
      valueName: "obj,asm,llvm,header"))
  var emit: String = "obj"

  @OptionGroup var target: TargetFlags

  @Option(help: ArgumentHelp("Compile only this function (default: every function in the file).", valueName: "name"))
  var function: String?

  @Flag(
    help: ArgumentHelp(
      "Print per function: kernel calls, distinct kernels, fused kernels, and workspace bytes as planned (values never live at once share bytes) and unplanned (the sum of all intermediates)."))
  var stats = false

  func validate() throws {
    _ = try Artifact.parseList(emit)
    if input.file == "-" && output == nil {
      throw ValidationError("-o/--output is required when the input is standard input")
    }
    if let output, output.isEmpty || output.hasSuffix("/") {
      throw ValidationError("-o/--output: '\(output)' is not a file name")
    }
  }

  /// Where each artifact goes.
  func paths(_ artifacts: [Artifact]) -> [(Artifact, String)] {
    let out = output ?? (URL(fileURLWithPath: input.file).deletingPathExtension().lastPathComponent + ".o")
    let url = URL(fileURLWithPath: out)
    let directory = (out as NSString).deletingLastPathComponent
    let stem = url.pathExtension.isEmpty ? url.lastPathComponent : url.deletingPathExtension().lastPathComponent
    func sibling(_ ext: String) -> String {
      directory.isEmpty ? "\(stem).\(ext)" : (directory as NSString).appendingPathComponent("\(stem).\(ext)")
    }
    return artifacts.map { a in (a, a == .obj ? out : sibling(a.fileExtension)) }
  }

  func run() throws {
    let artifacts = try Artifact.parseList(emit)
    let destinations = paths(artifacts)
    var seen: [String: Artifact] = [:]
    for (a, p) in destinations {
      if let other = seen[p] { failError("--emit: \(other.rawValue) and \(a.rawValue) would both be written to \(p)") }
      seen[p] = a
    }
    let (loaded, bytes) = try input.load()
    var graph = selectFunctions(loaded, function, file: input.file)
    pipeline.run(&graph, source: bytes)
    target.checkCPU()
    let options = CompileOptions(
      target: target.options, emitAssembly: artifacts.contains(.asm), emitLLVMIR: artifacts.contains(.llvm))
    let module: CompiledModule
    do {
      module = try NNCCodegen.compile(graph, options: options)
    } catch {
      failError("\(input.file): \(error)")
    }
    if stats {
      for f in graph.functions { print(statsLine(f)) }
    }
    for (a, path) in destinations {
      switch a {
      case .obj: writeFileOrFail(path, module.object)
      case .asm: writeFileOrFail(path, Array((module.assembly ?? "").utf8))
      case .llvm: writeFileOrFail(path, Array((module.llvmIR ?? "").utf8))
      case .header: writeFileOrFail(path, Array(module.header.utf8))
      }
    }
  }
}

/// `@NAME: K kernel calls (D distinct, F fused), workspace P bytes planned, U unplanned`; a workspace
/// whose size depends on size symbols is `symbolic (N, ...)`: its static part in bytes, and how
/// many slots sized at run time hold how many values.
func statsLine(_ f: Function) -> String {
  let f = f.splittingUnfusable().0  // as the code generator compiles it
  let (calls, distinct, fused) = kernelCounts(f)
  let plan = WorkspacePlan(f)
  let head = "@\(f.name): \(calls) kernel calls (\(distinct) distinct, \(fused) fused)"
  if plan.isStatic {
    return head + ", workspace \(plan.plannedBytes()) bytes planned, \(plan.unplannedBytes()) unplanned"
  }
  let symbolic = plan.values.filter { plan.slotOf[$0.id] != nil }.count
  return head + ", workspace symbolic (\(plan.sizeSymbols.joined(separator: ", "))): planned \(plan.staticBytes) bytes + "
    + "\(plan.slots.count) slots sized at run time for \(symbolic) values, "
    + "unplanned \(plan.unplannedBytes(symbols: [:])) bytes + \(symbolic) regions sized at run time"
}
