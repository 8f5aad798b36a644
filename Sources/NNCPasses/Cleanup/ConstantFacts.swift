// What the cleanup passes know about constants: which values are constants, how to evaluate an
// instruction whose operands all are (with the reference interpreter's kernels, so a folded
// value is bit for bit what the graph computes at run time), and how to describe one in a remark.

import NNCIR
import NNCRuntime

/// The constants of a function by value id, collected in program order (regions included:
/// SSA ids are unique per function, so one table serves every block).
struct ConstantTable {
  private(set) var values: [Int: Constant] = [:]

  /// Records `inst` when it is a `const`.
  mutating func note(_ inst: Instruction) {
    if case .constant(let c) = inst.op, let r = inst.results.first { values[r.id] = c }
  }

  subscript(_ v: Value) -> Constant? { values[v.id] }

  mutating func set(_ v: Value, _ c: Constant) { values[v.id] = c }
}

/// Compile-time evaluation of instructions on constants.
public enum ConstantEvaluator {
  /// The most elements a folded result may have; larger results stay as ops (their constant
  /// would grow the graph and the object file more than the op costs to run). Results computed
  /// from splats only (an elementwise op or a view of splat constants) become one splat of any
  /// size.
  public static let maxFoldedElements = 1024
  /// The most elements an operand may have to be materialized for evaluation.
  public static let maxOperandElements = 1 << 16

  /// The value of `op` applied to `operands`, as one constant of `type`, or nil when the
  /// instruction cannot be folded: a result type with a symbolic dim (its size is only known
  /// at run time), an op with effects or regions, a result or operand past the size limits, or
  /// a kernel that reports an error (left for run time, where it is reported as today).
  public static func evaluate(_ op: Op, _ operands: [Constant], resultType type: TensorType) -> Constant? {
    switch op.kind {
    case .control, .constant: return nil
    default: break
    }
    guard let shape = type.staticShape, let count = ShapeMath.elementCount(shape) else { return nil }
    if operands.allSatisfy({ $0.data.count == 1 }) && splatPreserving(op) {
      // Every element is the op applied to the splat values: evaluate once, on scalars.
      let scalars = operands.map { Constant(type: .scalar($0.type.dtype), data: $0.data) }
      let scalarType = TensorType(type.dtype, [])
      guard let one = run(elementwiseOrIdentity(op), scalars, shape: [], type: scalarType) else { return nil }
      return Constant(type: type, data: one.data)
    }
    guard count <= maxFoldedElements else { return nil }
    for c in operands {
      guard let s = c.type.staticShape, let n = ShapeMath.elementCount(s), n <= maxOperandElements else { return nil }
    }
    return run(op, operands, shape: shape, type: type)
  }

  /// Ops whose result is a splat when every operand is one: elementwise ops, and movement ops
  /// that only rearrange or repeat elements.
  private static func splatPreserving(_ op: Op) -> Bool {
    switch op {
    case .unary, .binary, .compare, .select, .cast, .reshape, .permute, .expand, .slice: return true
    default: return false
    }
  }

  /// On one element, a view is the identity: the element itself.
  private static func elementwiseOrIdentity(_ op: Op) -> Op? {
    switch op {
    case .reshape, .permute, .expand, .slice: return nil
    default: return op
    }
  }

  private static func run(_ op: Op?, _ operands: [Constant], shape: [Int], type: TensorType) -> Constant? {
    var inputs: [NDArray] = []
    for c in operands {
      guard let s = c.type.staticShape else { return nil }
      guard let x = try? Kernels.apply(.constant(c), [], resultShapes: [s]).first else { return nil }
      inputs.append(x)
    }
    let result: NDArray
    if let op {
      guard let r = try? Kernels.apply(op, inputs, resultShapes: [shape]).first else { return nil }
      result = r
    } else {
      result = inputs[0]
    }
    guard result.dtype == type.dtype, result.count == ShapeMath.elementCount(shape) ?? -1 else { return nil }
    return Constant(type: type, data: constantData(result.storage))
  }

  /// The elements as constant data: one element when all are bitwise equal (a splat).
  static func constantData(_ s: ArrayStorage) -> ConstantData {
    func squeezed<T>(_ v: [T], _ same: (T, T) -> Bool) -> [T] {
      guard let first = v.first, v.dropFirst().allSatisfy({ same($0, first) }) else { return v }
      return [first]
    }
    switch s {
    case .f32(let v): return .floats(squeezed(v) { $0.bitPattern == $1.bitPattern }.map(Double.init))
    case .f64(let v): return .floats(squeezed(v) { $0.bitPattern == $1.bitPattern })
    case .i32(let v): return .ints(squeezed(v, ==).map(Int64.init))
    case .i64(let v): return .ints(squeezed(v, ==))
    case .bool(let v): return .bools(squeezed(v, ==))
    }
  }

  /// A short text for remarks: the literal when it is small (`10.0`, `[1, 2]`), else its type
  /// and, for a splat, the repeated value (`f32[64,64] splat 0.0`).
  public static func describe(_ c: Constant) -> String {
    if c.data.count == 1 && c.isSplat {
      return "\(c.type) splat " + Constant(type: .scalar(c.type.dtype), data: c.data).literal
    }
    if c.data.count <= 8 { return c.literal }
    return "\(c.type) constant"
  }

  /// Whether every element of `c` is `true`, every one `false`, or neither.
  static func truth(_ c: Constant) -> Bool? {
    guard case .bools(let v) = c.data, let first = v.first, v.allSatisfy({ $0 == first }) else { return nil }
    return first
  }
}
