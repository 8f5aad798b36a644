// Thin helpers over the LLVM-C API: errors, diagnostics, attributes, loop metadata, the target
// machine, O3, and emission to objects and assembly. Nothing here compiles in memory to run:
// code leaves LLVM only as object files or text.

import CLLVM

/// A failure inside LLVM or the toolchain, with LLVM's own message.
public struct CodegenError: Error, Equatable, CustomStringConvertible {
  public var description: String
  public init(_ message: String) { description = message }
}

/// One-time native target initialization (a global `let` is initialized once, thread-safely).
private let nativeTargetInitialized: Bool = cllvm_initialize_native() == 0

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
  /// Preferred vector width in bits for loops (nil: LLVM's choice for the CPU).
  public var vectorWidth: Int?

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

  deinit { LLVMDisposeTargetMachine(ref) }

  /// Sets the module's triple and data layout (the optimizer's cost model reads them).
  func configure(_ module: LLVMModuleRef) {
    LLVMSetTarget(module, triple)
    let td = LLVMCreateTargetDataLayout(ref)
    LLVMSetModuleDataLayout(module, td)
    LLVMDisposeTargetData(td)
  }

  /// Runs the `default<O3>` pipeline with the vectorizers on.
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

  /// Object file or assembly bytes. Codegen changes the module it runs on: pass a clone when
  /// the module is used again.
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
