// Thin helpers over the LLVM-C API: errors, diagnostics, attributes, loop metadata, the target
// machine, O3, and emission to objects and assembly (run in a child process: see
// `optimizeAndEmit`). Nothing here compiles in memory to run: code leaves LLVM only as object
// files or text.

import CLLVM

#if canImport(Glibc)
  import Glibc
#endif

/// A failure inside LLVM or the toolchain, with LLVM's own message.
public struct CodegenError: Error, Equatable, CustomStringConvertible {
  public var description: String
  public init(_ message: String) { description = message }
}

/// One-time native target initialization (a global `let` is initialized once, thread-safely).
/// It also installs nnc's fatal-error handler (Sources/CLLVM/cllvm.c): in this process it can
/// only print `error: LLVM: <reason> (nnc could not recover; please report)` before LLVM exits,
/// which is why the failure-prone work runs in a child (`optimizeAndEmit`).
private let nativeTargetInitialized: Bool = cllvm_initialize_native() == 0

/// Runs `body` holding the process-wide LLVM lock shared. Every use of LLVM in this process
/// goes through it, so that `optimizeAndEmit`'s fork (which takes it exclusively) never copies
/// a lock of LLVM's held by another thread into the child. Reentrant.
func withLLVMLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
  cllvm_lock_shared()
  defer { cllvm_unlock_shared() }
  return try body()
}

func initializeNativeTarget() throws(CodegenError) {
  guard nativeTargetInitialized else { throw CodegenError("LLVM native target initialization failed") }
}

/// Takes ownership of an LLVM-allocated C string.
func takeMessage(_ p: UnsafeMutablePointer<CChar>?) -> String {
  guard let p else { return "" }
  defer { LLVMDisposeMessage(p) }
  return String(cString: p)
}

/// Collects LLVM diagnostics instead of letting LLVM print them to stderr.
final class DiagnosticSink {
  private(set) var errors: [String] = []

  func record(_ info: LLVMDiagnosticInfoRef) {
    if LLVMGetDiagInfoSeverity(info) == LLVMDSError {
      errors.append(takeMessage(LLVMGetDiagInfoDescription(info)))
    }
  }

  /// Installs the sink on `context`; the sink must outlive the context.
  func install(on context: LLVMContextRef) {
    let handler: LLVMDiagnosticHandler = { info, ctx in
      guard let info, let ctx else { return }
      Unmanaged<DiagnosticSink>.fromOpaque(ctx).takeUnretainedValue().record(info)
    }
    LLVMContextSetDiagnosticHandler(context, handler, Unmanaged.passUnretained(self).toOpaque())
  }
}

/// `LLVMAttributeFunctionIndex` imports as the Int -1; convert by bit pattern.
let functionAttrIndex = LLVMAttributeIndex(truncatingIfNeeded: LLVMAttributeFunctionIndex)

func enumAttr(_ ctx: LLVMContextRef, _ name: String, _ value: UInt64 = 0) -> LLVMAttributeRef {
  LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName(name, name.utf8.count), value)
}

func stringAttr(_ ctx: LLVMContextRef, _ key: String, _ value: String) -> LLVMAttributeRef {
  LLVMCreateStringAttribute(ctx, key, UInt32(key.utf8.count), value, UInt32(value.utf8.count))
}

