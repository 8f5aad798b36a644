// The shared f32 approximations (NNCIR/VectorMath.swift) emitted as LLVM IR: each MathEmitter
// primitive is one IEEE instruction or intrinsic (`llvm.fma`, `llvm.fabs`) at the lowering's
// current width, so the code is what the interpreter computes, operation for operation.

import CLLVM
import NNCIR

/// `MathEmitter` on LLVM values of `FunctionLowering.lanes` lanes. The wrappers keep f32, f64,
/// i32, i64 and i1 values apart as the protocol's distinct types.
struct MathLowering: MathEmitter {
  struct F { var v: LLVMValueRef }
  struct D { var v: LLVMValueRef }
  struct I { var v: LLVMValueRef }
  struct L { var v: LLVMValueRef }
  struct B { var v: LLVMValueRef }

  let lowering: FunctionLowering
  var b: LLVMBuilderRef { lowering.b }
  var fT: LLVMTypeRef { lowering.laneType(.f32) }
  var dT: LLVMTypeRef { lowering.laneType(.f64) }
  var iT: LLVMTypeRef { lowering.laneType(.i32) }
  var lT: LLVMTypeRef { lowering.laneType(.i64) }

  func f(_ v: Float) -> F { F(v: LLVMConstReal(fT, Double(v))) }
  func d(_ v: Double) -> D { D(v: LLVMConstReal(dT, v)) }
  func i(_ v: Int32) -> I { I(v: lowering.constInt(Int64(v), .i32)) }
  func l(_ v: Int64) -> L { L(v: lowering.constInt(v, .i64)) }

  func add(_ a: F, _ c: F) -> F { F(v: LLVMBuildFAdd(b, a.v, c.v, "")) }
  func sub(_ a: F, _ c: F) -> F { F(v: LLVMBuildFSub(b, a.v, c.v, "")) }
  func mul(_ a: F, _ c: F) -> F { F(v: LLVMBuildFMul(b, a.v, c.v, "")) }
  func div(_ a: F, _ c: F) -> F { F(v: LLVMBuildFDiv(b, a.v, c.v, "")) }
  func fma(_ a: F, _ c: F, _ e: F) -> F { F(v: lowering.intrinsic("llvm.fma", .f32, [a.v, c.v, e.v])) }
  func abs(_ a: F) -> F { F(v: lowering.intrinsic("llvm.fabs", .f32, [a.v])) }
  func lt(_ a: F, _ c: F) -> B { B(v: LLVMBuildFCmp(b, LLVMRealOLT, a.v, c.v, "")) }
  func le(_ a: F, _ c: F) -> B { B(v: LLVMBuildFCmp(b, LLVMRealOLE, a.v, c.v, "")) }
  func eq(_ a: F, _ c: F) -> B { B(v: LLVMBuildFCmp(b, LLVMRealOEQ, a.v, c.v, "")) }
  func isNaN(_ a: F) -> B { B(v: lowering.isNaN(a.v)) }
  func select(_ c: B, _ x: F, _ y: F) -> F { F(v: LLVMBuildSelect(b, c.v, x.v, y.v, "")) }
  func bits(_ a: F) -> I { I(v: LLVMBuildBitCast(b, a.v, iT, "")) }
  func float(bits a: I) -> F { F(v: LLVMBuildBitCast(b, a.v, fT, "")) }
  func float(_ a: I) -> F { F(v: LLVMBuildSIToFP(b, a.v, fT, "")) }
  func widen(_ a: F) -> D { D(v: LLVMBuildFPExt(b, a.v, dT, "")) }
  func narrow(_ a: D) -> F { F(v: LLVMBuildFPTrunc(b, a.v, fT, "")) }

  func add(_ a: D, _ c: D) -> D { D(v: LLVMBuildFAdd(b, a.v, c.v, "")) }
  func sub(_ a: D, _ c: D) -> D { D(v: LLVMBuildFSub(b, a.v, c.v, "")) }
  func mul(_ a: D, _ c: D) -> D { D(v: LLVMBuildFMul(b, a.v, c.v, "")) }
  func fma(_ a: D, _ c: D, _ e: D) -> D { D(v: lowering.intrinsic("llvm.fma", .f64, [a.v, c.v, e.v])) }
  func neg(_ a: D) -> D { D(v: LLVMBuildFNeg(b, a.v, "")) }
  func select(_ c: B, _ x: D, _ y: D) -> D { D(v: LLVMBuildSelect(b, c.v, x.v, y.v, "")) }
  func bits(_ a: D) -> L { L(v: LLVMBuildBitCast(b, a.v, lT, "")) }
  func double(_ a: L) -> D { D(v: LLVMBuildSIToFP(b, a.v, dT, "")) }

