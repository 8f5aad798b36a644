// Tensor operations: arithmetic, comparisons, math, reductions, matmul, and the composites
// (softmax, logSoftmax, gelu, mean, floor division, ...) built from the IR's primitives.
// Methods record their caller's `file:line` (in traces and in misuse messages). Swift operators
// cannot take caller locations (see docs/ARCHITECTURE.md), so an operator's traced instruction
// carries the `trace(...)` call's location and its misuse outside a trace has none; every
// operator has a method form (`add`, `sub`, `mul`, `div`, `neg`, `eq`, `lt`, ..., `add_`, ...)
// for where the exact line matters.

import NNCIR
import NNCRuntime

/// Operator call sites: the running trace's location (see the file comment).
private var operatorLoc: Location? { Tracer.current?.location }

extension Tensor {
  // MARK: - arithmetic

  /// Elementwise `self + other`, broadcasting, operands promoted PyTorch style (`+`).
  public func add(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.add), self, other, here(file, line))
  }
  /// Elementwise `self - other`, broadcasting, operands promoted PyTorch style (`-`).
  public func sub(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.sub), self, other, here(file, line))
  }
  /// Elementwise `self * other`, broadcasting, operands promoted PyTorch style (`*`).
  public func mul(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.mul), self, other, here(file, line))
  }
  /// True division `self / other`, like PyTorch's `torch.div` and `/`: integer and bool operands
  /// are converted to f32 (the default float dtype) first, so the result is always a float
  /// tensor (f64 when either operand is an f64 tensor): `img / 255` keeps the fractions.
  /// Use `div(_:roundingMode:)` or `floorDivide` for integer quotients.
  public func div(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.trueDivide(self, other, here(file, line))
  }

  /// Division rounded by `roundingMode`, like PyTorch's `div(other, rounding_mode=...)`: the
  /// dtype is the promoted dtype of the operands, so integer tensors stay integer.
  /// - `.trunc` rounds toward zero: `-7 / 2 = -3`.
  /// - `.floor` rounds toward negative infinity: `-7 / 2 = -4` (Python's `//`).
  /// Integer division by zero gives 0 (the IR's rule; PyTorch raises "ZeroDivisionError").
  /// Float operands: `.trunc` and `.floor` round the true quotient `self / other` (PyTorch's
  /// `.floor` uses an fmod-based formula that can differ when the quotient is inexact, as in
  /// `1 // 0.1` = 9 where `floor(1 / 0.1)` = 10). Misuse: bool operands (PyTorch has no bool
  /// kernel for these either), shapes that do not broadcast.
  public func div(_ other: Tensor, roundingMode: RoundingMode, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.roundedDivide(self, other, roundingMode, here(file, line))
  }

  /// `div(other, roundingMode: mode)` with a Swift number as divisor (weak: an f64 tensor
  /// keeps f64; an integer tensor gives f32).
  public func div(_ other: Double, roundingMode: RoundingMode, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.roundedDivide(self, Tensor.weak(other, .f32), roundingMode, here(file, line))
  }

  /// `div(other, roundingMode: mode)` with a Swift integer divisor.
  public func div(_ other: Int, roundingMode: RoundingMode, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.roundedDivide(self, Tensor.weak(other, .i64), roundingMode, here(file, line))
  }

  /// Floor division, like PyTorch's `floor_divide` and Python's `//`: the quotient rounded
  /// toward negative infinity, in the promoted dtype (`-7 // 2 = -4`). Same as
  /// `div(other, roundingMode: .floor)`.
  public func floorDivide(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.roundedDivide(self, other, .floor, here(file, line))
  }

  /// Floor division by a Swift integer (`x // 2`).
  public func floorDivide(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.roundedDivide(self, Tensor.weak(other, .i64), .floor, here(file, line))
  }

  /// Elementwise `self ** exponent`, like `torch.pow`: operands promoted PyTorch style; integer
  /// tensors stay integer (wrapping on overflow; a negative exponent gives the truncated
  /// quotient: 1 for base 1, ±1 for base -1, 0 otherwise; `0 ** 0 = 1`). Misuse: bool operands.
  public func pow(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.pow), self, other, here(file, line))
  }

  static func trueDivide(_ a: Tensor, _ b: Tensor, _ loc: Location?) -> Tensor {
    var t = promoted(a, b)
    if !t.isFloat { t = .f32 }
    return apply(.binary(.div), [a.converted(t, loc), b.converted(t, loc)], loc, name: "div")
  }

  static func roundedDivide(_ a: Tensor, _ b: Tensor, _ mode: RoundingMode, _ loc: Location?) -> Tensor {
    let t = promoted(a, b)
    if t == .bool {
      misuse("div: rounding mode \(mode) is not defined for bool tensors: \(a.type) / \(b.type)", loc)
      return placeholder(.bool)
    }
    let x = a.converted(t, loc)
    let y = b.converted(t, loc)
    let q = apply(.binary(.div), [x, y], loc, name: "div")
    if t.isFloat {
      let down = apply(.unary(.floor), [q], loc)
      if mode == .floor { return down }
      let up = apply(.unary(.ceil), [q], loc)
      let negative = apply(.compare(.lt), [q, weak(0, t)], loc)
      return apply(.select, [negative, up, down], loc)
    }
    if mode == .trunc { return q }
    // floor = trunc - 1 where the remainder is non-zero and its sign differs from the divisor's
    // (a zero divisor gives 0, as for trunc).
    let zero = weak(0, t)
    let r = apply(.binary(.sub), [x, apply(.binary(.mul), [q, y], loc)], loc)
    let inexact = apply(.compare(.ne), [r, zero], loc)
    let signsDiffer = apply(.compare(.ne), [apply(.compare(.lt), [r, zero], loc), apply(.compare(.lt), [y, zero], loc)], loc)
    let divisorNonZero = apply(.compare(.ne), [y, zero], loc)
    let adjust = apply(.binary(.and), [apply(.binary(.and), [inexact, signsDiffer], loc), divisorNonZero], loc)
    return apply(.binary(.sub), [q, apply(.cast(to: t), [adjust], loc)], loc)
  }

  /// Elementwise maximum (NaN-propagating).
  public func maximum(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.max), self, other, here(file, line))
  }
  /// Elementwise minimum (NaN-propagating).
  public func minimum(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.min), self, other, here(file, line))
  }

  public static func + (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.binary(.add), a, b, operatorLoc) }
  public static func - (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.binary(.sub), a, b, operatorLoc) }
  public static func * (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.binary(.mul), a, b, operatorLoc) }
  /// True division (see `div(_:)`): integer operands give f32.
  public static func / (a: Tensor, b: Tensor) -> Tensor { trueDivide(a, b, operatorLoc) }
  public static prefix func - (a: Tensor) -> Tensor { apply(.unary(.neg), [a], operatorLoc) }

  public static func + (a: Tensor, b: Double) -> Tensor { a + weak(b, .f32) }
  public static func + (a: Double, b: Tensor) -> Tensor { weak(a, .f32) + b }
  public static func - (a: Tensor, b: Double) -> Tensor { a - weak(b, .f32) }
  public static func - (a: Double, b: Tensor) -> Tensor { weak(a, .f32) - b }
  public static func * (a: Tensor, b: Double) -> Tensor { a * weak(b, .f32) }
  public static func * (a: Double, b: Tensor) -> Tensor { weak(a, .f32) * b }
  public static func / (a: Tensor, b: Double) -> Tensor { a / weak(b, .f32) }
  public static func / (a: Double, b: Tensor) -> Tensor { weak(a, .f32) / b }
  public static func + (a: Tensor, b: Float) -> Tensor { a + weak(Double(b), .f32) }
  public static func + (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) + b }
  public static func - (a: Tensor, b: Float) -> Tensor { a - weak(Double(b), .f32) }
  public static func - (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) - b }
  public static func * (a: Tensor, b: Float) -> Tensor { a * weak(Double(b), .f32) }
  public static func * (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) * b }
  public static func / (a: Tensor, b: Float) -> Tensor { a / weak(Double(b), .f32) }
  public static func / (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) / b }
  public static func + (a: Tensor, b: Int) -> Tensor { a + weak(b, .i64) }
  public static func + (a: Int, b: Tensor) -> Tensor { weak(a, .i64) + b }
  public static func - (a: Tensor, b: Int) -> Tensor { a - weak(b, .i64) }
  public static func - (a: Int, b: Tensor) -> Tensor { weak(a, .i64) - b }
  public static func * (a: Tensor, b: Int) -> Tensor { a * weak(b, .i64) }
  public static func * (a: Int, b: Tensor) -> Tensor { weak(a, .i64) * b }
  public static func / (a: Tensor, b: Int) -> Tensor { a / weak(b, .i64) }
  public static func / (a: Int, b: Tensor) -> Tensor { weak(a, .i64) / b }

  // MARK: - in-place arithmetic (visible through every view of the storage)

  /// In-place `a += b` (method form `add_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func += (a: Tensor, b: Tensor) { a.inPlace(a + b, operatorLoc) }
  /// In-place `a += b` (method form `add_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func += (a: Tensor, b: Double) { a.inPlace(a + b, operatorLoc) }
  /// In-place `a += b` (method form `add_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func += (a: Tensor, b: Float) { a.inPlace(a + b, operatorLoc) }
  /// In-place `a += b` (method form `add_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func += (a: Tensor, b: Int) { a.inPlace(a + b, operatorLoc) }
  /// In-place `a -= b` (method form `sub_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func -= (a: Tensor, b: Tensor) { a.inPlace(a - b, operatorLoc) }
  /// In-place `a -= b` (method form `sub_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func -= (a: Tensor, b: Double) { a.inPlace(a - b, operatorLoc) }
  /// In-place `a -= b` (method form `sub_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func -= (a: Tensor, b: Float) { a.inPlace(a - b, operatorLoc) }
  /// In-place `a -= b` (method form `sub_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func -= (a: Tensor, b: Int) { a.inPlace(a - b, operatorLoc) }
  /// In-place `a *= b` (method form `mul_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func *= (a: Tensor, b: Tensor) { a.inPlace(a * b, operatorLoc) }
  /// In-place `a *= b` (method form `mul_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func *= (a: Tensor, b: Double) { a.inPlace(a * b, operatorLoc) }
  /// In-place `a *= b` (method form `mul_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func *= (a: Tensor, b: Float) { a.inPlace(a * b, operatorLoc) }
  /// In-place `a *= b` (method form `mul_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func *= (a: Tensor, b: Int) { a.inPlace(a * b, operatorLoc) }
  /// In-place `a /= b` (method form `div_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func /= (a: Tensor, b: Tensor) { a.inPlace(a / b, operatorLoc) }
  /// In-place `a /= b` (method form `div_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func /= (a: Tensor, b: Double) { a.inPlace(a / b, operatorLoc) }
  /// In-place `a /= b` (method form `div_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func /= (a: Tensor, b: Float) { a.inPlace(a / b, operatorLoc) }
  /// In-place `a /= b` (method form `div_`), seen through every view of `a`'s
  /// storage. Misuse: a result dtype that cannot be cast to `a`'s (a float into an integer tensor).
  public static func /= (a: Tensor, b: Int) { a.inPlace(a / b, operatorLoc) }

  /// Writes `result` into `self`, like PyTorch's in-place ops: the result's dtype must be
  /// castable to `self`'s (no float into an integer tensor, nothing numeric into bool).
  func inPlace(_ result: Tensor, _ loc: Location?) {
    if result.dtype.category > dtype.category {
      misuse("in-place op: result type \(result.dtype) can't be cast to the desired output type \(dtype)", loc)
      return
    }
    assign(result, at: loc)
  }

  /// In-place `self += other` (PyTorch's `add_`), with the caller's location. Misuse: a result
  /// dtype that cannot be cast to `self`'s (a float into an integer tensor).
  public func add_(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) {
    inPlace(add(other, file: file, line: line), here(file, line))
  }
  /// In-place `self -= other` (PyTorch's `sub_`); misuse as for `add_`.
  public func sub_(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) {
    inPlace(sub(other, file: file, line: line), here(file, line))
  }
  /// In-place `self *= other` (PyTorch's `mul_`); misuse as for `add_`.
  public func mul_(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) {
    inPlace(mul(other, file: file, line: line), here(file, line))
  }
  /// In-place true division `self /= other` (PyTorch's `div_`): a misuse on integer tensors,
  /// whose quotient is float, as in PyTorch.
  public func div_(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) {
    inPlace(div(other, file: file, line: line), here(file, line))
  }

  /// `self += other` with a weak Swift number (PyTorch's `add_`); misuse as for `add_(_: Tensor)`.
  public func add_(_ other: Double, file: StaticString = #fileID, line: UInt = #line) {
    add_(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `self += other` with a weak Swift integer (PyTorch's `add_`); misuse as for `add_(_: Tensor)`.
  public func add_(_ other: Int, file: StaticString = #fileID, line: UInt = #line) {
    add_(Tensor.weak(other, .i64), file: file, line: line)
  }
  /// `self -= other` with a weak Swift number (PyTorch's `sub_`); misuse as for `sub_(_: Tensor)`.
  public func sub_(_ other: Double, file: StaticString = #fileID, line: UInt = #line) {
    sub_(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `self -= other` with a weak Swift integer (PyTorch's `sub_`); misuse as for `sub_(_: Tensor)`.
  public func sub_(_ other: Int, file: StaticString = #fileID, line: UInt = #line) {
    sub_(Tensor.weak(other, .i64), file: file, line: line)
  }
  /// `self *= other` with a weak Swift number (PyTorch's `mul_`); misuse as for `mul_(_: Tensor)`.
  public func mul_(_ other: Double, file: StaticString = #fileID, line: UInt = #line) {
    mul_(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `self *= other` with a weak Swift integer (PyTorch's `mul_`); misuse as for `mul_(_: Tensor)`.
  public func mul_(_ other: Int, file: StaticString = #fileID, line: UInt = #line) {
    mul_(Tensor.weak(other, .i64), file: file, line: line)
  }
  /// `self /= other` with a weak Swift number (PyTorch's `div_`); misuse as for `div_(_: Tensor)`.
  public func div_(_ other: Double, file: StaticString = #fileID, line: UInt = #line) {
    div_(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `self /= other` with a weak Swift integer (PyTorch's `div_`); misuse as for `div_(_: Tensor)`.
  public func div_(_ other: Int, file: StaticString = #fileID, line: UInt = #line) {
    div_(Tensor.weak(other, .i64), file: file, line: line)
  }

  // MARK: - method forms with Swift scalars (weak, like the operators)

  /// `self + other` with a weak Swift number (see `+`); a Float converts exactly to Double.
  public func add(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    add(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `self + other` with a weak Swift integer.
  public func add(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    add(Tensor.weak(other, .i64), file: file, line: line)
  }
  /// `self - other` with a weak Swift number.
  public func sub(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    sub(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `self - other` with a weak Swift integer.
  public func sub(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    sub(Tensor.weak(other, .i64), file: file, line: line)
  }
  /// `self * other` with a weak Swift number.
  public func mul(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    mul(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `self * other` with a weak Swift integer.
  public func mul(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    mul(Tensor.weak(other, .i64), file: file, line: line)
  }
  /// True division by a weak Swift number.
  public func div(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    div(Tensor.weak(other, .f32), file: file, line: line)
  }
  /// True division by a weak Swift integer (integer tensors give f32, as `/`).
  public func div(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    div(Tensor.weak(other, .i64), file: file, line: line)
  }
  /// `other - self` (PyTorch's `rsub`), the method form of `2.0 - x`.
  public func rsub(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.weak(other, .f32).sub(self, file: file, line: line)
  }
  /// `other - self` with a weak Swift integer, the method form of `2 - x`.
  public func rsub(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.weak(other, .i64).sub(self, file: file, line: line)
  }
  /// `other / self`, true division, the method form of `2.0 / x`.
  public func rdiv(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.weak(other, .f32).div(self, file: file, line: line)
  }
  /// `other / self` with a weak Swift integer, true division, the method form of `2 / x`.
  public func rdiv(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.weak(other, .i64).div(self, file: file, line: line)
  }

  // MARK: - comparisons (elementwise, giving bool tensors)

  public static func .== (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.compare(.eq), a, b, operatorLoc) }
  public static func .!= (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.compare(.ne), a, b, operatorLoc) }
  public static func .< (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.compare(.lt), a, b, operatorLoc) }
  public static func .<= (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.compare(.le), a, b, operatorLoc) }
  public static func .> (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.compare(.gt), a, b, operatorLoc) }
  public static func .>= (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.compare(.ge), a, b, operatorLoc) }
  public static func .== (a: Tensor, b: Double) -> Tensor { a .== weak(b, .f32) }
  public static func .== (a: Double, b: Tensor) -> Tensor { weak(a, .f32) .== b }
  public static func .!= (a: Tensor, b: Double) -> Tensor { a .!= weak(b, .f32) }
  public static func .!= (a: Double, b: Tensor) -> Tensor { weak(a, .f32) .!= b }
  public static func .< (a: Tensor, b: Double) -> Tensor { a .< weak(b, .f32) }
  public static func .< (a: Double, b: Tensor) -> Tensor { weak(a, .f32) .< b }
  public static func .<= (a: Tensor, b: Double) -> Tensor { a .<= weak(b, .f32) }
  public static func .<= (a: Double, b: Tensor) -> Tensor { weak(a, .f32) .<= b }
  public static func .> (a: Tensor, b: Double) -> Tensor { a .> weak(b, .f32) }
  public static func .> (a: Double, b: Tensor) -> Tensor { weak(a, .f32) .> b }
  public static func .>= (a: Tensor, b: Double) -> Tensor { a .>= weak(b, .f32) }
  public static func .>= (a: Double, b: Tensor) -> Tensor { weak(a, .f32) .>= b }
  public static func .== (a: Tensor, b: Float) -> Tensor { a .== weak(Double(b), .f32) }
  public static func .== (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) .== b }
  public static func .!= (a: Tensor, b: Float) -> Tensor { a .!= weak(Double(b), .f32) }
  public static func .!= (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) .!= b }
  public static func .< (a: Tensor, b: Float) -> Tensor { a .< weak(Double(b), .f32) }
  public static func .< (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) .< b }
  public static func .<= (a: Tensor, b: Float) -> Tensor { a .<= weak(Double(b), .f32) }
  public static func .<= (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) .<= b }
  public static func .> (a: Tensor, b: Float) -> Tensor { a .> weak(Double(b), .f32) }
  public static func .> (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) .> b }
  public static func .>= (a: Tensor, b: Float) -> Tensor { a .>= weak(Double(b), .f32) }
  public static func .>= (a: Float, b: Tensor) -> Tensor { weak(Double(a), .f32) .>= b }
  public static func .== (a: Tensor, b: Int) -> Tensor { a .== weak(b, .i64) }
  public static func .== (a: Int, b: Tensor) -> Tensor { weak(a, .i64) .== b }
  public static func .!= (a: Tensor, b: Int) -> Tensor { a .!= weak(b, .i64) }
  public static func .!= (a: Int, b: Tensor) -> Tensor { weak(a, .i64) .!= b }
  public static func .< (a: Tensor, b: Int) -> Tensor { a .< weak(b, .i64) }
  public static func .< (a: Int, b: Tensor) -> Tensor { weak(a, .i64) .< b }
  public static func .<= (a: Tensor, b: Int) -> Tensor { a .<= weak(b, .i64) }
  public static func .<= (a: Int, b: Tensor) -> Tensor { weak(a, .i64) .<= b }
  public static func .> (a: Tensor, b: Int) -> Tensor { a .> weak(b, .i64) }
  public static func .> (a: Int, b: Tensor) -> Tensor { weak(a, .i64) .> b }
  public static func .>= (a: Tensor, b: Int) -> Tensor { a .>= weak(b, .i64) }
  public static func .>= (a: Int, b: Tensor) -> Tensor { weak(a, .i64) .>= b }

  /// Elementwise comparison by name, recording the caller's location.
  public func compare(_ op: CompareOp, _ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.compare(op), self, other, here(file, line))
  }
  /// Elementwise `self .== other` as a bool tensor (PyTorch's `eq`), with the caller's location.
  public func eq(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.eq, other, file: file, line: line)
  }
  /// `eq` with a weak Swift number.
  public func eq(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.eq, Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `eq` with a weak Swift integer.
  public func eq(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.eq, Tensor.weak(other, .i64), file: file, line: line)
  }
  /// Elementwise `self .!= other` as a bool tensor (PyTorch's `ne`), with the caller's location.
  public func ne(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.ne, other, file: file, line: line)
  }
  /// `ne` with a weak Swift number.
  public func ne(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.ne, Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `ne` with a weak Swift integer.
  public func ne(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.ne, Tensor.weak(other, .i64), file: file, line: line)
  }
  /// Elementwise `self .< other` as a bool tensor (PyTorch's `lt`), with the caller's location.
  public func lt(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.lt, other, file: file, line: line)
  }
  /// `lt` with a weak Swift number.
  public func lt(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.lt, Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `lt` with a weak Swift integer.
  public func lt(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.lt, Tensor.weak(other, .i64), file: file, line: line)
  }
  /// Elementwise `self .<= other` as a bool tensor (PyTorch's `le`), with the caller's location.
  public func le(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.le, other, file: file, line: line)
  }
  /// `le` with a weak Swift number.
  public func le(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.le, Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `le` with a weak Swift integer.
  public func le(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.le, Tensor.weak(other, .i64), file: file, line: line)
  }
  /// Elementwise `self .> other` as a bool tensor (PyTorch's `gt`), with the caller's location.
  public func gt(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.gt, other, file: file, line: line)
  }
  /// `gt` with a weak Swift number.
  public func gt(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.gt, Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `gt` with a weak Swift integer.
  public func gt(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.gt, Tensor.weak(other, .i64), file: file, line: line)
  }
  /// Elementwise `self .>= other` as a bool tensor (PyTorch's `ge`), with the caller's location.
  public func ge(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.ge, other, file: file, line: line)
  }
  /// `ge` with a weak Swift number.
  public func ge(_ other: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.ge, Tensor.weak(other, .f32), file: file, line: line)
  }
  /// `ge` with a weak Swift integer.
  public func ge(_ other: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    compare(.ge, Tensor.weak(other, .i64), file: file, line: line)
  }

  // MARK: - elementwise functions

  private func unary(_ u: UnaryOp, _ file: StaticString, _ line: UInt) -> Tensor {
    let loc = here(file, line)
    // Math functions of integer tensors work on their f32 values, as in PyTorch.
    let x = u.accepts(dtype) || !dtype.isNumeric ? self : converted(.f32, loc)
    return Tensor.apply(.unary(u), [x], loc)
  }
  public func neg(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.neg, file, line) }
  public func abs(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.abs, file, line) }
  public func exp(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.exp, file, line) }
  public func log(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.log, file, line) }
  public func sqrt(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.sqrt, file, line) }
  public func rsqrt(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.rsqrt, file, line) }
  public func tanh(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.tanh, file, line) }
  public func sigmoid(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.sigmoid, file, line) }
  public func sin(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.sin, file, line) }
  public func cos(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.cos, file, line) }
  public func erf(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.erf, file, line) }
  public func floor(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.floor, file, line) }
  public func ceil(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.ceil, file, line) }
  /// Elementwise `self ** exponent` with a float exponent: integer tensors give f32, like
  /// PyTorch's `pow` with a Python float.
  public func pow(_ exponent: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    pow(Tensor.weak(exponent, .f32), file: file, line: line)
  }
  /// Elementwise `self ** exponent` with an integer exponent: integer tensors stay integer
  /// (`arange(4).pow(2)` is i64 `[0, 1, 4, 9]`), float tensors keep their dtype, bool gives i64.
  /// Misuse, as in PyTorch: a negative exponent with an integer or bool tensor ("Integers to
  /// negative integer powers are not allowed.").
  public func pow(_ exponent: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    if exponent < 0 && !dtype.isFloat {
      misuse("pow: Integers to negative integer powers are not allowed.", here(file, line))
      return Tensor.placeholder(dtype == .bool ? .i64 : dtype, shape)
    }
    return pow(Tensor.weak(exponent, .i64), file: file, line: line)
  }

  /// Elementwise logical and of bool tensors.
  public func logicalAnd(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.and), self, other, here(file, line))
  }

  /// Elementwise logical or of bool tensors.
  public func logicalOr(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.or), self, other, here(file, line))
  }

  /// Logical not of a bool tensor.
  public func logicalNot(file: StaticString = #fileID, line: UInt = #line) -> Tensor { unary(.not, file, line) }

  /// `max(x, 0)`.
  public func relu(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.max), self, Tensor.weak(0, dtype), here(file, line))
  }

  /// GELU, exact form: `0.5 x (1 + erf(x / sqrt 2))`.
  public func gelu(file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    let x = dtype.isFloat ? self : converted(.f32, loc)
    let scaled = Tensor.applyPromoted(.binary(.mul), x, Tensor.weak(0.5.squareRoot(), x.dtype), loc)
    let e = Tensor.apply(.unary(.erf), [scaled], loc)
    let onePlus = Tensor.applyPromoted(.binary(.add), e, Tensor.weak(1, x.dtype), loc)
    let half = Tensor.applyPromoted(.binary(.mul), x, Tensor.weak(0.5, x.dtype), loc)
    return Tensor.apply(.binary(.mul), [half, onePlus], loc)
  }

  /// Converts to `dtype` (float to integer truncates toward zero).
  public func to(_ dtype: DType, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    self.dtype == dtype ? self : Tensor.apply(.cast(to: dtype), [self], here(file, line))
  }

  // MARK: - reductions

  /// Normalizes axes (negative counts from the end), checking range.
  func axesChecked(_ axes: [Int], _ loc: Location, _ what: String) -> [Int]? {
    var out: [Int] = []
    for a in axes {
      let n = a < 0 ? a + rank : a
      guard n >= 0 && n < rank else {
        misuse("\(what): axis \(a) is out of range for shape \(shape)", loc)
        return nil
      }
      if !out.contains(n) { out.append(n) }
    }
    return out.sorted()
  }

  private func reduce(_ k: ReduceOp, _ axes: [Int]?, _ keepDims: Bool, _ file: StaticString, _ line: UInt) -> Tensor {
    let loc = here(file, line)
    guard let ax = axesChecked(axes ?? Array(0..<rank), loc, k.rawValue) else { return Tensor.placeholder() }
    // PyTorch sums bool and integer tensors into int64; max and min keep the dtype (the IR
    // reduces bools as integers, so they go through i64 and back).
    let x = (k == .sum && !dtype.isFloat) || dtype == .bool ? converted(.i64, loc) : self
    let r = Tensor.apply(.reduce(k, axes: ax, keepDims: keepDims), [x], loc, name: k.rawValue)
    return k != .sum && dtype == .bool ? r.converted(.bool, loc) : r
  }

  /// Sum over `axes` (all when nil), like `torch.sum`: float tensors keep their dtype; bool and
  /// integer tensors sum into i64 (so `Tensor([Int32.max, 1] as [Int32]).sum()` is 2^31).
  public func sum(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.sum, axes, keepDims, file, line)
  }
  /// Sum over one axis (dtype as for `sum(axes:)`).
  public func sum(axis: Int, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.sum, [axis], keepDims, file, line)
  }
  /// Mean over `axes` (all when nil) of a float tensor, like `torch.mean`. Misuse, as in
  /// PyTorch: an integer or bool tensor (convert it first: `x.to(.f32).mean()`).
  public func mean(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    guard dtype.isFloat else {
      misuse("mean: could not infer output dtype. Input dtype must be a floating point dtype, got \(dtype)", loc)
      return Tensor.placeholder()
    }
    let x = self
    guard let ax = axesChecked(axes ?? Array(0..<rank), loc, "mean") else { return Tensor.placeholder() }
    let n = ax.reduce(1) { $0 * shape[$1] }
    let s = Tensor.apply(.reduce(.sum, axes: ax, keepDims: keepDims), [x], loc)
    return Tensor.applyPromoted(.binary(.div), s, Tensor.weak(Double(n), x.dtype), loc)
  }
  /// Mean over one axis of a float tensor (misuse as for `mean(axes:)`).
  public func mean(axis: Int, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    mean(axes: [axis], keepDims: keepDims, file: file, line: line)
  }
  /// Largest element over `axes` (all when nil).
  public func max(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.max, axes, keepDims, file, line)
  }
  /// Largest element along one axis.
  public func max(axis: Int, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.max, [axis], keepDims, file, line)
  }
  /// Smallest element over `axes` (all when nil).
  public func min(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.min, axes, keepDims, file, line)
  }
  /// Smallest element along one axis.
  public func min(axis: Int, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.min, [axis], keepDims, file, line)
  }

  private func argReduce(_ k: ArgReduceOp, _ axis: Int?, _ keepDims: Bool, _ file: StaticString, _ line: UInt) -> Tensor {
    let loc = here(file, line)
    let x = axis == nil ? reshape([count], file: file, line: line) : self
    guard let ax = x.axesChecked([axis ?? 0], loc, k.rawValue)?.first else { return Tensor.placeholder(.i64) }
    return Tensor.apply(.argReduce(k, axis: ax, keepDims: keepDims && axis != nil), [x], loc)
  }
  /// Index of the largest element along `axis` (of the flattened tensor when nil); first wins ties.
  public func argmax(axis: Int? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    argReduce(.argmax, axis, keepDims, file, line)
  }
  /// Index of the smallest element along `axis` (of the flattened tensor when nil).
  public func argmin(axis: Int? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    argReduce(.argmin, axis, keepDims, file, line)
  }

  /// `exp(x - max) / sum(exp(x - max))` along `axis`.
  public func softmax(axis: Int = -1, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    guard let a = axesChecked([axis], loc, "softmax")?.first else { return Tensor.placeholder() }
    let m = Tensor.apply(.reduce(.max, axes: [a], keepDims: true), [self], loc)
    let e = Tensor.apply(.unary(.exp), [Tensor.apply(.binary(.sub), [self, m], loc)], loc)
    let s = Tensor.apply(.reduce(.sum, axes: [a], keepDims: true), [e], loc)
    return Tensor.apply(.binary(.div), [e, s], loc)
  }

  /// `x - max - log(sum(exp(x - max)))` along `axis`.
  public func logSoftmax(axis: Int = -1, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    guard let a = axesChecked([axis], loc, "logSoftmax")?.first else { return Tensor.placeholder() }
    let m = Tensor.apply(.reduce(.max, axes: [a], keepDims: true), [self], loc)
    let shifted = Tensor.apply(.binary(.sub), [self, m], loc)
    let e = Tensor.apply(.unary(.exp), [shifted], loc)
    let lse = Tensor.apply(.unary(.log), [Tensor.apply(.reduce(.sum, axes: [a], keepDims: true), [e], loc)], loc)
    return Tensor.apply(.binary(.sub), [shifted, lse], loc)
  }

  // MARK: - products

  /// Matrix product with NumPy semantics: 1-d operands are promoted to matrices and the added
  /// dim removed; batch dims broadcast.
  public func matmul(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    if rank == 0 || other.rank == 0 {
      misuse("matmul: operands need rank 1 or more: \(type) x \(other.type)", loc)
      return Tensor.placeholder()
    }
    let a = rank == 1 ? reshape([1, shape[0]], file: file, line: line) : self
    let b = other.rank == 1 ? other.reshape([other.shape[0], 1], file: file, line: line) : other
    let t = Tensor.promoted(a, b)
    var r = Tensor.apply(.matmul, [a.converted(t, loc), b.converted(t, loc)], loc)
    if rank == 1 || other.rank == 1 {
      var s = r.shape
      if other.rank == 1 { s.removeLast() }
      if rank == 1 { s.remove(at: s.count - (other.rank == 1 ? 1 : 2)) }
      r = r.reshape(s, file: file, line: line)
    }
    return r
  }

  /// The product of two matrices (both must be 2-d), like `torch.mm`.
  public func mm(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    guard rank == 2, other.rank == 2 else {
      misuse("mm: expects two matrices, got \(type) x \(other.type)", here(file, line))
      return Tensor.placeholder()
    }
    return matmul(other, file: file, line: line)
  }

  /// `where(condition, a, b)`: elements of `a` where `condition` is true, else of `b`.
  public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    let t = promoted(a, b)
    return apply(.select, [condition.to(.bool, file: file, line: line), a.converted(t, loc), b.converted(t, loc)], loc)
  }

  /// `where` with a Swift number for the elements where `condition` is true.
  public static func `where`(_ condition: Tensor, _ a: Double, _ b: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    `where`(condition, weak(a, .f32), b, file: file, line: line)
  }

  /// `where` with a Swift number for the elements where `condition` is false.
  public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    `where`(condition, a, weak(b, .f32), file: file, line: line)
  }

  /// Joins tensors along an existing axis.
  public static func cat(_ tensors: [Tensor], axis: Int = 0, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    guard let first = tensors.first else {
      misuse("cat: needs at least one tensor", loc)
      return placeholder()
    }
    guard let a = first.axesChecked([axis], loc, "cat")?.first else { return placeholder() }
    return apply(.concat(axis: a), tensors, loc, name: "cat")
  }

  /// Joins tensors along a new axis.
  public static func stack(_ tensors: [Tensor], axis: Int = 0, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    guard let first = tensors.first else {
      misuse("stack: needs at least one tensor", loc)
      return placeholder()
    }
    let a = axis < 0 ? axis + first.rank + 1 : axis
    guard a >= 0 && a <= first.rank else {
      misuse("stack: axis \(axis) is out of range for shape \(first.shape)", loc)
      return placeholder()
    }
    if let odd = tensors.first(where: { $0.shape != first.shape }) {
      misuse("stack: shapes differ: \(first.type) and \(odd.type)", loc)
      return placeholder()
    }
    return apply(.concat(axis: a), tensors.map { $0.unsqueeze(a, file: file, line: line) }, loc, name: "stack")
  }
}

/// How `div(_:roundingMode:)` rounds a quotient (PyTorch's `rounding_mode`).
public enum RoundingMode: String, Sendable {
  /// Toward zero (C's integer division): `-7 / 2 = -3`.
  case trunc
  /// Toward negative infinity (Python's `//`): `-7 / 2 = -4`.
  case floor
}
