// The entry functions of each IR function: buffers, kernel calls in order, `cond` as a branch,
// `guard` as a status check. Intermediates are regions of one workspace placed by the workspace
// plan, so values that are never live at once share bytes; results are written straight into
// the caller's output buffers. The workspace is the caller's (`_with_workspace`, no allocation
// at all) or malloc'd and freed per call (`nnc_NAME`, `nnc_NAME_packed`); both run one body.

import CLLVM
import NNCIR
import NNCPasses

extension FunctionLowering {
  /// Builds the six exported entry functions of `f` (docs/abi.md), the body they share, and
  /// every kernel it calls.
  ///
  /// The work is one internal function
  /// `nnc_NAME.body(void **buffers, const int64_t *sizes, void *workspace)`, `noinline`; the
  /// packed entries call it (after allocating the workspace, or after checking the caller's)
  /// and the typed entries store their arguments into two stack arrays and call the packed
  /// ones. Keeping the per-argument signature out of the function that does the work keeps
  /// compile time linear in the number of inputs and outputs: LLVM's attribute inference
  /// rebuilds a function's attribute list once per argument it annotates, which is quadratic
  /// (a 4000-input concat took 115 s).
  func lowerEntry() {
    let names = EntryNames(f.name)
    let i8pp = LLVMPointerType(i8p, 0)!
    let i64p = LLVMPointerType(i64, 0)!
    var bodyParams: [LLVMTypeRef?] = [i8pp, i64p, i8p]
    let bodyType = LLVMFunctionType(i32, &bodyParams, 3, 0)!
    entry = LLVMAddFunction(module, names.typed + ".body", bodyType)
    LLVMSetLinkage(entry, LLVMInternalLinkage)
    addFunctionAttributes(entry)
    LLVMAddAttributeAtIndex(entry, functionAttrIndex, enumAttr(ctx, "noinline"))
    beginDebugFunction(entry, name: names.typed + ".body", at: functionLocation)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, entry, "entry"))
    statusSlot = LLVMBuildAlloca(b, i32, "status")
    LLVMBuildStore(b, constI32(EntryStatus.ok), statusSlot)
    // The caller's pointers (inputs, then outputs) and sizes, read once from the arrays.
    let types = f.parameterTypes + f.resultTypes
    let pointers: [LLVMValueRef] = types.enumerated().map { k, t in
      let slot = elementPointer(LLVMGetParam(entry, 0), i8p, constI64(k))
      return LLVMBuildBitCast(b, LLVMBuildLoad2(b, i8p, slot, ""), ptrType(t.dtype), "")!
    }
    loadSymbols(from: LLVMGetParam(entry, 1))
    for (k, p) in f.parameters.enumerated() { buffers[p.value.id] = pointers[k] }

    // Results go straight into the caller's buffers when a top-level instruction makes them
    // (the first time the function returns them; the same rule as the plan's).
    let callerOwned = WorkspacePlan.callerOutputValues(f)
    var outputCopies: [(Value, Int)] = []
    for (k, v) in f.body.terminator.enumerated() {
      let out = pointers[f.parameters.count + k]
      if callerOwned.contains(v.id) && buffers[v.id] == nil {
        buffers[v.id] = out
      } else {
        outputCopies.append((v, k))
      }
    }

    // Every other value gets a region of one workspace, one block for the whole call, so the
    // entry's size stays linear in the number of values (a malloc per value with a failure
    // edge each gave the cleanup block a phi per value with an incoming edge per value:
    // quadratic, 14 s of llc for a 200-op chain). The workspace plan
    // (NNCPasses/Memory/WorkspacePlan.swift) says where: values whose live intervals do not
    // overlap share bytes. Statically sized values have constant offsets below the plan's
    // static peak; symbolically sized ones share slots, each as large as its largest value at
    // run time, laid out above it (`workspaceLayout`). Regions start at multiples of 64 bytes
    // from the workspace's start (cache lines, the widest vector loads).
    let plan = WorkspacePlan(f)
    if !plan.values.isEmpty {
      workspace = LLVMGetParam(entry, 2)
      let slotOffsets = workspaceLayout(plan).slotOffsets
      for r in plan.values {
        if let offset = plan.offsets[r.id] {
          regionOffsets[r.id] = constI64(offset)
        } else {
          regionOffsets[r.id] = slotOffsets[plan.slotOf[r.id]!]
        }
      }
    }
    cleanupBlock = block("cleanup", in: entry)
    lowerBlock(f.body)
    for (v, k) in outputCopies {
      let t = f.type(of: v)!
      memcpy(pointers[f.parameters.count + k], buffer(v), t)
    }
    LLVMBuildBr(b, cleanupBlock)
    LLVMPositionBuilderAtEnd(b, cleanupBlock)
    LLVMBuildRet(b, LLVMBuildLoad2(b, i32, statusSlot, ""))
    // The exported entries only allocate and forward to the body: no subprogram, no lines.
    endDebugFunction()

    let size = lowerWorkspaceSizeEntries(names, plan)
    let withWorkspace = lowerPackedWithWorkspaceEntry(names, bodyType: bodyType, size: size)
    let allocating = lowerPackedEntry(names, plan, bodyType: bodyType, size: size)
    lowerTypedEntry(names.typed, calling: allocating, takesWorkspace: false)
    lowerTypedEntry(names.typedWithWorkspace, calling: withWorkspace, takesWorkspace: true)
  }

  /// Sets `symbolValues` to the sizes read from the `int64_t` array `sizes` (ABI order).
  func loadSymbols(from sizes: LLVMValueRef) {
    for (k, s) in symbols.enumerated() {
      symbolValues[s] = LLVMBuildLoad2(b, i64, elementPointer(sizes, i64, constI64(k)), "")
    }
  }

  /// The workspace's layout at the current `symbolValues`, emitted at the builder's position:
  /// the byte offset of each slot of `plan` (one after another above the static part) and the
  /// bytes of the whole (the static part plus every slot at its largest value; 0 when the plan
  /// has no values). The body takes its offsets from here and the `_workspace_size` entries
  /// return `bytes`, so what a caller is told to provide and what the body uses are one
  /// computation: `WorkspacePlan.plannedBytes(symbols:)`.
  func workspaceLayout(_ plan: WorkspacePlan) -> (bytes: LLVMValueRef, slotOffsets: [LLVMValueRef]) {
    var total = constI64(plan.staticBytes)
    var slotOffsets: [LLVMValueRef] = []
    for members in plan.slots {
      slotOffsets.append(total)
      var largest = constI64(0)
      for r in members {
        let t = f.type(of: r)!
        let bytes = LLVMBuildMul(b, product(dims(t)), constI64(t.dtype.byteSize), "")!
        let align = WorkspacePlan.alignment
        let rounded = LLVMBuildAnd(b, LLVMBuildAdd(b, bytes, constI64(align - 1), ""), constI64(-align), "")!
        largest = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGT, rounded, largest, ""), rounded, largest, "")!
      }
      total = LLVMBuildAdd(b, total, largest, "")
    }
    return (total, slotOffsets)
  }

  /// `int64_t nnc_NAME_packed_workspace_size(const int64_t *sizes)` and
  /// `int64_t nnc_NAME_workspace_size(int64_t SYM0, ...)`: the bytes of workspace a call at
  /// these sizes needs (`workspaceLayout`). Returns the packed one, which the entries call.
  func lowerWorkspaceSizeEntries(_ names: EntryNames, _ plan: WorkspacePlan) -> LLVMValueRef {
    var packedParams: [LLVMTypeRef?] = [LLVMPointerType(i64, 0)]
    let packed = LLVMAddFunction(module, names.packedWorkspaceSize, LLVMFunctionType(i64, &packedParams, 1, 0))!
    addFunctionAttributes(packed)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, packed, "entry"))
    let saved = symbolValues
    loadSymbols(from: LLVMGetParam(packed, 0))
    LLVMBuildRet(b, workspaceLayout(plan).bytes)
    symbolValues = saved

    var typedParams: [LLVMTypeRef?] = symbols.map { _ in i64 }
    let typed = LLVMAddFunction(module, names.typedWorkspaceSize, LLVMFunctionType(i64, &typedParams, UInt32(symbols.count), 0))!
    addFunctionAttributes(typed)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, typed, "entry"))
    let sizeArray = symbolArray(typed, firstParameter: 0)
    LLVMBuildRet(b, call(packed, [sizeArray]))
    return packed
  }

  /// A stack array holding the size parameters of `fn` (from parameter `firstParameter` on).
  private func symbolArray(_ fn: LLVMValueRef, firstParameter: Int) -> LLVMValueRef {
    let sizeArray = LLVMBuildArrayAlloca(b, i64, constI64(max(1, symbols.count)), "sizes")!
    for k in 0..<symbols.count {
      LLVMBuildStore(b, LLVMGetParam(fn, UInt32(firstParameter + k)), elementPointer(sizeArray, i64, constI64(k)))
    }
    return sizeArray
  }

  /// `int32_t nnc_NAME_packed_with_workspace(void **buffers, const int64_t *sizes, void *ws)`:
  /// the body in the caller's workspace, after checking it: when the call needs workspace
  /// (`size` is not 0), a null or not 64-byte-aligned `ws` returns
  /// `EntryStatus.invalidWorkspace` and computes nothing. Allocates nothing.
  func lowerPackedWithWorkspaceEntry(_ names: EntryNames, bodyType: LLVMTypeRef, size: LLVMValueRef) -> LLVMValueRef {
    let fn = LLVMAddFunction(module, names.packedWithWorkspace, bodyType)!
    addFunctionAttributes(fn)
    // The typed entry calls it rather than getting a copy (one check, one call site).
    LLVMAddAttributeAtIndex(fn, functionAttrIndex, enumAttr(ctx, "noinline"))
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
    let (buffersArg, sizesArg, ws) = (LLVMGetParam(fn, 0)!, LLVMGetParam(fn, 1)!, LLVMGetParam(fn, 2)!)
    let needed = LLVMBuildICmp(b, LLVMIntNE, call(size, [sizesArg]), constI64(0), "")
    let misaligned = LLVMBuildICmp(
      b, LLVMIntNE, LLVMBuildAnd(b, LLVMBuildPtrToInt(b, ws, i64, ""), constI64(WorkspacePlan.alignment - 1), ""), constI64(0), "")
    let unusable = LLVMBuildOr(b, LLVMBuildIsNull(b, ws, ""), misaligned, "")
    let invalid = block("workspace.invalid", in: fn)
    let run = block("run", in: fn)
    LLVMBuildCondBr(b, LLVMBuildAnd(b, needed, unusable, ""), invalid, run)
    LLVMPositionBuilderAtEnd(b, invalid)
    LLVMBuildRet(b, constI32(EntryStatus.invalidWorkspace))
    LLVMPositionBuilderAtEnd(b, run)
    var args: [LLVMValueRef?] = [buffersArg, sizesArg, ws]
    LLVMBuildRet(b, LLVMBuildCall2(b, bodyType, entry, &args, 3, ""))
    return fn
  }

  /// `int32_t nnc_NAME_packed(void **buffers, const int64_t *sizes)`: the body in a workspace
  /// malloc'd for this call (`size` bytes, at least 1) and freed before returning; returns
  /// `EntryStatus.outOfMemory` when malloc fails. A function without workspace values
  /// allocates nothing.
  func lowerPackedEntry(_ names: EntryNames, _ plan: WorkspacePlan, bodyType: LLVMTypeRef, size: LLVMValueRef) -> LLVMValueRef {
    var params: [LLVMTypeRef?] = [LLVMPointerType(i8p, 0), LLVMPointerType(i64, 0)]
    let fn = LLVMAddFunction(module, names.packed, LLVMFunctionType(i32, &params, 2, 0))!
    addFunctionAttributes(fn)
    // The typed entry calls it rather than getting a copy: one malloc site per function.
    LLVMAddAttributeAtIndex(fn, functionAttrIndex, enumAttr(ctx, "noinline"))
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
    let (buffersArg, sizesArg) = (LLVMGetParam(fn, 0)!, LLVMGetParam(fn, 1)!)
    guard !plan.values.isEmpty else {
      var args: [LLVMValueRef?] = [buffersArg, sizesArg, LLVMConstNull(i8p)]
      LLVMBuildRet(b, LLVMBuildCall2(b, bodyType, entry, &args, 3, ""))
      return fn
    }
    let bytes = call(size, [sizesArg])
    let request = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, bytes, constI64(0), ""), constI64(1), bytes, "")!
    let raw = call(declare("malloc", i8p, [i64]), [request])
    let failed = block("alloc.failed", in: fn)
    let run = block("run", in: fn)
    LLVMBuildCondBr(b, LLVMBuildIsNull(b, raw, ""), failed, run)
    LLVMPositionBuilderAtEnd(b, failed)
    LLVMBuildRet(b, constI32(EntryStatus.outOfMemory))
    LLVMPositionBuilderAtEnd(b, run)
    var args: [LLVMValueRef?] = [buffersArg, sizesArg, raw]
    let status = LLVMBuildCall2(b, bodyType, entry, &args, 3, "")!
    _ = call(declare("free", void, [i8p]), [raw])
    LLVMBuildRet(b, status)
    return fn
  }

  /// The buffer of `v` as a typed pointer: a parameter's or result's caller pointer, or, for
  /// any other value, its workspace region, addressed where it is used. Region pointers made
  /// once at entry would all be live across every kernel call (a thousand values in an
  /// unrolled RNN), and the back end's register allocator spent time superlinear in them
  /// spilling and splitting; an address made at its use lives for one call (the offsets of
  /// static shapes are constants) and GVN still shares it between uses it dominates.
  func buffer(_ v: Value) -> LLVMValueRef {
    if let p = buffers[v.id] { return p }
    let region = elementPointer(workspace!, i8, regionOffsets[v.id]!)
    return LLVMBuildBitCast(b, region, ptrType(f.type(of: v)!.dtype), "")
  }

  /// A typed entry, `int32_t NAME(in0, ..., out0, ..., [void *workspace,] int64_t SYM0, ...)`:
  /// the buffers and sizes into two stack arrays, then `packed` (which takes the workspace as
  /// its third argument when `takesWorkspace`).
  func lowerTypedEntry(_ name: String, calling packed: LLVMValueRef, takesWorkspace: Bool) {
    let types = f.parameterTypes + f.resultTypes
    let pointerCount = types.count
    var ps: [LLVMTypeRef?] = types.map { ptrType($0.dtype) } + (takesWorkspace ? [i8p] : []) + symbols.map { _ in i64 }
    let fn = LLVMAddFunction(module, name, LLVMFunctionType(i32, &ps, UInt32(ps.count), 0))!
    addFunctionAttributes(fn)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
    let pointerArray = LLVMBuildArrayAlloca(b, i8p, constI64(max(1, pointerCount)), "buffers")!
    for k in 0..<pointerCount {
      LLVMBuildStore(b, LLVMBuildBitCast(b, LLVMGetParam(fn, UInt32(k)), i8p, ""), elementPointer(pointerArray, i8p, constI64(k)))
    }
    let sizeArray = symbolArray(fn, firstParameter: pointerCount + (takesWorkspace ? 1 : 0))
    let args = [pointerArray, sizeArray] + (takesWorkspace ? [LLVMGetParam(fn, UInt32(pointerCount))!] : [])
    LLVMBuildRet(b, call(packed, args))
  }

  func memcpy(_ dst: LLVMValueRef, _ src: LLVMValueRef, _ t: TensorType) {
    let bytes = LLVMBuildMul(b, product(dims(t)), constI64(t.dtype.byteSize), "")!
    let fn = declare("llvm.memcpy.p0i8.p0i8.i64", void, [i8p, i8p, i64, i1])
    _ = call(fn, [LLVMBuildBitCast(b, dst, i8p, "")!, LLVMBuildBitCast(b, src, i8p, "")!, bytes, LLVMConstInt(i1, 0, 0)])
  }

  /// Lowers the instructions of a block into the entry function at the builder's position.
  func lowerBlock(_ block: Block) {
    for inst in block.instructions {
      withSourceLocation(inst.provenance) { lowerInstruction(inst) }
    }
  }

  /// Lowers one instruction into the entry function: a branch, a status check or a kernel call.
  private func lowerInstruction(_ inst: Instruction) {
    switch inst.op {
    case .cond:
      let pred = load(buffer(inst.operands[0]), constI64(0), .bool)
      let thenB = self.block("cond.then")
      let elseB = self.block("cond.else")
      let merge = self.block("cond.end")
      LLVMBuildCondBr(b, pred, thenB, elseB)
      for (region, bb) in zip(inst.regions, [thenB, elseB]) {
        LLVMPositionBuilderAtEnd(b, bb)
        lowerBlock(region)
        for (r, y) in zip(inst.results, region.terminator) {
          memcpy(buffer(r), buffer(y), f.type(of: r)!)
        }
        LLVMBuildBr(b, merge)
      }
      LLVMPositionBuilderAtEnd(b, merge)
    case .guardTrue:
      let pred = load(buffer(inst.operands[0]), constI64(0), .bool)
      let ok = self.block("guard.ok")
      let fail = self.block("guard.fail")
      LLVMBuildCondBr(b, pred, ok, fail)
      LLVMPositionBuilderAtEnd(b, fail)
      LLVMBuildStore(b, constI32(EntryStatus.firstGuard + Int32(guardCount)), statusSlot)
      guardCount += 1
      LLVMBuildBr(b, cleanupBlock)
      LLVMPositionBuilderAtEnd(b, ok)
    default:
      let kernel = makeKernel(inst)
      var operands = inst.operands.map(buffer)
      if FunctionLowering.passesOperandArray(inst) {
        let array = entryAlloca(LLVMArrayType(i8p, UInt32(operands.count)))
        let first = LLVMBuildBitCast(b, array, LLVMPointerType(i8p, 0), "")!
        for (k, o) in operands.enumerated() {
          LLVMBuildStore(b, LLVMBuildBitCast(b, o, i8p, ""), elementPointer(first, i8p, constI64(k)))
        }
        operands = [first]
      }
      let args = inst.results.map(buffer) + operands + symbols.map { symbolValues[$0]! }
      _ = call(kernel, args)
    }
  }

  /// Whether `inst`'s kernel takes its operands as one array of pointers: for ops with many
  /// operands (a concat of thousands), since LLVM's attribute inference is quadratic in the
  /// number of parameters. Few operands stay parameters of their own (`nocapture`, and the
  /// results `noalias`), which helps alias analysis and vectorization.
  static func passesOperandArray(_ inst: Instruction) -> Bool {
    if case .concat = inst.op { return inst.operands.count > 16 }
    return false
  }

  /// The internal function computing `inst`: (results, operands, symbol sizes), the operands
  /// as one `void **` array when `passesOperandArray`. Made once per `KernelKey` in the module
  /// and shared by every instruction with that key.
  func makeKernel(_ inst: Instruction) -> LLVMValueRef {
    var key = KernelKey(inst, in: f, symbols: symbols)
    key.streamedResults = streamableResults(inst)
    if let kernel = kernels.kernels[key] { return kernel }
    streamedResults = key.streamedResults
    defer { streamedResults = [] }
    let kernel = buildKernel(inst, named: kernelName(for: inst))
    kernels.kernels[key] = kernel
    return kernel
  }

  /// Per result of `inst`, whether its kernel may write it with streaming stores: a result of
  /// a fused or elementwise kernel bound by memory (no transcendental, sqrt, division or pow:
  /// in a kernel bound by its arithmetic the tile copy costs more than the stores save, gelu
  /// 6%) that goes to the caller's buffer (a workspace value is read again soon, by a later
  /// kernel of this call, and should stay in cache), of a dtype of 4 or 8 bytes,
  /// when the kernel's footprint (`Streaming.footprint`) is symbolic or reaches
  /// `streamingThreshold` (the kernel decides at run time for a symbolic one). The
  /// kernel shapes that stream say which results they do (`FusedEmitter`); the others ignore
  /// the flags.
  func streamableResults(_ inst: Instruction) -> [Bool] {
    guard streamingThreshold < Int.max else { return [] }  // 'never'
    switch inst.op {
    case .fused:
      if inst.regions[0].instructions.contains(where: { $0.op.isCostlyElementwise }) { return [] }
    case .unary, .binary, .compare, .select, .cast:
      if inst.op.isCostlyElementwise { return [] }
    default: return []
    }
    let types = (inst.operands + inst.results).map { f.type(of: $0)! }
    if let bytes = Streaming.footprint(types), bytes < streamingThreshold { return [] }
    let flags = inst.results.map { r in buffers[r.id] != nil && f.type(of: r)!.dtype.byteSize >= 4 }
    return flags.contains(true) ? flags : []
  }

  /// What the kernel of `inst` computes, as its symbol shows it after `nnc_NAME.kN.`: the op's
  /// mnemonic and its result type, `tanh.f32x1024`, `matmul.f32x64x10`, `reduce_sum.f32xN`
  /// (dtype, then each dim, symbolic ones by name; a scalar is the dtype alone). A profiler's
  /// report or a backtrace then says what the hot function computes. A fused kernel lists the
  /// ops of its region in order, constants left out (`matmul.add.max.f32xNx256`).
  func kernelName(for inst: Instruction) -> String {
    let results = inst.results.compactMap { f.type(of: $0).map(FunctionLowering.typeName) }
    var ops = [inst.op.mnemonic]
    if case .fused = inst.op, let region = inst.regions.first {
      ops = region.instructions.compactMap { i in
        if case .constant = i.op { return nil }
        return i.op.mnemonic
      }
      if ops.isEmpty { ops = [inst.op.mnemonic] }
    }
    return (ops + results).joined(separator: ".")
  }

  /// `f32[64,N]` as `f32x64xN`.
  static func typeName(_ t: TensorType) -> String {
    (["\(t.dtype)"] + t.shape.map(\.description)).joined(separator: "x")
  }

  /// `name` as a plain symbol: characters other than ASCII letters, digits, `_` and `.` become
  /// `_` (LLVM would quote the name in assembly, and tools print quoted names badly), and past
  /// `maxKernelNameLength` characters it is cut (a fused kernel's name lists its ops).
  static func symbolName(_ name: String) -> String {
    let plain = name.unicodeScalars.map { c -> Character in
      c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == ".") ? Character(c) : "_"
    }
    return String(plain.prefix(maxKernelNameLength))
  }

  /// The longest kernel name part `symbolName` keeps.
  static let maxKernelNameLength = 96

  /// Builds a new kernel function for `inst` (see `makeKernel`), called `nnc_NAME.kN.` followed
  /// by `name` (`kernelName(for:)`, or what a caller gives), made a plain symbol. N numbers the
  /// module's kernels in order, so names are unique and the same for the same graph. The kernel
  /// gets a subprogram at `inst`'s provenance (a shared kernel keeps the first instruction's),
  /// and its instructions that line unless built inside `withSourceLocation`.
  func buildKernel(_ inst: Instruction, named name: String) -> LLVMValueRef {
    let name = EntryNames(f.name).typed + ".k\(kernels.count)." + FunctionLowering.symbolName(name)
    kernels.count += 1
    let packed = FunctionLowering.passesOperandArray(inst)
    let ptrs = inst.results.map { ptrType(f.type(of: $0)!.dtype) }
      + (packed ? [LLVMPointerType(i8p, 0)!] : inst.operands.map { ptrType(f.type(of: $0)!.dtype) })
    var ps: [LLVMTypeRef?] = ptrs + symbols.map { _ in i64 }
    let fn = LLVMAddFunction(module, name, LLVMFunctionType(void, &ps, UInt32(ps.count), 0))!
    LLVMSetLinkage(fn, LLVMInternalLinkage)
    addFunctionAttributes(fn)
    // Kernels stay functions of their own: each walks whole tensors, so a call costs nothing
    // next to it, while inlining every kernel into the entry made one huge function whose O3
    // time grew much faster than the graph (a 200-op chain: 22 s; 25 ms a kernel without).
    LLVMAddAttributeAtIndex(fn, functionAttrIndex, enumAttr(ctx, "noinline"))
    for k in 0..<ptrs.count {
      LLVMAddAttributeAtIndex(fn, UInt32(k + 1), enumAttr(ctx, "nocapture"))
    }
    // Results never overlap operands or each other: the workspace plan's intervals are closed,
    // so an instruction's operands and results are all live at it and never share bytes.
    for k in 0..<inst.results.count {
      LLVMAddAttributeAtIndex(fn, UInt32(k + 1), enumAttr(ctx, "noalias"))
    }
    let saved = LLVMGetInsertBlock(b)!
    let savedSymbols = symbolValues
    let savedDebug = beginDebugFunction(fn, name: name, at: inst.provenance)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
    for (k, s) in symbols.enumerated() { symbolValues[s] = LLVMGetParam(fn, UInt32(ptrs.count + k)) }
    let outs = (0..<inst.results.count).map { LLVMGetParam(fn, UInt32($0))! }
    let ins = (0..<(packed ? 0 : inst.operands.count)).map { LLVMGetParam(fn, UInt32(inst.results.count + $0))! }
    // Results with no elements need no work; returning at once also keeps loop nests whose
    // inner bound is 0 (`[2^48, 2^48, 0]`) from spinning through their outer ones. (A fused
    // row kernel can yield empty rows and nonempty row values at once: all must be empty.)
    var empty = LLVMConstInt(i1, 1, 0)!
    for r in inst.results {
      empty = LLVMBuildAnd(b, empty, LLVMBuildICmp(b, LLVMIntEQ, product(dims(f.type(of: r)!)), constI64(0), ""), "")
    }
    let work = LLVMAppendBasicBlockInContext(ctx, fn, "work")!
    let done = LLVMAppendBasicBlockInContext(ctx, fn, "done")!
    LLVMBuildCondBr(b, empty, done, work)
    LLVMPositionBuilderAtEnd(b, work)
    if packed, case .concat(let axis) = inst.op {
      // The only op with many operands: one loop over them, reading sizes from tables.
      concatFromArray(axis: axis, LLVMGetParam(fn, UInt32(inst.results.count)), inst.operands.map { f.type(of: $0)! }, outs[0], f.type(of: inst.results[0])!)
    } else {
      kernelBody(inst, out: outs, ins: ins)
    }
    LLVMBuildBr(b, done)
    LLVMPositionBuilderAtEnd(b, done)
    LLVMBuildRetVoid(b)
    endDebugFunction(savedDebug)
    symbolValues = savedSymbols
    LLVMPositionBuilderAtEnd(b, saved)
    return fn
  }
}