/// Attaches loop hints to a loop's latch branch. `vectorize` sets `llvm.loop.vectorize.enable`:
/// it lets the vectorizer reorder a floating-point reduction (the C API of LLVM 14 cannot set
/// fast-math flags). `noUnroll` sets `llvm.loop.unroll.disable`.
func markLoop(_ ctx: LLVMContextRef, latchBranch: LLVMValueRef, vectorize: Bool, noUnroll: Bool) {
  var hints: [LLVMMetadataRef?] = []
  func hint(_ key: String, _ value: LLVMMetadataRef?) {
    var pair: [LLVMMetadataRef?] = [LLVMMDStringInContext2(ctx, key, key.utf8.count)]
    if let value { pair.append(value) }
    hints.append(LLVMMDNodeInContext2(ctx, &pair, pair.count))
  }
  if vectorize { hint("llvm.loop.vectorize.enable", LLVMValueAsMetadata(LLVMConstInt(LLVMInt1TypeInContext(ctx), 1, 0))) }
  if noUnroll { hint("llvm.loop.unroll.disable", nil) }
  guard !hints.isEmpty else { return }
  var none: [LLVMMetadataRef?] = []
  let temp = LLVMTemporaryMDNode(ctx, &none, 0)
  var nodes: [LLVMMetadataRef?] = [temp] + hints
  let loopID = LLVMMDNodeInContext2(ctx, &nodes, nodes.count)
  LLVMMetadataReplaceAllUsesWith(temp, loopID)
  LLVMSetMetadata(latchBranch, LLVMGetMDKindIDInContext(ctx, "llvm.loop", 9), LLVMMetadataAsValue(ctx, loopID))
}

/// Which CPU to generate code for.
public struct TargetOptions: Hashable, Sendable {
  /// nil: the host CPU (`LLVMGetHostCPUName`).
  public var cpu: String?
  /// nil: the host's features (`LLVMGetHostCPUFeatures`), so AVX2/AVX-512 are used where present.
  public var features: String?
  /// Preferred vector width in bits for loops (nil: LLVM's choice for the CPU, except that fused
  /// kernels bound by arithmetic use 512 bits on AVX-512 targets).
  public var vectorWidth: Int?
  /// A fused kernel writes its results to the caller's buffers with streaming (non-temporal)
  /// stores when its operands and results take at least this many bytes (nil: 64 MiB, twice
  /// the L3 of the machine it was measured on; `Int.max`: never). Results are the same either
  /// way; docs/ARCHITECTURE.md, "Streaming stores".
  public var streamingThresholdBytes: Int?

  public init(cpu: String? = nil, features: String? = nil, vectorWidth: Int? = nil) {
    self.cpu = cpu
    self.features = features
    self.vectorWidth = vectorWidth
  }
}

/// The x86 CPU names LLVM 14 knows (`llc -march=x86-64 -mcpu=help`). LLVM itself only warns on
/// stderr about an unknown name and carries on with a generic CPU, so nnc checks first.
public let knownCPUs: [String] = [
    "alderlake", "amdfam10", "athlon", "athlon-4", "athlon-fx", "athlon-mp", "athlon-tbird",
    "athlon-xp", "athlon64", "athlon64-sse3", "atom", "barcelona", "bdver1", "bdver2", "bdver3",
    "bdver4", "bonnell", "broadwell", "btver1", "btver2", "c3", "c3-2", "cannonlake", "cascadelake",
    "cooperlake", "core-avx-i", "core-avx2", "core2", "corei7", "corei7-avx", "generic", "geode",
    "goldmont", "goldmont-plus", "haswell", "i386", "i486", "i586", "i686", "icelake-client",
    "icelake-server", "ivybridge", "k6", "k6-2", "k6-3", "k8", "k8-sse3", "knl", "knm", "lakemont",
    "nehalem", "nocona", "opteron", "opteron-sse3", "penryn", "pentium", "pentium-m", "pentium-mmx",
    "pentium2", "pentium3", "pentium3m", "pentium4", "pentium4m", "pentiumpro", "prescott",
    "rocketlake", "sandybridge", "sapphirerapids", "silvermont", "skx", "skylake", "skylake-avx512",
    "slm", "tigerlake", "tremont", "westmere", "winchip-c6", "winchip2", "x86-64", "x86-64-v2",
    "x86-64-v3", "x86-64-v4", "yonah", "znver1", "znver2", "znver3",
]

/// An LLVM target machine for the chosen CPU.
final class TargetMachine {
  let ref: LLVMTargetMachineRef
  let triple: String
  let cpu: String
  let features: String

