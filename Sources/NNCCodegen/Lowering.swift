// Lowering one IR function to LLVM IR: one internal function per kernel (per instruction; a
// `fused` instruction is one kernel, FusedLowering.swift) and the entry functions, which run the kernels in order in one
// workspace of intermediates (the caller's, or allocated on the heap per call), branch for
// `cond` and check `guard`s.
//
// The entry ABI (see docs/abi.md): `int32_t nnc_NAME(in0, ..., out0, ..., int64_t SYM0, ...)`
// with one pointer per parameter and result (caller-allocated, row-major, bool as one byte) and
// one size per symbol in order of first appearance in the parameter types. It returns 0, or
// 1 when an allocation failed, or 2 + k when guard k (in text order) failed. A packed form
// `nnc_NAME_packed(void **buffers, const int64_t *sizes)` takes the same in two arrays;
// `nnc_NAME[_packed]_with_workspace` take a caller's workspace as well (-1 when it is null or
// not 64-byte aligned) and `nnc_NAME[_packed]_workspace_size` say how many bytes it needs.

import CLLVM
import NNCIR

/// Status codes the entry function returns.
public enum EntryStatus {
  public static let ok: Int32 = 0
  /// The workspace could not be allocated (the allocating entries only).
  public static let outOfMemory: Int32 = 1
  /// The caller's workspace is null or not 64-byte aligned while the call needs workspace
  /// (the `_with_workspace` entries only; nothing was computed).
  public static let invalidWorkspace: Int32 = -1
  /// Guard k failed: `firstGuard + k`.
  public static let firstGuard: Int32 = 2
}

/// The C names of a function's entry points (docs/abi.md).
public typealias EntryNames = CEntrySymbols

/// What makes two instructions' kernels the same function: the op with its attributes (floats
/// in constants and `pad` values compare bit for bit, so `-0.0` and `0.0` stay apart), the
/// operand and result types, and the function's size symbols in ABI order (a kernel takes them
/// as its trailing arguments, and symbolic dims name them). A kernel's code depends on nothing
/// else: `kernelBody` reads an instruction's op and its values' types, never the values.
struct KernelKey: Hashable {
  var op: Op
  var operandTypes: [TensorType]
  var resultTypes: [TensorType]
  var symbols: [String]
  /// A fused op's region with values numbered by position (operands first), so fused ops
  /// computing the same thing share one kernel.
  var region: [RegionStep] = []
  /// Per result, whether the kernel may write it with streaming stores (`Streaming`): set by
  /// the call site for results that are the caller's buffers.
  var streamedResults: [Bool] = []

  /// One op of a fused region: operand and result positions, result types.
  struct RegionStep: Hashable {
    var op: Op
    var operands: [Int]
    var resultTypes: [TensorType]
  }

  init(_ inst: Instruction, in f: Function, symbols: [String]) {
    op = inst.op
    operandTypes = inst.operands.map { f.type(of: $0)! }
    resultTypes = inst.results.map { f.type(of: $0)! }
    self.symbols = symbols
    guard case .fused = inst.op, let body = inst.regions.first else { return }
    var position: [Int: Int] = [:]
    for (k, v) in inst.operands.enumerated() { position[v.id] = k }
    for b in body.instructions {
      region.append(
        RegionStep(op: b.op, operands: b.operands.map { position[$0.id] ?? -1 }, resultTypes: b.results.map { f.type(of: $0)! }))
      for r in b.results { position[r.id] = position.count }
    }
    region.append(RegionStep(op: .fused, operands: body.terminator.map { position[$0.id] ?? -1 }, resultTypes: []))
  }
}

/// How many kernel calls the entry of `f` makes (every instruction but `cond` and `guard`; a
/// `fused` op is one call), how many distinct kernels they call (by `KernelKey`; a module
/// shares kernels between functions too, so the module may hold fewer than the functions'
/// sum), and how many of the calls are fused kernels.
public func kernelCounts(_ f: Function) -> (calls: Int, distinct: Int, fused: Int) {
  var calls = 0
  var fused = 0
  var keys: Set<KernelKey> = []
  let symbols = f.sizeSymbols
  func walk(_ block: Block) {
    for inst in block.instructions {
      switch inst.op {
      case .cond: inst.regions.forEach(walk)
      case .guardTrue: continue
      default:
        calls += 1
        if case .fused = inst.op { fused += 1 }
        keys.insert(KernelKey(inst, in: f, symbols: symbols))
      }
    }
  }
  walk(f.body)
  return (calls, keys.count, fused)
}

