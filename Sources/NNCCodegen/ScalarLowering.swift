// What each elementwise scalar function is in LLVM IR, per dtype, at the lowering's width
// (`lanes`: scalars, or `<lanes x T>` vectors with the same per-lane results). This mirrors the
// reference semantics in NNCRuntime/Elements.swift: integer arithmetic wraps, integer x / 0 is
// 0, float max/min are IEEE 754-2019 maximum/minimum (NaN propagates, -0.0 < +0.0),
// float-to-integer casts saturate with NaN giving 0. f32 transcendentals are the shared
// approximations of NNCIR/VectorMath.swift (MathLowering.swift), f64 ones and pow call libm, as
// the interpreter does, so the two agree bit for bit.

import CLLVM
import NNCIR

extension FunctionLowering {
  func intrinsic(_ name: String, _ t: LLVMTypeRef, _ args: [LLVMValueRef]) -> LLVMValueRef {
    let fn = declare(name, t, args.map { _ in t })
    return call(fn, args)
  }

  /// The overloaded intrinsic `base` (`llvm.fma`) on values of `laneType(t)`: named with its
  /// type suffix, `llvm.fma.f32` or `llvm.fma.v8f32`.
  func intrinsic(_ base: String, _ t: DType, _ args: [LLVMValueRef]) -> LLVMValueRef {
    intrinsic("\(base).\(overloadSuffix(t))", laneType(t), args)
  }

  /// The name suffix of an overloaded intrinsic on `laneType(t)`: `f32`, `i64`, `v8f32`.
  func overloadSuffix(_ t: DType) -> String {
    let scalar = t.isFloat ? (t == .f32 ? "f32" : "f64") : (t == .bool ? "i1" : "i\(t.byteSize * 8)")
    return lanes == 1 ? scalar : "v\(lanes)\(scalar)"
  }

  /// The integer (or bool) constant `v` of `laneType(t)`, splat over the lanes. (LLVMConstInt
  /// on a vector type is not defined by the C API.)
  func constInt(_ v: Int64, _ t: DType) -> LLVMValueRef {
    let scalar = LLVMConstInt(regType(t), UInt64(bitPattern: v), 1)!
    if lanes == 1 { return scalar }
    var elements = [LLVMValueRef?](repeating: scalar, count: lanes)
    return LLVMConstVector(&elements, UInt32(lanes))
  }

  /// A libm function: `expf` for f32, `exp` for f64, called once per lane. The call is
  /// `nobuiltin`: LLVM would otherwise rewrite some calls into other code (`pow(x, 2.0)` into
  /// `x * x`, `pow(x, -1.0)` into `1 / x`, `pow(2.0, x)` into `exp2`) whose results differ from
  /// libm's in the last bit, where the interpreter calls libm itself.
  func libm(_ base: String, _ t: DType, _ args: [LLVMValueRef]) -> LLVMValueRef {
    let ty = regType(t)
    let fn = declare(t == .f32 ? base + "f" : base, ty, args.map { _ in ty })
    func callOnce(_ a: [LLVMValueRef]) -> LLVMValueRef {
      let c = call(fn, a)
      LLVMAddCallSiteAttribute(c, functionAttrIndex, enumAttr(ctx, "nobuiltin"))
      return c
    }
    if lanes == 1 { return callOnce(args) }
    var result: LLVMValueRef = LLVMGetUndef(laneType(t))
    for k in 0..<lanes {
      let index = constI32(Int32(k))
      let lane = callOnce(args.map { LLVMBuildExtractElement(b, $0, index, "") })
      result = LLVMBuildInsertElement(b, result, lane, index, "")
    }
    return result
  }

  func isNaN(_ x: LLVMValueRef) -> LLVMValueRef { LLVMBuildFCmp(b, LLVMRealUNO, x, x, "") }

