// A seeded generator of random functions made of what the fuse pass groups: elementwise chains
// with broadcasts, casts and selects, movement ops, last-axis reductions with keepdims feeding
// elementwise ops, matmul and conv2d followed by elementwise ops, values with several
// consumers, symbolic dims. The input of the differential tests of fusion (fused and compiled
// against unfused and interpreted) and of the workspace plan of fused functions.

import NNCIR

/// Random fusion-heavy functions that verify (see the file comment). Each function works on a
/// row-major "activation" `[R, C]` or `[B, R, C]` (R sometimes the symbol N, C sometimes a long
/// row of 16, 33 or 100), or on an image `[B, C, H, W]` for conv2d, with parameters of
/// broadcastable shapes beside it.
public struct FusionGraphGenerator {
  public var rng: SplitMix64
  /// Ops per function, at most.
  public var maxOps = 12

  private var visible: [Value] = []
  private var recentBias = 0.6
  private var shape: [Dim] = []
  private var dtype: DType = .f32
  private var parameterCount = 0

  public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

  /// One random function named `name`.
  public mutating func function(name: String) -> Function {
    var b = FunctionBuilder(name: name)
    visible = []
    parameterCount = 0
    dtype = rng.chance(0.85) ? .f32 : .f64
    let image = rng.chance(0.2)
    let rows: Dim = rng.chance(0.4) ? .sym("N") : .int(rng.int(1...5))
    if image {
      shape = [rows, .int(rng.int(1...3)), .int(rng.int(3...6)), .int(rng.int(3...6))]
    } else {
      shape = [rows, .int(rng.chance(0.2) ? rng.pick([16, 33, 100]) : rng.int(1...7))]
      if rng.chance(0.25) { shape.insert(.int(rng.int(1...3)), at: 0) }
    }
    let first = parameter(&b, TensorType(dtype, shape))
    visible.append(first)
    if rng.chance(0.5) {
      let second = parameter(&b, TensorType(dtype, shape))
      visible.append(second)
    }
    let count = rng.int(3...maxOps)
    var made = 0
    var attempts = 0
    while made < count && attempts < count * 8 {
      attempts += 1
      do {
        try step(&b, image: image)
        made += 1
      } catch {
        continue
      }
    }
    // The last value and a few others: values read by a later op and returned have consumers
    // in two places.
    let params = Set(b.function.parameters.map(\.value))
    let computed = visible.filter { !params.contains($0) }
    var results: [Value] = [computed.last ?? visible[0]]
    for _ in 0..<rng.int(0...2) where !computed.isEmpty {
      let v = rng.pick(computed)
      if !results.contains(v) { results.append(v) }
    }
    return b.finish(returning: results)
  }

  private mutating func parameter(_ b: inout FunctionBuilder, _ t: TensorType) -> Value {
    parameterCount += 1
    return b.parameter("p\(parameterCount)", t)
  }

  private func type(_ b: FunctionBuilder, _ v: Value) -> TensorType { b.type(of: v) ?? .scalar(.f32) }

  /// A visible value, more often a recent one.
  private mutating func operand(_ b: FunctionBuilder, _ filter: (TensorType) -> Bool = { _ in true }) throws(ShapeError) -> Value {
    let fits = visible.filter { filter(type(b, $0)) }
    guard !fits.isEmpty else { throw ShapeError("no operand fits") }
    if rng.chance(recentBias) { return rng.pick(Array(fits.suffix(2))) }
    return rng.pick(fits)
  }

  @discardableResult
  private mutating func emit(_ b: inout FunctionBuilder, _ op: Op, _ operands: [Value]) throws(ShapeError) -> Value {
    let r = try b.emit(op, operands)[0]
    visible.append(r)
    return r
  }

  /// A value that broadcasts against `t`: a visible value of its shape, a parameter or a
  /// constant of a bias shape (`[C]`, `[R,1]`, `[]`, `[1,C]`, `[C,1,1]` for images), or `t`'s
  /// own shape.
  private mutating func partner(_ b: inout FunctionBuilder, for t: TensorType) throws(ShapeError) -> Value {
    let same = visible.filter { type(b, $0) == t }
    if !same.isEmpty && rng.chance(0.35) { return rng.pick(same) }
    var s: [Dim]
    switch rng.int(0..<5) {
    case 0: s = []
    case 1: s = t.shape.suffix(1).map { $0 }
    case 2: s = t.rank >= 2 ? Array(t.shape.dropLast()) + [1] : t.shape
    case 3: s = t.rank == 4 ? [t.shape[1], .int(1), .int(1)] : [.int(1)] + Array(t.shape.suffix(1))
    default: s = t.shape
    }
    let u = TensorType(t.dtype, s)
    if rng.chance(0.4) && !s.isEmpty { return parameter(&b, u) }
    return try constant(&b, u)
  }

