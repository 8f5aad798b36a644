// A test-only module that lowers each scalar function of ScalarLowering.swift both at width 1
// and at width 8 (`<8 x T>` vectors) over buffers, so the tests can check that the vector
// lowering gives the scalar one's results bit for bit.

import CLLVM
import NNCIR

/// One scalar function of ScalarLowering.swift on given dtypes.
enum LaneOp: Sendable, CustomStringConvertible {
  case unary(UnaryOp, DType)
  case binary(BinaryOp, DType)
  case compare(CompareOp, DType)
  case cast(DType, to: DType)

  var operandTypes: [DType] {
    switch self {
    case .unary(_, let t), .cast(let t, _): return [t]
    case .binary(_, let t), .compare(_, let t): return [t, t]
    }
  }

  var resultType: DType {
    switch self {
    case .unary(_, let t), .binary(_, let t), .cast(_, let t): return t
    case .compare: return .bool
    }
  }

  var description: String {
    switch self {
    case .unary(let op, let t): return "\(op) \(t)"
    case .binary(let op, let t): return "\(op) \(t)"
    case .compare(let op, let t): return "\(op) \(t)"
    case .cast(let s, let t): return "cast \(s) to \(t)"
    }
  }
}

/// The entry names of op `k` in `laneCheckObject`'s module at width 1 and width 8.
func laneCheckNames(_ k: Int) -> (scalar: String, vector: String) { ("lanes_\(k)_w1", "lanes_\(k)_w8") }

/// An object holding, for each op `k`, `laneCheckNames(k)`: packed-style entries
/// `int32_t f(void **buffers, const int64_t *sizes)` that compute the op element by element
/// from the operand buffers into the last buffer, over `sizes[0]` elements (a multiple of 8 for
/// the width-8 entry, which works on whole vectors).
func laneCheckObject(_ ops: [LaneOp]) throws(CodegenError) -> [UInt8] {
  let tm = try TargetMachine(TargetOptions())
  let ctx = withLLVMLock { LLVMContextCreate()! }
  defer { withLLVMLock { LLVMContextDispose(ctx) } }
  let sink = DiagnosticSink()
  let module = withLLVMLock { () -> LLVMModuleRef in
    sink.install(on: ctx)
    let module = LLVMModuleCreateWithNameInContext("lanes", ctx)!
    tm.configure(module)
    let lowering = FunctionLowering(
      ctx: ctx, module: module, function: Function(name: "lanes"), vectorWidth: nil, kernels: KernelCache())
    lowering.scalefLanes = scalefLanes(features: tm.features)
    for (k, op) in ops.enumerated() {
      let names = laneCheckNames(k)
      lowering.lowerLaneCheck(op, name: names.scalar, lanes: 1)
      lowering.lowerLaneCheck(op, name: names.vector, lanes: 8)
    }
    return module
  }
  defer { withLLVMLock { LLVMDisposeModule(module) } }
  return try finishCompile(module, tm, sink, header: "", options: CompileOptions()).object
}

extension FunctionLowering {
  fileprivate func lowerLaneCheck(_ op: LaneOp, name: String, lanes width: Int) {
    var params: [LLVMTypeRef?] = [LLVMPointerType(i8p, 0), LLVMPointerType(i64, 0)]
    let fnType = LLVMFunctionType(i32, &params, 2, 0)!
    let fn = LLVMAddFunction(module, name, fnType)!
    addFunctionAttributes(fn)
    LLVMPositionBuilderAtEnd(b, block("entry", in: fn))
    let buffers = LLVMGetParam(fn, 0)!
    let n = LLVMBuildLoad2(b, i64, LLVMGetParam(fn, 1), "")!
    let types = op.operandTypes + [op.resultType]
    let pointers = types.indices.map { k in
      LLVMBuildLoad2(b, i8p, elementPointer(buffers, i8p, constI64(k)), "")!
    }
    lanes = width
    defer { lanes = 1 }
    // Memory holds bool as one byte; registers as i1.
    func vectorLoad(_ p: LLVMValueRef, _ i: LLVMValueRef, _ t: DType) -> LLVMValueRef {
      let memory = lanes == 1 ? memType(t) : LLVMVectorType(memType(t), UInt32(lanes))!
      let typed = LLVMBuildBitCast(b, p, LLVMPointerType(memType(t), 0), "")!
      let element = elementPointer(typed, memType(t), LLVMBuildMul(b, i, constI64(lanes), ""))
      let v = LLVMBuildLoad2(b, memory, LLVMBuildBitCast(b, element, LLVMPointerType(memory, 0), ""), "")!
      LLVMSetAlignment(v, UInt32(t.byteSize))
      return t == .bool ? LLVMBuildTrunc(b, v, laneType(.bool), "") : v
    }
    func vectorStore(_ v: LLVMValueRef, _ p: LLVMValueRef, _ i: LLVMValueRef, _ t: DType) {
      let memory = lanes == 1 ? memType(t) : LLVMVectorType(memType(t), UInt32(lanes))!
      let typed = LLVMBuildBitCast(b, p, LLVMPointerType(memType(t), 0), "")!
      let element = elementPointer(typed, memType(t), LLVMBuildMul(b, i, constI64(lanes), ""))
      let stored = t == .bool ? LLVMBuildZExt(b, v, memory, "")! : v
      let s = LLVMBuildStore(b, stored, LLVMBuildBitCast(b, element, LLVMPointerType(memory, 0), ""))!
      LLVMSetAlignment(s, UInt32(t.byteSize))
    }
    let count = LLVMBuildSDiv(b, n, constI64(width), "")!
    loop(count) { i in
      let x = zip(pointers, op.operandTypes).map { vectorLoad($0, i, $1) }
      let r: LLVMValueRef
      switch op {
      case .unary(let u, let t): r = unary(u, x[0], t)
      case .binary(let o, let t): r = binary(o, x[0], x[1], t)
      case .compare(let c, let t): r = compare(c, x[0], x[1], t)
      case .cast(let s, let t): r = cast(x[0], from: s, to: t)
      }
      vectorStore(r, pointers[types.count - 1], i, op.resultType)
    }
    LLVMBuildRet(b, constI32(0))
  }
}