/// The kernels of one module, by `KernelKey`: an instruction whose kernel exists already calls
/// it instead of getting a copy. An unrolled loop (an RNN over T steps) repeats the same few
/// instructions on the same types, so it needs a few kernels, not T times as many; LLVM's time
/// is then spent once per distinct kernel, not once per instruction.
final class KernelCache {
  var kernels: [KernelKey: LLVMValueRef] = [:]
  /// Kernels made so far (numbers their names: `nnc_NAME.kN.OP.TYPE`, `kernelName(for:)`).
  var count = 0
}

/// Builds LLVM IR for functions into one module.
final class FunctionLowering {
  let ctx: LLVMContextRef
  let module: LLVMModuleRef
  let b: LLVMBuilderRef
  let f: Function
  let symbols: [String]
  let vectorWidth: Int?

  let i1, i8, i32, i64, f32, f64, void: LLVMTypeRef
  let i8p: LLVMTypeRef

  /// Per-function state of the entry being built.
  var entry: LLVMValueRef!
  var symbolValues: [String: LLVMValueRef] = [:]
  /// Caller pointers of parameters and results, by value id.
  var buffers: [Int: LLVMValueRef] = [:]
  /// The workspace (the body's third argument) and the byte offset of each other value's
  /// region in it.
  var workspace: LLVMValueRef?
  var regionOffsets: [Int: LLVMValueRef] = [:]
  var statusSlot: LLVMValueRef!
  var cleanupBlock: LLVMBasicBlockRef!
  /// The module's kernels, shared by the functions lowered into it.
  let kernels: KernelCache
  /// Loops built so far (tells `loop` whether its body held another loop).
  var loopCount = 0
  var guardCount = 0
  /// How many elements the scalar lowering (ScalarLowering.swift) works on at once: 1 for
  /// scalar code, W for `<W x T>` vectors (the fused row kernels' lane sums emit whole groups of
  /// `SummationOrder.lanes` terms as vectors). `laneType` is the register type at this width.
  var lanes = 1
  /// The module's debug information (DebugInfo.swift), nil when the graph names no source.
  let debugInfo: DebugInfo?
  /// The subprogram of the function being built, the scope of the locations its instructions
  /// get (`beginDebugFunction`, `withSourceLocation`); nil when it has none.
  var debugScope: LLVMMetadataRef?
  /// Whether compute-bound kernels (fused pointwise kernels with transcendentals or divisions)
  /// prefer 512-bit vectors: the target has AVX-512 and no vector width was asked for
  /// (`FusedLowering.swift`, `fusedKernel`).
  var wideComputeVectors = false
  /// The vector widths (in f32 lanes) at which the target has AVX-512's `vscalefps`: 16 with
  /// AVX-512F, and 8 with AVX-512VL too; empty elsewhere (the features string decides: a CPU
  /// named with `--cpu` and no features gets the generic code). The shared exp uses it to
  /// apply 2^k in one instruction (`MathEmitter.scale`); results are the same either way.
  var scalefLanes: Set<Int> = []
  /// Per result of the kernel being built, whether it may be written with streaming stores
  /// (`KernelKey.streamedResults`; empty: none).
  var streamedResults: [Bool] = []
  /// The widest vectors the target has, in bits (512 with AVX-512F, 256 with AVX, else 128):
  /// the GEMM micro-kernel's (GemmLowering.swift).
  var gemmVectorBits = 128
  /// `TargetOptions.streamingThresholdBytes`, resolved.
  var streamingThreshold = Streaming.defaultThresholdBytes

