// Tensor operations: arithmetic, comparisons, math, reductions, matmul, and the composites
// (softmax, logSoftmax, gelu, mean, ...) built from the IR's primitives.
// Methods record their caller's `file:line` in traces. Swift operators cannot take caller
// locations, so an operator's traced instruction carries the `trace(...)` call's location; use
// the method form (`add`, `sub`, `mul`, `div`) where the exact line matters.

import NNCIR
import NNCRuntime

/// Operator call sites: the running trace's location (see the file comment).
private var operatorLoc: Location? { Tracer.current?.location }

extension Tensor {
  // MARK: - arithmetic

  public func add(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.add), self, other, here(file, line))
  }
  public func sub(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.sub), self, other, here(file, line))
  }
  public func mul(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.mul), self, other, here(file, line))
  }
  /// Division; integer tensors divide truncating toward zero (x / 0 gives 0).
  public func div(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.div), self, other, here(file, line))
  }
  public func pow(_ other: Tensor, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.applyPromoted(.binary(.pow), self, other, here(file, line))
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
  public static func / (a: Tensor, b: Tensor) -> Tensor { applyPromoted(.binary(.div), a, b, operatorLoc) }
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

  public static func += (a: Tensor, b: Tensor) { a.assign(a + b, at: operatorLoc) }
  public static func -= (a: Tensor, b: Tensor) { a.assign(a - b, at: operatorLoc) }
  public static func *= (a: Tensor, b: Tensor) { a.assign(a * b, at: operatorLoc) }
  public static func /= (a: Tensor, b: Tensor) { a.assign(a / b, at: operatorLoc) }
  public static func += (a: Tensor, b: Double) { a.assign(a + b, at: operatorLoc) }
  public static func -= (a: Tensor, b: Double) { a.assign(a - b, at: operatorLoc) }
  public static func *= (a: Tensor, b: Double) { a.assign(a * b, at: operatorLoc) }
  public static func /= (a: Tensor, b: Double) { a.assign(a / b, at: operatorLoc) }
  public static func += (a: Tensor, b: Float) { a.assign(a + b, at: operatorLoc) }
  public static func -= (a: Tensor, b: Float) { a.assign(a - b, at: operatorLoc) }
  public static func *= (a: Tensor, b: Float) { a.assign(a * b, at: operatorLoc) }
  public static func /= (a: Tensor, b: Float) { a.assign(a / b, at: operatorLoc) }
  public static func += (a: Tensor, b: Int) { a.assign(a + b, at: operatorLoc) }
  public static func -= (a: Tensor, b: Int) { a.assign(a - b, at: operatorLoc) }
  public static func *= (a: Tensor, b: Int) { a.assign(a * b, at: operatorLoc) }
  public static func /= (a: Tensor, b: Int) { a.assign(a / b, at: operatorLoc) }

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
  /// Elementwise `self ** exponent`.
  public func pow(_ exponent: Double, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    pow(Tensor.weak(exponent, .f32), file: file, line: line)
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
    let x = dtype == .bool ? converted(.i64, loc) : self
    return Tensor.apply(.reduce(k, axes: ax, keepDims: keepDims), [x], loc, name: k.rawValue)
  }

  /// Sum over `axes` (all when nil).
  public func sum(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.sum, axes, keepDims, file, line)
  }
  /// Sum over one axis.
  public func sum(axis: Int, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    reduce(.sum, [axis], keepDims, file, line)
  }
  /// Mean over `axes` (all when nil); integer tensors average as f32.
  public func mean(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    let loc = here(file, line)
    let x = dtype.isFloat ? self : converted(.f32, loc)
    guard let ax = axesChecked(axes ?? Array(0..<rank), loc, "mean") else { return Tensor.placeholder() }
    let n = ax.reduce(1) { $0 * shape[$1] }
    let s = Tensor.apply(.reduce(.sum, axes: ax, keepDims: keepDims), [x], loc)
    return Tensor.applyPromoted(.binary(.div), s, Tensor.weak(Double(n), x.dtype), loc)
  }
  /// Mean over one axis.
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