  private mutating func constant(_ b: inout FunctionBuilder, _ t: TensorType) throws(ShapeError) -> Value {
    let count = t.staticShape.flatMap { ShapeMath.elementCount($0) }
    let n = count.map { $0 <= 16 && rng.chance(0.4) ? $0 : 1 } ?? 1
    let values: [Double] = [0, 1, -1, 0.5, 2, -0.0, 3.25, 1e-3]
    let data: ConstantData
    switch t.dtype {
    case .f32, .f64: data = .floats((0..<n).map { _ in rng.pick(values) })
    case .i32, .i64: data = .ints((0..<n).map { _ in Int64(rng.int(-3...3)) })
    case .bool: data = .bools((0..<n).map { _ in rng.chance(0.5) })
    }
    return try b.emit(.constant(Constant(type: t, data: data)), [])[0]
  }

  private static let unaries: [UnaryOp] = [.neg, .abs, .exp, .log, .sqrt, .rsqrt, .tanh, .sigmoid, .sin, .cos, .erf, .floor, .ceil]
  private static let binaries: [BinaryOp] = [.add, .sub, .mul, .div, .max, .min, .pow]

  private mutating func step(_ b: inout FunctionBuilder, image: Bool) throws(ShapeError) {
    let isFloat: (TensorType) -> Bool = { $0.dtype.isFloat }
    switch rng.int(0..<14) {
    case 0, 1:
      let x = try operand(b, isFloat)
      try emit(&b, .unary(rng.pick(Self.unaries)), [x])
    case 2, 3, 4:
      let x = try operand(b, isFloat)
      let y = try partner(&b, for: type(b, x))
      try emit(&b, .binary(rng.pick(Self.binaries)), rng.chance(0.7) ? [x, y] : [y, x])
    case 5:
      // A select on a comparison.
      let x = try operand(b, isFloat)
      let y = try partner(&b, for: type(b, x))
      let p = try emit(&b, .compare(rng.pick(CompareOp.allCases)), [x, y])
      let z = try partner(&b, for: type(b, x))
      try emit(&b, .select, rng.chance(0.5) ? [p, x, z] : [p, z, x])
    case 6:
      // A cast there and (usually) back: to the other float type, or through an integer.
      let x = try operand(b, isFloat)
      let t = type(b, x)
      let to: DType = rng.pick([t.dtype == .f32 ? .f64 : .f32, .i32, .i64])
      let c = try emit(&b, .cast(to: to), [x])
      if rng.chance(0.8) { try emit(&b, .cast(to: t.dtype), [c]) }
    case 7:
      // Movement: permute, reshape, slice, pad, expand of a row or column.
      let x = try operand(b, isFloat)
      let t = type(b, x)
      switch rng.int(0..<5) {
      case 0:
        var perm = Array(0..<t.rank)
        rng.shuffle(&perm)
        try emit(&b, .permute(perm: perm), [x])
      case 1:
        guard t.rank >= 2 else { throw ShapeError("rank") }
        // Merge or split the last two dims, or add a unit dim.
        if rng.chance(0.5), let c = t.shape[t.rank - 1].value, let r = t.shape[t.rank - 2].value {
          try emit(&b, .reshape(shape: Array(t.shape.dropLast(2)) + [.int(r * c)]), [x])
        } else {
          var s = t.shape
          s.insert(1, at: rng.int(0...t.rank))
          try emit(&b, .reshape(shape: s), [x])
        }
      case 2:
        var start: [Int] = []
        var end: [Dim] = []
        var stepSizes: [Int] = []
        for d in t.shape {
          if let n = d.value, n > 1 {
            let s = rng.int(0..<n)
            start.append(s)
            end.append(.int(rng.int((s + 1)...n)))
            stepSizes.append(rng.int(1...2))
          } else {
            start.append(0)
            end.append(d)
            stepSizes.append(1)
          }
        }
        try emit(&b, .slice(start: start, end: end, step: stepSizes), [x])
      case 3:
        let low = t.shape.map { $0.value == nil ? 0 : rng.int(0...1) }
        let high = t.shape.map { $0.value == nil ? 0 : rng.int(0...1) }
        let values: [ScalarValue] = [0, -1.5, .float(.infinity)]
        try emit(&b, .pad(low: low, high: high, value: rng.pick(values)), [x])
      default:
        // A reduced row or column expanded back, then combined with the full value.
        guard t.rank >= 1 else { throw ShapeError("rank") }
        let axis = rng.chance(0.5) ? t.rank - 1 : 0
        let r = try emit(&b, .reduce(rng.pick(ReduceOp.allCases), axes: [axis], keepDims: true), [x])
        let e = try emit(&b, .expand(shape: t.shape), [r])
        try emit(&b, .binary(rng.pick([.sub, .mul, .add])), [x, e])
      }
    case 8, 9:
      // A last-axis reduction with keepdims feeding elementwise ops (softmax, layernorm).
      let x = try operand(b) { $0.dtype.isFloat && $0.rank >= 1 }
      let t = type(b, x)
      let axis = t.rank - 1
      let m = try emit(&b, .reduce(rng.pick(ReduceOp.allCases), axes: [axis], keepDims: true), [x])
      let d = try emit(&b, .binary(rng.pick([.sub, .div, .mul])), [x, m])
      if rng.chance(0.6) {
        let e = try emit(&b, .unary(rng.pick([.exp, .neg, .abs, .tanh])), [d])
        let s = try emit(&b, .reduce(rng.pick([.sum, .max]), axes: [axis], keepDims: true), [e])
        try emit(&b, .binary(rng.pick([.div, .mul, .sub])), [e, s])
      }
    case 10, 11:
      // A contraction (matmul, or conv2d on images) followed by elementwise ops.
      if image, let x = try? operand(b, { $0.dtype.isFloat && $0.rank == 4 && $0.shape[1...].allSatisfy { ($0.value ?? 0) >= 1 } }) {
        let t = type(b, x)
        guard let c = t.shape[1].value else { throw ShapeError("channels") }
        let co = rng.int(1...3)
        let k = rng.int(1...3)
        let attrs = Conv2DAttrs(stride: [rng.int(1...2), 1], padding: [rng.int(0...1), rng.int(0...1)], dilation: [1, 1], groups: 1)
        let wt = TensorType(t.dtype, [.int(co), .int(c), .int(k), .int(k)])
        let w = try rng.chance(0.5) ? parameter(&b, wt) : constant(&b, wt)
        let y = try emit(&b, .conv2d(attrs), [x, w])
        let bias = try rng.chance(0.5) ? parameter(&b, TensorType(t.dtype, [.int(co), 1, 1])) : partner(&b, for: type(b, y))
        let h = try emit(&b, .binary(.add), [y, bias])
        if rng.chance(0.7) {
          let zero = try constant(&b, .scalar(t.dtype))
          try emit(&b, .binary(.max), [h, zero])
        }
      } else {
        let x = try operand(b) { $0.dtype.isFloat && $0.rank >= 2 && $0.rank <= 3 }
        let t = type(b, x)
        let k = t.shape[t.rank - 1]
        let wt = TensorType(t.dtype, [k, .int(rng.int(1...5))])
        let w = try rng.chance(0.5) ? parameter(&b, wt) : constant(&b, wt)
        let y = try emit(&b, .matmul, [x, w])
        let bias = try partner(&b, for: type(b, y))
        let h = try emit(&b, .binary(rng.pick([.add, .mul, .sub])), [y, bias])
        if rng.chance(0.6) { try emit(&b, .unary(rng.pick([.tanh, .sigmoid, .neg, .exp])), [h]) }
      }
    case 12:
      // An expensive op on a bias broadcast along an outer dim.
      let x = try operand(b) { $0.dtype.isFloat && $0.rank >= 2 }
      let t = type(b, x)
      let c = parameter(&b, TensorType(t.dtype, t.shape.suffix(1).map { $0 }))
      let e = try emit(&b, .unary(rng.pick([.exp, .sqrt, .tanh])), [c])
      try emit(&b, .binary(.add), [x, e])
    default:
      // A value read twice: by two elementwise ops combined later.
      let x = try operand(b, isFloat)
      let u = try emit(&b, .unary(rng.pick(Self.unaries)), [x])
      let v = try emit(&b, .unary(rng.pick(Self.unaries)), [x])
      try emit(&b, .binary(rng.pick(Self.binaries)), rng.chance(0.5) ? [u, v] : [v, u])
    }
  }
}