  init(_ options: TargetOptions) throws(CodegenError) {
    try initializeNativeTarget()
    cllvm_lock_shared()
    defer { cllvm_unlock_shared() }
    triple = takeMessage(LLVMGetDefaultTargetTriple())
    cpu = options.cpu ?? takeMessage(LLVMGetHostCPUName())
    guard triple.hasPrefix("x86_64") == false || knownCPUs.contains(cpu) else {
      throw CodegenError("unknown CPU '\(cpu)' (known: \(knownCPUs.joined(separator: ", ")))")
    }
    features = options.features ?? takeMessage(LLVMGetHostCPUFeatures())
    var target: LLVMTargetRef?
    var err: UnsafeMutablePointer<CChar>?
    if LLVMGetTargetFromTriple(triple, &target, &err) != 0 {
      throw CodegenError("no LLVM target for \(triple): \(takeMessage(err))")
    }
    guard
      let tm = LLVMCreateTargetMachine(
        target, triple, cpu, features, LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault)
    else { throw CodegenError("cannot create a target machine for cpu '\(cpu)'") }
    ref = tm
  }

  deinit { withLLVMLock { LLVMDisposeTargetMachine(ref) } }

  /// Sets the module's triple and data layout (the optimizer's cost model reads them).
  func configure(_ module: LLVMModuleRef) {
    LLVMSetTarget(module, triple)
    let td = LLVMCreateTargetDataLayout(ref)
    LLVMSetModuleDataLayout(module, td)
    LLVMDisposeTargetData(td)
  }

  /// Runs the `default<O3>` pipeline with the vectorizers on, in this process (the
  /// `NNC_CODEGEN_IN_PROCESS` path of `optimizeAndEmit`; the child runs the same pipeline from
  /// cllvm.c).
  func optimize(_ module: LLVMModuleRef) throws(CodegenError) {
    let opts = LLVMCreatePassBuilderOptions()
    defer { LLVMDisposePassBuilderOptions(opts) }
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 1)
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 1)
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, 1)
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, 1)
    if let err = LLVMRunPasses(module, "default<O3>", ref, opts) {
      let m = LLVMGetErrorMessage(err)
      defer { LLVMDisposeErrorMessage(m) }
      throw CodegenError("LLVM O3 failed: \(m.map { String(cString: $0) } ?? "?")")
    }
  }

  /// Object file or assembly bytes, in this process. Codegen changes the module it runs on: pass
  /// a clone when the module is used again.
  func emit(_ module: LLVMModuleRef, _ type: LLVMCodeGenFileType) throws(CodegenError) -> [UInt8] {
    var err: UnsafeMutablePointer<CChar>?
    var buf: LLVMMemoryBufferRef?
    if LLVMTargetMachineEmitToMemoryBuffer(ref, module, type, &err, &buf) != 0 {
      throw CodegenError("LLVM code generation failed: \(takeMessage(err))")
    }
    guard let buf, let start = LLVMGetBufferStart(buf) else { throw CodegenError("LLVM emitted nothing") }
    defer { LLVMDisposeMemoryBuffer(buf) }
    let size = LLVMGetBufferSize(buf)
    return start.withMemoryRebound(to: UInt8.self, capacity: size) { Array(UnsafeBufferPointer(start: $0, count: size)) }
  }
}

func verifyModule(_ module: LLVMModuleRef) throws(CodegenError) {
  var err: UnsafeMutablePointer<CChar>?
  let bad = LLVMVerifyModule(module, LLVMReturnStatusAction, &err)
  let msg = takeMessage(err)
  if bad != 0 { throw CodegenError("internal error: generated LLVM IR does not verify: \(msg)") }
}

/// What the optimizer and the back end produced for a module.
struct CodegenArtifacts {
  var object: [UInt8] = []
  var assembly: String?
  var llvmIR: String?
  /// Error-severity diagnostics LLVM reported while optimizing and emitting.
  var diagnostics: [String] = []
}