  func unary(_ op: UnaryOp, _ x: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    let ty = laneType(t)
    if t.isInteger {
      let zero = constInt(0, t)
      let neg = LLVMBuildSub(b, zero, x, "")!
      if op == .neg { return neg }
      return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, zero, ""), neg, x, "")
    }
    if t == .f32, let r = VectorMath.unary(op, MathLowering(lowering: self), MathLowering.F(v: x)) { return r.v }
    switch op {
    case .not: return LLVMBuildNot(b, x, "")
    case .neg: return LLVMBuildFNeg(b, x, "")
    case .abs: return intrinsic("llvm.fabs", t, [x])
    case .exp: return libm("exp", t, [x])
    case .log: return libm("log", t, [x])
    case .sqrt: return intrinsic("llvm.sqrt", t, [x])
    case .rsqrt: return LLVMBuildFDiv(b, LLVMConstReal(ty, 1), intrinsic("llvm.sqrt", t, [x]), "")
    case .tanh: return libm("tanh", t, [x])
    case .sigmoid:
      // As the interpreter: e = exp(-|x|), (x >= 0 ? 1 : e) / (1 + e), which never overflows
      // (1/(1+exp(-x)) gave 0 where the result is subnormal). NaN fails x >= 0 and gives e = NaN.
      let e = libm("exp", t, [LLVMBuildFNeg(b, intrinsic("llvm.fabs", t, [x]), "")])
      let nonNegative = LLVMBuildFCmp(b, LLVMRealOGE, x, LLVMConstReal(ty, 0), "")
      let numerator = LLVMBuildSelect(b, nonNegative, LLVMConstReal(ty, 1), e, "")
      return LLVMBuildFDiv(b, numerator, LLVMBuildFAdd(b, LLVMConstReal(ty, 1), e, ""), "")
    case .sin: return libm("sin", t, [x])
    case .cos: return libm("cos", t, [x])
    case .erf: return libm("erf", t, [x])
    case .floor: return intrinsic("llvm.floor", t, [x])
    case .ceil: return intrinsic("llvm.ceil", t, [x])
    }
  }

  func binary(_ op: BinaryOp, _ x: LLVMValueRef, _ y: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    let ty = laneType(t)
    if t == .bool {
      return op == .and ? LLVMBuildAnd(b, x, y, "") : LLVMBuildOr(b, x, y, "")
    }
    if t.isInteger {
      switch op {
      case .add: return LLVMBuildAdd(b, x, y, "")
      case .sub: return LLVMBuildSub(b, x, y, "")
      case .mul: return LLVMBuildMul(b, x, y, "")
      case .div:
        // x / 0 = 0 and MIN / -1 = MIN (wrapping), without the undefined sdiv cases.
        let zero = constInt(0, t)
        let minusOne = constInt(-1, t)
        let isZero = LLVMBuildICmp(b, LLVMIntEQ, y, zero, "")!
        let isMinusOne = LLVMBuildICmp(b, LLVMIntEQ, y, minusOne, "")!
        let safe = LLVMBuildSelect(b, LLVMBuildOr(b, isZero, isMinusOne, ""), constInt(1, t), y, "")
        let q = LLVMBuildSDiv(b, x, safe, "")
        let negated = LLVMBuildSub(b, zero, x, "")
        return LLVMBuildSelect(b, isZero, zero, LLVMBuildSelect(b, isMinusOne, negated, q, ""), "")
      case .max: return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, x, y, ""), x, y, "")
      case .min: return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, y, x, ""), y, x, "")
      case .pow: return integerPower(x, y, t)
      case .and, .or: return x  // rejected by the verifier
      }
    }
    switch op {
    case .add: return LLVMBuildFAdd(b, x, y, "")
    case .sub: return LLVMBuildFSub(b, x, y, "")
    case .mul: return LLVMBuildFMul(b, x, y, "")
    case .div: return LLVMBuildFDiv(b, x, y, "")
    case .pow: return libm("pow", t, [x, y])
    case .max, .min:
      // IEEE 754-2019 maximum/minimum, as the interpreter: NaN if either is NaN; otherwise the
      // larger (smaller) operand, and for equal operands (only ±0 can differ) the bitwise AND
      // (OR) of the two, so max(-0, +0) = +0 and min(-0, +0) = -0. (LLVM 14's x86 backend
      // cannot select llvm.maximum/llvm.minimum, hence the explicit form; it vectorizes.)
      let anyNaN = LLVMBuildOr(b, isNaN(x), isNaN(y), "")
      let bitsType = laneType(t == .f32 ? .i32 : .i64)
      let xb = LLVMBuildBitCast(b, x, bitsType, "")
      let yb = LLVMBuildBitCast(b, y, bitsType, "")
      let merged = LLVMBuildBitCast(b, op == .max ? LLVMBuildAnd(b, xb, yb, "") : LLVMBuildOr(b, xb, yb, ""), ty, "")
      let (first, second) = op == .max ? (LLVMRealOGT, LLVMRealOLT) : (LLVMRealOLT, LLVMRealOGT)
      let pick = LLVMBuildSelect(
        b, LLVMBuildFCmp(b, first, x, y, ""), x,
        LLVMBuildSelect(b, LLVMBuildFCmp(b, second, x, y, ""), y, merged, ""), "")
      return LLVMBuildSelect(b, anyNaN, LLVMConstReal(ty, .nan), pick, "")
    case .and, .or: return x
    }
  }

  /// Integer `x ** y` as the interpreter defines it (Elements.swift `power`): square-and-multiply
  /// unrolled over the exponent's bits with selects and wrapping multiplies, branch-free so loops
  /// over it vectorize. A negative exponent gives 1 for base 1, -1 or 1 for base -1 (odd or even
  /// exponent), 0 otherwise.
  func integerPower(_ x: LLVMValueRef, _ y: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    let bits = t.byteSize * 8
    let zero = constInt(0, t)
    let one = constInt(1, t)
    var result: LLVMValueRef = one
    var base: LLVMValueRef = x
    // The sign bit is left out: a negative exponent is handled below.
    for k in 0..<(bits - 1) {
      let bit = LLVMBuildAnd(b, LLVMBuildLShr(b, y, constInt(Int64(k), t), ""), one, "")!
      let taken = LLVMBuildICmp(b, LLVMIntNE, bit, zero, "")!
      result = LLVMBuildSelect(b, taken, LLVMBuildMul(b, result, base, ""), result, "")
      if k < bits - 2 { base = LLVMBuildMul(b, base, base, "") }
    }
    let minusOne = constInt(-1, t)
    let odd = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, y, one, ""), zero, "")!
    let ofMinusOne = LLVMBuildSelect(b, odd, minusOne, one, "")!
    let negativeResult = LLVMBuildSelect(
      b, LLVMBuildICmp(b, LLVMIntEQ, x, one, ""), one,
      LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, x, minusOne, ""), ofMinusOne, zero, ""), "")!
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, y, zero, ""), negativeResult, result, "")
  }

  func compare(_ op: CompareOp, _ x: LLVMValueRef, _ y: LLVMValueRef, _ t: DType) -> LLVMValueRef {
    if t.isFloat {
      let p: LLVMRealPredicate
      switch op {
      case .eq: p = LLVMRealOEQ
      case .ne: p = LLVMRealUNE
      case .lt: p = LLVMRealOLT
      case .le: p = LLVMRealOLE
      case .gt: p = LLVMRealOGT
      case .ge: p = LLVMRealOGE
      }
      return LLVMBuildFCmp(b, p, x, y, "")
    }
    let p: LLVMIntPredicate
    switch op {
    case .eq: p = LLVMIntEQ
    case .ne: p = LLVMIntNE
    case .lt: p = LLVMIntSLT
    case .le: p = LLVMIntSLE
    case .gt: p = LLVMIntSGT
    case .ge: p = LLVMIntSGE
    }
    return LLVMBuildICmp(b, p, x, y, "")
  }

  func cast(_ x: LLVMValueRef, from s: DType, to t: DType) -> LLVMValueRef {
    if s == t { return x }
    let ty = laneType(t)
    switch (s, t) {
    case (.bool, _):
      return t.isFloat ? LLVMBuildUIToFP(b, x, ty, "") : LLVMBuildZExt(b, x, ty, "")
    case (_, .bool):
      return s.isFloat
        ? LLVMBuildFCmp(b, LLVMRealUNE, x, LLVMConstReal(laneType(s), 0), "")
        : LLVMBuildICmp(b, LLVMIntNE, x, constInt(0, s), "")
    case (.f32, .f64): return LLVMBuildFPExt(b, x, ty, "")
    case (.f64, .f32): return LLVMBuildFPTrunc(b, x, ty, "")
    case (.f32, .i32), (.f32, .i64), (.f64, .i32), (.f64, .i64):
      // f32 -> i32 goes through f64 as the interpreter does; saturating, NaN -> 0.
      let wide = s == .f32 ? LLVMBuildFPExt(b, x, laneType(.f64), "")! : x
      let r64 = intrinsic2(
        "llvm.fptosi.sat.\(overloadSuffix(.i64)).\(overloadSuffix(.f64))", laneType(.i64), laneType(.f64), wide)
      if t == .i64 { return r64 }
      let lo = constInt(Int64(Int32.min), .i64)
      let hi = constInt(Int64(Int32.max), .i64)
      let c1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, r64, lo, ""), lo, r64, "")!
      let c2 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, c1, hi, ""), hi, c1, "")!
      return LLVMBuildTrunc(b, c2, laneType(.i32), "")
    case (.i32, .f32), (.i32, .f64), (.i64, .f32), (.i64, .f64):
      return LLVMBuildSIToFP(b, x, ty, "")
    case (.i32, .i64): return LLVMBuildSExt(b, x, ty, "")
    case (.i64, .i32): return LLVMBuildTrunc(b, x, ty, "")
    default: return x
    }
  }

  /// An intrinsic whose result type differs from its argument type.
  func intrinsic2(_ name: String, _ ret: LLVMTypeRef, _ arg: LLVMTypeRef, _ x: LLVMValueRef) -> LLVMValueRef {
    call(declare(name, ret, [arg]), [x])
  }
}
