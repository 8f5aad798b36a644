// Compiling a graph: IR -> LLVM IR -> O3 for the chosen CPU -> object file (and, on request,
// assembly, LLVM IR text and a C header). O3 and emission run in a child process, so LLVM's
// fatal errors become `CodegenError`s (LLVMSupport.swift, `optimizeAndEmit`). Nothing runs in
// memory: the object is linked by the system linker (Linker.swift) and loaded with dlopen.

import CLLVM
import NNCIR
import NNCPasses

/// What `compile` produces.
public struct CompiledModule: Sendable {
  /// The relocatable ELF object (position-independent).
  public var object: [UInt8]
  /// Assembly text, when asked for.
  public var assembly: String?
  /// Optimized LLVM IR text, when asked for.
  public var llvmIR: String?
  /// The C header declaring the entry points.
  public var header: String
  /// The CPU and features the code was generated for.
  public var cpu: String
  public var features: String
}

/// Options for one compile.
public struct CompileOptions: Hashable, Sendable {
  public var target: TargetOptions
  public var emitAssembly: Bool
  public var emitLLVMIR: Bool

  public init(target: TargetOptions = TargetOptions(), emitAssembly: Bool = false, emitLLVMIR: Bool = false) {
    self.target = target
    self.emitAssembly = emitAssembly
    self.emitLLVMIR = emitLLVMIR
  }
}

/// The version of the code generator; part of every cache key.
public let codegenVersion = "nnc-codegen-8"

/// The version of LLVM the code generator was built against and links (`"14.0.6"`).
public let llvmVersion = String(cString: cllvm_version_string())

/// The default target triple LLVM reports (`x86_64-pc-linux-gnu`): what `compile` emits code
/// for when no CPU is named, together with `hostTarget().cpu`.
public func defaultTargetTriple() -> String { withLLVMLock { takeMessage(LLVMGetDefaultTargetTriple()) } }

/// The host CPU name and feature string LLVM reports.
public func hostTarget() throws(CodegenError) -> (cpu: String, features: String) {
  try initializeNativeTarget()
  return withLLVMLock { (takeMessage(LLVMGetHostCPUName()), takeMessage(LLVMGetHostCPUFeatures())) }
}

/// Compiles every function of a verified graph into one object.
public func compile(_ graph: Graph, options: CompileOptions = CompileOptions()) throws(CodegenError) -> CompiledModule {
  do {
    try graph.verify()
  } catch {
    throw CodegenError("the graph does not verify: \(error)")
  }
  // The verifier has also ruled out two functions exporting one C symbol (LLVM would silently
  // rename the second, and the loader would call the wrong entry).
  // A hand-written fused op the loop structures do not cover runs as its ops, one kernel each.
  var graph = graph
  graph.functions = graph.functions.map { $0.splittingUnfusable().0 }
  try checkCodegenLimits(graph)
  let tm = try TargetMachine(options.target)
  // Building the module runs in this process under the LLVM lock; optimizing and emitting run
  // in a child process (`optimizeAndEmit`), where LLVM's fatal errors cannot end this one.
  let ctx = withLLVMLock { LLVMContextCreate()! }
  defer { withLLVMLock { LLVMContextDispose(ctx) } }
  let sink = DiagnosticSink()
  let module = withLLVMLock { () -> LLVMModuleRef in
    sink.install(on: ctx)
    let module = LLVMModuleCreateWithNameInContext("nnc", ctx)!
    tm.configure(module)
    // One compile unit for the module; line tables map each kernel to its instructions' lines.
    let debugInfo = DebugInfo(module: module, ctx: ctx, graph: graph)
    // One kernel per distinct (op, attributes, types, symbols) in the whole module.
    let kernels = KernelCache()
    for f in graph.functions {
      let lowering = FunctionLowering(
        ctx: ctx, module: module, function: f, vectorWidth: options.target.vectorWidth, kernels: kernels,
        debugInfo: debugInfo)
      lowering.wideComputeVectors = options.target.vectorWidth == nil && tm.features.contains("+avx512f")
      lowering.scalefLanes = scalefLanes(features: tm.features)
      lowering.gemmVectorBits = vectorBits(features: tm.features)
      lowering.streamingThreshold = options.target.streamingThresholdBytes ?? Streaming.defaultThresholdBytes
      lowering.lowerEntry()
    }
    debugInfo?.finalize()
    return module
  }
  defer { withLLVMLock { LLVMDisposeModule(module) } }
  return try finishCompile(module, tm, sink, header: cHeader(graph), options: options)
}

/// The features an LLVM features string turns on (`+avx512f,-sse4a` gives `avx512f`).
func enabledFeatures(_ features: String) -> Set<Substring> {
  Set(features.split(separator: ",").filter { $0.hasPrefix("+") }.map { $0.dropFirst() })
}

/// The f32 vector widths with a native `vscalefps` under an LLVM features string
/// (`FunctionLowering.scalefLanes`).
func scalefLanes(features: String) -> Set<Int> {
  let on = enabledFeatures(features)
  guard on.contains("avx512f") else { return [] }
  return on.contains("avx512vl") ? [8, 16] : [16]
}

/// The widest vector registers under an LLVM features string, in bits.
func vectorBits(features: String) -> Int {
  let on = enabledFeatures(features)
  return on.contains("avx512f") ? 512 : on.contains("avx") ? 256 : 128
}

/// Verifies a built module, optimizes and emits it in a child process, and throws the first
/// error diagnostic LLVM reported (in this process or the child).
func finishCompile(
  _ module: LLVMModuleRef, _ tm: TargetMachine, _ sink: DiagnosticSink, header: String, options: CompileOptions
) throws(CodegenError) -> CompiledModule {
  try withLLVMLock { () throws(CodegenError) in try verifyModule(module) }
  let out = try tm.optimizeAndEmit(module, emitLLVMIR: options.emitLLVMIR, emitAssembly: options.emitAssembly)
  if let e = (sink.errors + out.diagnostics).first { throw CodegenError("LLVM: \(e)") }
  return CompiledModule(
    object: out.object, assembly: out.assembly, llvmIR: out.llvmIR, header: header, cpu: tm.cpu, features: tm.features)
}

/// The most inputs plus outputs of one function, and operands of one instruction, that the code
/// generator takes. LLVM's back end spends time and memory superlinear in a basic block's
/// memory operations (the entry stores every argument; 4000 operands compile in about 6 s,
/// 20000 ran LLVM out of memory), so wider graphs are a located error here rather than minutes
/// of work ending in an out-of-memory error from the code generation process (which runs apart,
/// so it no longer ends the caller's process). The interpreter has no such limit.
public let maxCodegenArguments = 4096

/// Throws, located at the function or instruction, when `graph` passes `maxCodegenArguments`.
func checkCodegenLimits(_ graph: Graph) throws(CodegenError) {
  for f in graph.functions {
    let count = f.parameters.count + f.resultTypes.count
    if count > maxCodegenArguments {
      throw CodegenError(
        "@\(f.name) (\(diagnosticPos(nil, in: f))) has \(f.parameters.count) inputs and \(f.resultTypes.count) results; "
          + "the code generator takes at most \(maxCodegenArguments) in all (split the function, or pack tensors with concat)")
    }
    var wide: Instruction?
    f.forEachInstruction { inst in if wide == nil && inst.operands.count > maxCodegenArguments { wide = inst } }
    if let wide {
      throw CodegenError(
        "\(wide.op.mnemonic) at \(diagnosticPos(wide, in: f)) has \(wide.operands.count) operands; "
          + "the code generator takes at most \(maxCodegenArguments) (split it into a tree of smaller ones)")
    }
  }
}