  init(
    ctx: LLVMContextRef, module: LLVMModuleRef, function: Function, vectorWidth: Int?, kernels: KernelCache,
    debugInfo: DebugInfo? = nil
  ) {
    self.ctx = ctx
    self.debugInfo = debugInfo
    self.module = module
    self.kernels = kernels
    self.f = function
    self.symbols = function.sizeSymbols
    self.vectorWidth = vectorWidth
    b = LLVMCreateBuilderInContext(ctx)
    i1 = LLVMInt1TypeInContext(ctx)
    i8 = LLVMInt8TypeInContext(ctx)
    i32 = LLVMInt32TypeInContext(ctx)
    i64 = LLVMInt64TypeInContext(ctx)
    f32 = LLVMFloatTypeInContext(ctx)
    f64 = LLVMDoubleTypeInContext(ctx)
    void = LLVMVoidTypeInContext(ctx)
    i8p = LLVMPointerType(i8, 0)
  }

  deinit { LLVMDisposeBuilder(b) }

  // MARK: - types and constants

  /// The in-memory element type (bool is one byte).
  func memType(_ t: DType) -> LLVMTypeRef {
    switch t {
    case .f32: return f32
    case .f64: return f64
    case .i32: return i32
    case .i64: return i64
    case .bool: return i8
    }
  }
  /// The in-register type (bool is i1).
  func regType(_ t: DType) -> LLVMTypeRef { t == .bool ? i1 : memType(t) }
  func ptrType(_ t: DType) -> LLVMTypeRef { LLVMPointerType(memType(t), 0) }
  /// The register type at the current width: `regType(t)`, or `<lanes x regType(t)>`.
  func laneType(_ t: DType) -> LLVMTypeRef { lanes == 1 ? regType(t) : LLVMVectorType(regType(t), UInt32(lanes)) }

  func constI64(_ v: Int) -> LLVMValueRef { LLVMConstInt(i64, UInt64(bitPattern: Int64(v)), 1) }
  func constI32(_ v: Int32) -> LLVMValueRef { LLVMConstInt(i32, UInt64(bitPattern: Int64(v)), 1) }

  /// A float scalar constant of `t` in register form. Integers convert as the interpreter does
  /// (`saturatingInt64`): truncated toward zero, out-of-range values clamped, NaN as 0.
  func constScalar(_ v: Double, _ t: DType) -> LLVMValueRef { constScalar(.float(v), as: t) }

  /// A scalar attribute as a constant of `t` in register form, converted as `ScalarValue`
  /// says: an integer becomes `LLVMConstInt` of its exact value (clamped to i32's range for
  /// i32), never a Double; floats truncate and saturate for integer types.
  func constScalar(_ v: ScalarValue, as t: DType) -> LLVMValueRef {
    switch t {
    case .f32: return LLVMConstReal(f32, Double(v.float32))
    case .f64: return LLVMConstReal(f64, v.float64)
    case .i32: return LLVMConstInt(i32, UInt64(bitPattern: Int64(v.int32)), 1)
    case .i64: return LLVMConstInt(i64, UInt64(bitPattern: v.int64), 1)
    case .bool: return LLVMConstInt(i1, v.bool ? 1 : 0, 0)
    }
  }

  // MARK: - sizes

  /// The size of `d` as an i64 value, given the current function's symbol values.
  func dim(_ d: Dim) -> LLVMValueRef {
    switch d {
    case .int(let v): return constI64(v)
    case .sym(let s): return symbolValues[s] ?? constI64(0)
    }
  }

  func dims(_ t: TensorType) -> [LLVMValueRef] { t.shape.map(dim) }

  func product(_ vs: [LLVMValueRef]) -> LLVMValueRef {
    vs.reduce(constI64(1)) { LLVMBuildMul(b, $0, $1, "") }
  }

  /// Row-major strides of `t` as values; 0 for dims that broadcast into `target` (static 1s
  /// under a larger dim, and missing leading dims).
  func strides(_ t: TensorType, broadcastTo target: TensorType? = nil) -> [LLVMValueRef] {
    let ds = dims(t)
    var out = [LLVMValueRef](repeating: constI64(0), count: t.rank)
    var acc = constI64(1)
    for k in stride(from: t.rank - 1, through: 0, by: -1) {
      out[k] = acc
      acc = LLVMBuildMul(b, acc, ds[k], "")
    }
    guard let target else { return out }
    let lead = target.rank - t.rank
    var full = [LLVMValueRef](repeating: constI64(0), count: target.rank)
    for k in 0..<t.rank {
      full[lead + k] = t.shape[k] == .int(1) && target.shape[lead + k] != .int(1) ? constI64(0) : out[k]
    }
    return full
  }