/// True when `NNC_CODEGEN_IN_PROCESS=1`: `optimizeAndEmit` then runs in this process (for a
/// debugger or a profiler, which follow the parent), and an LLVM fatal error ends the process.
var codegenInProcess: Bool {
  guard let v = getenv("NNC_CODEGEN_IN_PROCESS") else { return false }
  return String(cString: v) == "1"
}

extension TargetMachine {
  /// Optimizes `module` (O3) and emits the LLVM IR text, assembly and object asked for: LLVM's
  /// expensive and failure-prone step. It runs in a forked child process (cllvm.c,
  /// `cllvm_codegen_isolated`) that sends the results back through a pipe, so a fatal error in
  /// LLVM (`report_fatal_error`: "Cannot select", out of memory) or a crash ends the child and
  /// comes back here as a `CodegenError`; the caller's process goes on. Error diagnostics come
  /// back in `diagnostics` (the child reports them through the pipe: the context's Swift
  /// handler cannot run there). The caller must not hold the LLVM lock. The module is left as
  /// it was (the child changed its own copy; in process it is optimized).
  ///
  /// `inProcess` runs it here instead (`NNC_CODEGEN_IN_PROCESS=1`); `testSignal` makes the
  /// child raise that signal first (tests only).
  func optimizeAndEmit(
    _ module: LLVMModuleRef, optimize: Bool = true, emitLLVMIR: Bool = false, emitAssembly: Bool = false,
    emitObject: Bool = true, inProcess: Bool = codegenInProcess, testSignal: Int32 = 0
  ) throws(CodegenError) -> CodegenArtifacts {
    if inProcess {
      return try withLLVMLock { () throws(CodegenError) -> CodegenArtifacts in
        var out = CodegenArtifacts()
        if optimize { try self.optimize(module) }
        if emitLLVMIR { out.llvmIR = takeMessage(LLVMPrintModuleToString(module)) }
        if emitAssembly {
          let clone = LLVMCloneModule(module)!
          defer { LLVMDisposeModule(clone) }
          out.assembly = String(decoding: try emit(clone, LLVMAssemblyFile), as: UTF8.self)
        }
        if emitObject { out.object = try emit(module, LLVMObjectFile) }
        return out
      }
    }
    var request = cllvm_codegen_request(
      module: module, target_machine: ref, optimize: optimize ? 1 : 0, emit_llvm_ir: emitLLVMIR ? 1 : 0,
      emit_assembly: emitAssembly ? 1 : 0, emit_object: emitObject ? 1 : 0, test_signal: testSignal)
    var result = cllvm_codegen_result()
    let started = cllvm_codegen_isolated(&request, &result)
    defer { cllvm_codegen_result_dispose(&result) }
    func text(_ p: UnsafeMutablePointer<CChar>?, _ size: Int) -> String? {
      guard let p else { return nil }
      return String(decoding: UnsafeRawBufferPointer(start: p, count: size), as: UTF8.self)
    }
    func string(_ p: UnsafeMutablePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
    let messages = text(result.messages, result.messages_size) ?? ""
    if started != 0 {
      throw CodegenError("LLVM code generation: \(string(result.problem) ?? "cannot start a process")")
    }
    if result.stalled != 0 {
      // The child deadlocked on a lock another thread of this process held when it forked
      // (cllvm.c, "Warm-up"): the module is untouched, so run the step here instead.
      return try optimizeAndEmit(
        module, optimize: optimize, emitLLVMIR: emitLLVMIR, emitAssembly: emitAssembly, emitObject: emitObject,
        inProcess: true)
    }
    if result.killed_by_parent != 0 {
      throw CodegenError("LLVM code generation: \(string(result.problem) ?? "the process was stopped")")
    }
    if let failure = isolatedCodegenFailure(
      waitStatus: result.wait_status, fatalReason: string(result.fatal_reason), problem: string(result.problem),
      complete: result.complete != 0, messages: messages)
    {
      throw CodegenError(failure)
    }
    if let failure = string(result.failure) { throw CodegenError(failure) }
    // Whatever LLVM printed itself (on stdout or stderr) on a success goes to stderr.
    if !messages.isEmpty {
      var rest = Array(messages.utf8)[...]
      while !rest.isEmpty {
        let k = rest.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if k < 0 && errno == EINTR { continue }
        if k <= 0 { break }
        rest = rest.dropFirst(k)
      }
    }
    var out = CodegenArtifacts()
    if let p = result.object {
      out.object = [UInt8](UnsafeRawBufferPointer(start: p, count: result.object_size))
    } else if emitObject {
      throw CodegenError("LLVM emitted no object")
    }
    out.assembly = text(result.assembly, result.assembly_size)
    out.llvmIR = text(result.llvm_ir, result.llvm_ir_size)
    if let p = result.diagnostics {
      out.diagnostics = UnsafeRawBufferPointer(start: p, count: result.diagnostics_size)
        .split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
    return out
  }
}

/// The error for a code generation child that did not deliver its results, nil when it did:
/// `waitStatus` is waitpid's status (-1: not waited for, as when the program reaps its
/// children itself), `fatalReason` what LLVM's fatal-error
/// handler got, `problem` what went wrong with the pipe or the protocol, `complete` whether the
/// end record came, `messages` what the child printed (LLVM's own last words).
func isolatedCodegenFailure(
  waitStatus: Int32, fatalReason: String?, problem: String?, complete: Bool, messages: String
) -> String? {
  let said = lastWords(messages)
  let printed = said.isEmpty ? "" : "; it printed: \(said)"
  if waitStatus == -1 {  // not waited for (reaped elsewhere): the records decide
    if let fatalReason { return "LLVM: \(fatalReason)" }
    if let problem { return "LLVM code generation: \(problem)\(printed)" }
    if complete { return nil }
    return "LLVM code generation process ended without sending its results, and cannot be waited for\(printed)"
  }
  let low = waitStatus & 0x7f
  if low == 0 {  // exited
    let code = (waitStatus >> 8) & 0xff
    if code == CLLVM_FATAL_EXIT {
      return "LLVM: \(fatalReason ?? "fatal error (no reason given)")"
    }
    if code != 0 {
      return "LLVM code generation process exited with status \(code)\(printed)"
    }
    if let problem { return "LLVM code generation: \(problem)\(printed)" }
    if !complete { return "LLVM code generation process ended without sending its results\(printed)" }
    return nil
  }
  if low == 0x7f { return "LLVM code generation process stopped (status \(waitStatus))" }
  let signal = low
  let name = signalNames[signal] ?? "signal \(signal)"
  if signal == SIGKILL {
    return "LLVM code generation process was killed by \(name), likely out of memory (the OOM killer)\(printed)"
  }
  let what = strsignal(signal).map { " (\(String(cString: $0).lowercased()))" } ?? ""
  return "LLVM crashed: the code generation process died from \(name)\(what)\(printed)"
}

private let signalNames: [Int32: String] = [
  SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
  SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV",
  SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
  SIGSYS: "SIGSYS",
]

/// The end of what a child printed, on one line (LLVM's message before an abort, such as
/// "LLVM ERROR: out of memory").
private func lastWords(_ messages: String) -> String {
  func trimmed(_ line: Substring) -> Substring {
    var line = line
    while line.first?.isWhitespace == true { line.removeFirst() }
    while line.last?.isWhitespace == true { line.removeLast() }
    return line
  }
  let lines = messages.split(whereSeparator: \.isNewline).map(trimmed).filter { !$0.isEmpty }
  var text = lines.suffix(8).joined(separator: "; ")
  if text.count > 2000 { text = "..." + text.suffix(2000) }
  return text
}
