// The entry function of each IR function: buffers, kernel calls in order, `cond` as a branch,
// `guard` as a status check, and cleanup. Intermediates are regions of one heap workspace
// (malloc at entry, free at exit) placed by the workspace plan, so values that are never live
// at once share bytes; results are written straight into the caller's output buffers.

import CLLVM
import NNCIR
import NNCPasses

extension FunctionLowering {
  /// Builds the typed and the packed entry functions and every kernel they call.
  ///
  /// The work is one internal function `nnc_NAME.body(void **buffers, const int64_t *sizes)`,
  /// `noinline`; the packed entry forwards to it and the typed entry stores its arguments into
  /// two stack arrays and calls it. Keeping the per-argument signature out of the function that
  /// does the work keeps compile time linear in the number of inputs and outputs: LLVM's
  /// attribute inference rebuilds a function's attribute list once per argument it annotates,
  /// which is quadratic (a 4000-input concat took 115 s).
  func lowerEntry() {
    let names = EntryNames(f.name)
    let i8pp = LLVMPointerType(i8p, 0)!
    let i64p = LLVMPointerType(i64, 0)!
    var bodyParams: [LLVMTypeRef?] = [i8pp, i64p]
    let bodyType = LLVMFunctionType(i32, &bodyParams, 2, 0)!
    entry = LLVMAddFunction(module, names.typed + ".body", bodyType)
    LLVMSetLinkage(entry, LLVMInternalLinkage)
    addFunctionAttributes(entry)
    LLVMAddAttributeAtIndex(entry, functionAttrIndex, enumAttr(ctx, "noinline"))
    beginDebugFunction(entry, name: names.typed + ".body", at: functionLocation)
    let pointerCount = f.parameters.count + f.resultTypes.count
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, entry, "entry"))
    statusSlot = LLVMBuildAlloca(b, i32, "status")
    LLVMBuildStore(b, constI32(EntryStatus.ok), statusSlot)
    // The caller's pointers (inputs, then outputs) and sizes, read once from the arrays.
    let types = f.parameterTypes + f.resultTypes
    let pointers: [LLVMValueRef] = types.enumerated().map { k, t in
      let slot = elementPointer(LLVMGetParam(entry, 0), i8p, constI64(k))
      return LLVMBuildBitCast(b, LLVMBuildLoad2(b, i8p, slot, ""), ptrType(t.dtype), "")!
    }
    for (k, s) in symbols.enumerated() {
      symbolValues[s] = LLVMBuildLoad2(b, i64, elementPointer(LLVMGetParam(entry, 1), i64, constI64(k)), "")
    }
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

    // Every other value gets a region of one heap workspace, allocated up front: one malloc,
    // one null check and one free, so the entry's size stays linear in the number of values
    // (a malloc per value with a failure edge each gave the cleanup block a phi per value with
    // an incoming edge per value: quadratic, 14 s of llc for a 200-op chain). The workspace
    // plan (NNCPasses/Memory/WorkspacePlan.swift) says where: values whose live intervals do
    // not overlap share bytes. Statically sized values have constant offsets below the plan's
    // static peak; symbolically sized ones share slots, each as large as its largest value at
    // run time, laid out above it. Regions start at multiples of 64 bytes (cache lines, the
    // widest vector loads). The workspace pointer lives in a stack slot that starts null, so
    // cleanup frees exactly what was allocated.
    let plan = WorkspacePlan(f)
    let malloc = declare("malloc", i8p, [i64])
    let free = declare("free", void, [i8p])
    let workspaceSlot = LLVMBuildAlloca(b, i8p, "workspace")!
    LLVMBuildStore(b, LLVMConstNull(i8p), workspaceSlot)
    let failed = block("alloc.failed", in: entry)
    var total = constI64(plan.staticBytes)
    var slotOffsets: [LLVMValueRef] = []
    for members in plan.slots {
      slotOffsets.append(total)
      var largest = constI64(0)
      for r in members {
        let t = f.type(of: r)!
        let bytes = LLVMBuildMul(b, product(dims(t)), constI64(t.dtype.byteSize), "")!
        let rounded = LLVMBuildAnd(b, LLVMBuildAdd(b, bytes, constI64(63), ""), constI64(-64), "")!
        largest = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGT, rounded, largest, ""), rounded, largest, "")!
      }
      total = LLVMBuildAdd(b, total, largest, "")
    }
    if !plan.values.isEmpty {
      let size = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, total, constI64(0), ""), constI64(1), total, "")!
      let raw = call(malloc, [size])
      LLVMBuildStore(b, raw, workspaceSlot)
      let ok = block("alloc.ok", in: entry)
      LLVMBuildCondBr(b, LLVMBuildIsNull(b, raw, ""), failed, ok)
      LLVMPositionBuilderAtEnd(b, ok)
      workspace = raw
      for r in plan.values {
        if let offset = plan.offsets[r.id] {
          regionOffsets[r.id] = constI64(offset)
        } else {
          regionOffsets[r.id] = slotOffsets[plan.slotOf[r.id]!]
        }
      }
    }
    let bodyStart = LLVMGetInsertBlock(b)!
    cleanupBlock = block("cleanup", in: entry)

    LLVMPositionBuilderAtEnd(b, failed)
    LLVMBuildStore(b, constI32(EntryStatus.outOfMemory), statusSlot)
    LLVMBuildBr(b, cleanupBlock)

    LLVMPositionBuilderAtEnd(b, bodyStart)
    lowerBlock(f.body)
    for (v, k) in outputCopies {
      let t = f.type(of: v)!
      memcpy(pointers[f.parameters.count + k], buffer(v), t)
    }
    LLVMBuildBr(b, cleanupBlock)

    LLVMPositionBuilderAtEnd(b, cleanupBlock)
    _ = call(free, [LLVMBuildLoad2(b, i8p, workspaceSlot, "")!])
    LLVMBuildRet(b, LLVMBuildLoad2(b, i32, statusSlot, ""))
    // The typed and packed entries only forward to the body: no subprogram, no lines.
    endDebugFunction()

    lowerTypedEntry(names, pointerCount: pointerCount, bodyType: bodyType)
    lowerPackedEntry(names, bodyType: bodyType)
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

  /// `int32_t nnc_NAME(in0, ..., out0, ..., int64_t SYM0, ...)`: the arguments into two stack
  /// arrays, then the body.
  func lowerTypedEntry(_ names: EntryNames, pointerCount: Int, bodyType: LLVMTypeRef) {
    let types = f.parameterTypes + f.resultTypes
    var ps: [LLVMTypeRef?] = types.map { ptrType($0.dtype) } + symbols.map { _ in i64 }
    let fn = LLVMAddFunction(module, names.typed, LLVMFunctionType(i32, &ps, UInt32(ps.count), 0))!
    addFunctionAttributes(fn)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
    let pointerArray = LLVMBuildArrayAlloca(b, i8p, constI64(max(1, pointerCount)), "buffers")!
    for k in 0..<pointerCount {
      LLVMBuildStore(b, LLVMBuildBitCast(b, LLVMGetParam(fn, UInt32(k)), i8p, ""), elementPointer(pointerArray, i8p, constI64(k)))
    }
    let sizeArray = LLVMBuildArrayAlloca(b, i64, constI64(max(1, symbols.count)), "sizes")!
    for k in 0..<symbols.count {
      LLVMBuildStore(b, LLVMGetParam(fn, UInt32(pointerCount + k)), elementPointer(sizeArray, i64, constI64(k)))
    }
    var args: [LLVMValueRef?] = [pointerArray, sizeArray]
    LLVMBuildRet(b, LLVMBuildCall2(b, bodyType, entry, &args, 2, ""))
  }

  /// `int32_t nnc_NAME_packed(void **buffers, const int64_t *sizes)`: the body itself.
  func lowerPackedEntry(_ names: EntryNames, bodyType: LLVMTypeRef) {
    let fn = LLVMAddFunction(module, names.packed, bodyType)!
    addFunctionAttributes(fn)
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
    var args: [LLVMValueRef?] = [LLVMGetParam(fn, 0), LLVMGetParam(fn, 1)]
    LLVMBuildRet(b, LLVMBuildCall2(b, bodyType, entry, &args, 2, ""))
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
    let key = KernelKey(
      op: inst.op, operandTypes: inst.operands.map { f.type(of: $0)! }, resultTypes: inst.results.map { f.type(of: $0)! },
      symbols: symbols)
    if let kernel = kernels.kernels[key] { return kernel }
    let kernel = buildKernel(inst, named: kernelName(for: inst))
    kernels.kernels[key] = kernel
    return kernel
  }

  /// What the kernel of `inst` computes, as its symbol shows it after `nnc_NAME.kN.`: the op's
  /// mnemonic and its result type, `tanh.f32x1024`, `matmul.f32x64x10`, `reduce_sum.f32xN`
  /// (dtype, then each dim, symbolic ones by name; a scalar is the dtype alone). A profiler's
  /// report or a backtrace then says what the hot function computes.
  func kernelName(for inst: Instruction) -> String {
    let results = inst.results.compactMap { f.type(of: $0).map(FunctionLowering.typeName) }
    return ([inst.op.mnemonic] + results).joined(separator: ".")
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
    // A result with no elements needs no work; returning at once also keeps loop nests whose
    // inner bound is 0 (`[2^48, 2^48, 0]`) from spinning through their outer ones.
    let empty = LLVMBuildICmp(b, LLVMIntEQ, product(dims(f.type(of: inst.results[0])!)), constI64(0), "")
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