  func dot(_ idx: [LLVMValueRef], _ strides: [LLVMValueRef]) -> LLVMValueRef {
    var acc = constI64(0)
    for (i, s) in zip(idx, strides) { acc = LLVMBuildAdd(b, acc, LLVMBuildMul(b, i, s, ""), "") }
    return acc
  }

  // MARK: - memory

  /// The address of element `offset` of an array of `type` starting at `base`.
  func elementPointer(_ base: LLVMValueRef, _ type: LLVMTypeRef, _ offset: LLVMValueRef) -> LLVMValueRef {
    var idx: [LLVMValueRef?] = [offset]
    return LLVMBuildInBoundsGEP2(b, type, base, &idx, 1, "")!
  }

  func load(_ base: LLVMValueRef, _ offset: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    let p = elementPointer(base, memType(t), offset)
    let v = LLVMBuildLoad2(b, memType(t), p, "")!
    return t == .bool ? LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstInt(i8, 0, 0), "") : v
  }

  func store(_ v: LLVMValueRef, _ base: LLVMValueRef, _ offset: LLVMValueRef, _ t: DType) {
    let p = elementPointer(base, memType(t), offset)
    LLVMBuildStore(b, t == .bool ? LLVMBuildZExt(b, v, i8, "") : v, p)
  }

  // MARK: - control flow

  func block(_ name: String, in fn: LLVMValueRef? = nil) -> LLVMBasicBlockRef {
    LLVMAppendBasicBlockInContext(ctx, fn ?? LLVMGetBasicBlockParent(LLVMGetInsertBlock(b)), name)
  }

  /// `if condition { then() } else { otherwise() }`; only the branch taken is built when
  /// `condition` is a constant.
  func ifElse(_ condition: LLVMValueRef, then: () -> Void, otherwise: () -> Void) {
    if LLVMIsAConstantInt(condition) != nil { return LLVMConstIntGetZExtValue(condition) != 0 ? then() : otherwise() }
    let yes = block("if.then")
    let no = block("if.else")
    let join = block("if.end")
    LLVMBuildCondBr(b, condition, yes, no)
    LLVMPositionBuilderAtEnd(b, yes)
    then()
    LLVMBuildBr(b, join)
    LLVMPositionBuilderAtEnd(b, no)
    otherwise()
    LLVMBuildBr(b, join)
    LLVMPositionBuilderAtEnd(b, join)
  }

  /// `for i in 0..<n { body(i) }`. A loop that contains other loops is not unrolled (unrolling
  /// outer loops multiplies code size and compile time for little speed); an innermost loop is
  /// left to LLVM, and `vectorize` lets it reassociate a reduction; `unroll: false` keeps LLVM
  /// from unrolling it too (loops that move data, where unrolling buys little and costs code).
  func loop(
    from start: LLVMValueRef? = nil, _ n: LLVMValueRef, _ name: String = "i", vectorize: Bool = false,
    unroll: Bool = true, body: (LLVMValueRef) -> Void
  ) {
    let pre = LLVMGetInsertBlock(b)!
    let header = block(name + ".head")
    let bodyBlock = block(name + ".body")
    let exit = block(name + ".exit")
    LLVMBuildBr(b, header)
    LLVMPositionBuilderAtEnd(b, header)
    let i = LLVMBuildPhi(b, i64, name)!
    let cond = LLVMBuildICmp(b, LLVMIntSLT, i, n, "")
    LLVMBuildCondBr(b, cond, bodyBlock, exit)
    LLVMPositionBuilderAtEnd(b, bodyBlock)
    let before = loopCount
    body(i)
    loopCount += 1
    let isOuter = loopCount > before + 1
    let next = LLVMBuildAdd(b, i, constI64(1), "")!
    let latchBlock = LLVMGetInsertBlock(b)!
    let latch = LLVMBuildBr(b, header)!
    var vals: [LLVMValueRef?] = [start ?? constI64(0), next]
    var blocks: [LLVMBasicBlockRef?] = [pre, latchBlock]
    LLVMAddIncoming(i, &vals, &blocks, 2)
    LLVMPositionBuilderAtEnd(b, exit)
    markLoop(ctx, latchBranch: latch, vectorize: vectorize, noUnroll: isOuter || !unroll)
  }

  /// Nested loops over `bounds` (outermost first); `vectorizeInner` marks the innermost loop.
  /// When any bound is 0 the nest is skipped as a whole (the outer loops would otherwise run
  /// for nothing: `[2^48, 2^48, 0]` has no elements but 2^96 outer iterations).
  func loopNest(_ bounds: [LLVMValueRef], vectorizeInner: Bool = false, body: ([LLVMValueRef]) -> Void) {
    if bounds.count > 1 {
      var empty = LLVMConstInt(i1, 0, 0)!
      for bound in bounds.dropFirst() { empty = LLVMBuildOr(b, empty, LLVMBuildICmp(b, LLVMIntEQ, bound, constI64(0), ""), "") }
      let run = block("nest.run")
      let skip = block("nest.end")
      LLVMBuildCondBr(b, empty, skip, run)
      LLVMPositionBuilderAtEnd(b, run)
      loopNest(unguarded: bounds, vectorizeInner: vectorizeInner, body: body)
      LLVMBuildBr(b, skip)
      LLVMPositionBuilderAtEnd(b, skip)
      return
    }
    loopNest(unguarded: bounds, vectorizeInner: vectorizeInner, body: body)
  }

  private func loopNest(unguarded bounds: [LLVMValueRef], vectorizeInner: Bool, body: ([LLVMValueRef]) -> Void) {
    func level(_ k: Int, _ idx: [LLVMValueRef]) {
      if k == bounds.count {
        body(idx)
        return
      }
      loop(bounds[k], "i\(k)", vectorize: vectorizeInner && k == bounds.count - 1) { i in level(k + 1, idx + [i]) }
    }
    level(0, [])
  }

  /// A stack slot in the current function's entry block, so that mem2reg promotes it even
  /// when it is used inside loops.
  func entryAlloca(_ t: LLVMTypeRef) -> LLVMValueRef {
    let fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b))!
    let first = LLVMGetEntryBasicBlock(fn)!
    let tmp = LLVMCreateBuilderInContext(ctx)!
    defer { LLVMDisposeBuilder(tmp) }
    if let firstInst = LLVMGetFirstInstruction(first) {
      LLVMPositionBuilderBefore(tmp, firstInst)
    } else {
      LLVMPositionBuilderAtEnd(tmp, first)
    }
    return LLVMBuildAlloca(tmp, t, "")
  }

  // MARK: - functions

  func declare(_ name: String, _ ret: LLVMTypeRef, _ params: [LLVMTypeRef]) -> LLVMValueRef {
    if let existing = LLVMGetNamedFunction(module, name) { return existing }
    var ps: [LLVMTypeRef?] = params
    let ty = LLVMFunctionType(ret, &ps, UInt32(ps.count), 0)
    let fn = LLVMAddFunction(module, name, ty)!
    LLVMAddAttributeAtIndex(fn, functionAttrIndex, enumAttr(ctx, "nounwind"))
    return fn
  }

  func call(_ fn: LLVMValueRef, _ args: [LLVMValueRef]) -> LLVMValueRef {
    var a: [LLVMValueRef?] = args
    return LLVMBuildCall2(b, LLVMGlobalGetValueType(fn), fn, &a, UInt32(a.count), "")
  }

  func addFunctionAttributes(_ fn: LLVMValueRef) {
    LLVMAddAttributeAtIndex(fn, functionAttrIndex, enumAttr(ctx, "nounwind"))
    if let w = vectorWidth {
      LLVMAddAttributeAtIndex(fn, functionAttrIndex, stringAttr(ctx, "prefer-vector-width", String(w)))
    }
  }
}