  func add(_ a: I, _ c: I) -> I { I(v: LLVMBuildAdd(b, a.v, c.v, "")) }
  func sub(_ a: I, _ c: I) -> I { I(v: LLVMBuildSub(b, a.v, c.v, "")) }
  func and(_ a: I, _ c: I) -> I { I(v: LLVMBuildAnd(b, a.v, c.v, "")) }
  func or(_ a: I, _ c: I) -> I { I(v: LLVMBuildOr(b, a.v, c.v, "")) }
  func xor(_ a: I, _ c: I) -> I { I(v: LLVMBuildXor(b, a.v, c.v, "")) }
  func shl(_ a: I, _ n: I) -> I { I(v: LLVMBuildShl(b, a.v, n.v, "")) }
  func ashr(_ a: I, _ n: I) -> I { I(v: LLVMBuildAShr(b, a.v, n.v, "")) }
  func lshr(_ a: I, _ n: I) -> I { I(v: LLVMBuildLShr(b, a.v, n.v, "")) }
  func eq(_ a: I, _ c: I) -> B { B(v: LLVMBuildICmp(b, LLVMIntEQ, a.v, c.v, "")) }
  func select(_ c: B, _ x: I, _ y: I) -> I { I(v: LLVMBuildSelect(b, c.v, x.v, y.v, "")) }
  func zext(_ a: I) -> L { L(v: LLVMBuildZExt(b, a.v, lT, "")) }
  func trunc(_ a: L) -> I { I(v: LLVMBuildTrunc(b, a.v, iT, "")) }

  func add(_ a: L, _ c: L) -> L { L(v: LLVMBuildAdd(b, a.v, c.v, "")) }
  func sub(_ a: L, _ c: L) -> L { L(v: LLVMBuildSub(b, a.v, c.v, "")) }
  func mul(_ a: L, _ c: L) -> L { L(v: LLVMBuildMul(b, a.v, c.v, "")) }
  func shl(_ a: L, _ n: L) -> L { L(v: LLVMBuildShl(b, a.v, n.v, "")) }
  func lshr(_ a: L, _ n: L) -> L { L(v: LLVMBuildLShr(b, a.v, n.v, "")) }
  func select(_ c: B, _ x: L, _ y: L) -> L { L(v: LLVMBuildSelect(b, c.v, x.v, y.v, "")) }

  func and(_ a: B, _ c: B) -> B { B(v: LLVMBuildAnd(b, a.v, c.v, "")) }
  func or(_ a: B, _ c: B) -> B { B(v: LLVMBuildOr(b, a.v, c.v, "")) }
  func not(_ a: B) -> B { B(v: LLVMBuildNot(b, a.v, "")) }

  /// AVX-512's `vscalefps` (y * 2^floor(k), rounded once under the default rounding mode) at
  /// the widths the target has it for (`FunctionLowering.scalefLanes`); nil elsewhere.
  func scale(_ y: F, byPowerOfTwo k: F) -> F? {
    let w = lowering.lanes
    guard lowering.scalefLanes.contains(w) else { return nil }
    let i16 = LLVMInt16TypeInContext(lowering.ctx)!
    // All lanes computed (mask of ones); the pass-through operand is then unused.
    if w == 16 {
      let fn = lowering.declare("llvm.x86.avx512.mask.scalef.ps.512", fT, [fT, fT, fT, i16, lowering.i32])
      return F(v: lowering.call(fn, [y.v, k.v, y.v, LLVMConstInt(i16, 0xFFFF, 0), lowering.constI32(4)]))
    }
    let fn = lowering.declare("llvm.x86.avx512.mask.scalef.ps.256", fT, [fT, fT, fT, lowering.i8])
    return F(v: lowering.call(fn, [y.v, k.v, y.v, LLVMConstInt(lowering.i8, 0xFF, 0)]))
  }
}
