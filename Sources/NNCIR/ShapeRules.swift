// Shape rules: the result types of each op from its operand types, with errors that name the
// shapes. The verifier and shape inference both call `Op.resultTypes(for:)`.

/// Why an op cannot take operands of these types. The message is what a user reads after the
/// op's name: "inner dims differ: f32[3,4] x f32[5,6]".
public struct ShapeError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Overflow-checked size arithmetic for shape rules: `what` names the size in the message.
private func checked(
  _ r: (partialValue: Int, overflow: Bool), _ what: @autoclosure () -> String
) throws(ShapeError) -> Int {
  if r.overflow || r.partialValue.magnitude > UInt(ShapeMath.maxElements) {
    throw ShapeError("\(what()) is larger than 2^48")
  }
  return r.partialValue
}

private func list(_ ts: [TensorType]) -> String { ts.map(\.description).joined(separator: ", ") }

extension Op {
  /// NumPy broadcasting of several shapes; symbols must match exactly (or meet a 1).
  public static func broadcast(_ types: [TensorType]) throws(ShapeError) -> [Dim] {
    let rank = types.map(\.rank).max() ?? 0
    var out: [Dim] = []
    for i in 0..<rank {
      var d: Dim = .int(1)
      for t in types {
        let k = i - (rank - t.rank)
        guard k >= 0 else { continue }
        let e = t.shape[k]
        if e == .int(1) || e == d { continue }
        if d == .int(1) { d = e; continue }
        throw ShapeError("cannot broadcast \(list(types))")
      }
      out.append(d)
    }
    return out
  }

  /// The result types for operands of `operands` types. Not for `cond`, whose results are
  /// declared. Every result stays within `ShapeMath.maxElements`, as the parser demands of types.
  public func resultTypes(for operands: [TensorType]) throws(ShapeError) -> [TensorType] {
    let results = try uncheckedResultTypes(for: operands)
    for t in results where !t.isWithinLimits {
      throw ShapeError("result \(t) exceeds the size limit of 2^48")
    }
    return results
  }

  private func uncheckedResultTypes(for operands: [TensorType]) throws(ShapeError) -> [TensorType] {
    guard arity.admits(operands.count) else {
      throw ShapeError("expects \(arity), got \(operands.count)")
    }
    let x = operands.first ?? .scalar(.f32)
    func sameDType() throws(ShapeError) {
      if operands.contains(where: { $0.dtype != x.dtype }) {
        throw ShapeError("operand dtypes differ: \(list(operands))")
      }
    }
    switch self {
    case .constant(let c):
      try Op.checkConstant(c)
      return [c.type]
    case .unary(let u):
      guard u.accepts(x.dtype) else { throw ShapeError("does not accept \(x)") }
      return [x]
    case .binary(let b):
      try sameDType()
      guard b.accepts(x.dtype) else { throw ShapeError("does not accept \(x.dtype) operands") }
      return [TensorType(x.dtype, try Op.broadcast(operands))]
    case .compare(let c):
      try sameDType()
      guard c.accepts(x.dtype) else { throw ShapeError("does not accept \(x.dtype) operands") }
      return [TensorType(.bool, try Op.broadcast(operands))]
    case .select:
      guard x.dtype == .bool else { throw ShapeError("condition must be bool, got \(x)") }
      guard operands[1].dtype == operands[2].dtype else {
        throw ShapeError("branch dtypes differ: \(operands[1]), \(operands[2])")
      }
      return [TensorType(operands[1].dtype, try Op.broadcast(operands))]
    case .cast(let t):
      return [x.with(dtype: t)]
    case .reduce(let k, let axes, let keep):
      try Op.checkAxes(axes, rank: x.rank)
      if x.dtype == .bool { throw ShapeError("does not accept \(x)") }
      _ = k
      var shape: [Dim] = []
      for (i, d) in x.shape.enumerated() {
        if axes.contains(i) {
          if keep { shape.append(1) }
        } else {
          shape.append(d)
        }
      }
      return [x.with(shape: shape)]
    case .argReduce(_, let axis, let keep):
      guard axis >= 0 && axis < x.rank else { throw ShapeError("axis \(axis) out of range for \(x)") }
      if x.dtype == .bool { throw ShapeError("does not accept \(x)") }
      if x.shape[axis] == .int(0) { throw ShapeError("axis \(axis) of \(x) is empty") }
      var shape = x.shape
      if keep { shape[axis] = 1 } else { shape.remove(at: axis) }
      return [TensorType(.i64, shape)]
    case .reshape(let target):
      try Op.checkRank(target)
      if let bad = target.first(where: { ($0.value ?? 0) < 0 }) {
        throw ShapeError("negative dim \(bad) in shape \(Attribute.dims(target))")
      }
      guard try Op.sameVolume(x.shape, target) else {
        var counts = ""
        if let a = x.staticShape.flatMap(ShapeMath.elementCount),
          let b = TensorType(x.dtype, target).staticShape.flatMap(ShapeMath.elementCount)
        {
          counts = " (\(a) vs \(b))"
        }
        throw ShapeError("cannot reshape \(x) to \(Attribute.dims(target)): element counts differ\(counts)")
      }
      return [x.with(shape: target)]
    case .permute(let perm):
      guard perm.count == x.rank, Set(perm) == Set(0..<x.rank) else {
        throw ShapeError("perm \(Attribute.dims(perm.map(Dim.int))) is not a permutation of the \(x.rank) axes of \(x)")
      }
      return [x.with(shape: perm.map { x.shape[$0] })]
    case .expand(let target):
      guard target.count >= x.rank else { throw ShapeError("cannot expand \(x) to fewer dims \(Attribute.dims(target))") }
      try Op.checkRank(target)
      if let bad = target.first(where: { ($0.value ?? 0) < 0 }) {
        throw ShapeError("negative dim \(bad) in shape \(Attribute.dims(target))")
      }
      for (k, d) in x.shape.enumerated() {
        let t = target[target.count - x.rank + k]
        if d != .int(1) && d != t { throw ShapeError("cannot expand \(x) to \(Attribute.dims(target))") }
      }
      return [x.with(shape: target)]
    case .slice(let start, let end, let step):
      guard start.count == x.rank, end.count == x.rank, step.count == x.rank else {
        throw ShapeError("start, end and step need one entry per axis of \(x)")
      }
      var shape: [Dim] = []
      for i in 0..<x.rank {
        let d = x.shape[i]
        guard step[i] >= 1 else { throw ShapeError("step \(step[i]) on axis \(i) must be at least 1") }
        if case .sym = d {
          guard start[i] == 0, step[i] == 1, end[i] == d else {
            throw ShapeError("axis \(i) of \(x) is symbolic: only the full range 0..<\(d) can be sliced")
          }
          shape.append(d)
          continue
        }
        guard let e = end[i].value, let n = d.value else {
          throw ShapeError("end \(end[i]) on axis \(i) does not match dim \(d) of \(x)")
        }
        guard 0 <= start[i], start[i] <= e, e <= n else {
          throw ShapeError("range \(start[i])..<\(e) on axis \(i) is outside 0..<\(n) of \(x)")
        }
        // ceil((e - start) / step), written so a huge step cannot overflow.
        shape.append(.int(e == start[i] ? 0 : (e - start[i] - 1) / step[i] + 1))
      }
      return [x.with(shape: shape)]
    case .pad(let lo, let hi, let value):
      guard lo.count == x.rank, hi.count == x.rank else {
        throw ShapeError("low and high need one entry per axis of \(x)")
      }
      guard value.fits(x.dtype) else { throw ShapeError("value \(value) does not fit \(x.dtype)") }
      var shape: [Dim] = []
      for i in 0..<x.rank {
        guard lo[i] >= 0, hi[i] >= 0 else { throw ShapeError("padding on axis \(i) must not be negative") }
        if lo[i] == 0 && hi[i] == 0 { shape.append(x.shape[i]); continue }
        guard let n = x.shape[i].value else {
          throw ShapeError("axis \(i) of \(x) is symbolic and cannot be padded")
        }
        let what = "padded axis \(i) of \(x)"
        shape.append(.int(try checked(n.addingReportingOverflow(try checked(lo[i].addingReportingOverflow(hi[i]), what)), what)))
      }
      return [x.with(shape: shape)]
    case .concat(let axis):
      try sameDType()
      guard axis >= 0 && axis < x.rank else { throw ShapeError("axis \(axis) out of range for \(x)") }
      var total: Dim = x.shape[axis]
      for t in operands.dropFirst() {
        guard t.rank == x.rank, (0..<x.rank).allSatisfy({ $0 == axis || t.shape[$0] == x.shape[$0] }) else {
          throw ShapeError("operand shapes differ off axis \(axis): \(list(operands))")
        }
        guard let a = total.value, let b = t.shape[axis].value else {
          throw ShapeError("axis \(axis) is symbolic in \(list(operands))")
        }
        total = .int(try checked(a.addingReportingOverflow(b), "concatenated axis \(axis)"))
      }
      var shape = x.shape
      shape[axis] = total
      return [x.with(shape: shape)]
    case .matmul:
      let (a, b) = (operands[0], operands[1])
      try sameDType()
      guard a.dtype.isNumeric else { throw ShapeError("does not accept \(a.dtype) operands") }
      guard a.rank >= 2, b.rank >= 2 else { throw ShapeError("operands need rank 2 or more: \(a) x \(b)") }
      guard a.shape[a.rank - 1] == b.shape[b.rank - 2] else { throw ShapeError("inner dims differ: \(a) x \(b)") }
      let batch = try Op.broadcast([a.with(shape: Array(a.shape.dropLast(2))), b.with(shape: Array(b.shape.dropLast(2)))])
      return [a.with(shape: batch + [a.shape[a.rank - 2], b.shape[b.rank - 1]])]
    case .conv2d(let attrs):
      let (input, w) = (operands[0], operands[1])
      try sameDType()
      guard input.dtype.isFloat else { throw ShapeError("does not accept \(input.dtype) operands") }
      guard input.rank == 4, w.rank == 4 else {
        throw ShapeError("expects input [N,C,H,W] and weight [O,C/groups,KH,KW], got \(input), \(w)")
      }
      try Op.checkWindow(stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation)
      guard attrs.groups >= 1 else { throw ShapeError("groups must be at least 1") }
      guard let c = input.shape[1].value, let o = w.shape[0].value, let wc = w.shape[1].value else {
        throw ShapeError("channel dims must be known: \(input), \(w)")
      }
      let (perGroup, overflow) = wc.multipliedReportingOverflow(by: attrs.groups)
      guard !overflow, c == perGroup else {
        throw ShapeError(
          "input \(input) has \(c) channels, weight \(w) with groups=\(attrs.groups) needs \(overflow ? "more" : String(perGroup))")
      }
      guard o % attrs.groups == 0 else {
        throw ShapeError("weight \(w) has \(o) output channels, not divisible by groups=\(attrs.groups)")
      }
      guard w.shape[2] != .int(0), w.shape[3] != .int(0) else { throw ShapeError("kernel dims of \(w) must be at least 1") }
      let spatial = try Op.windowOutput(
        input, kernel: [w.shape[2], w.shape[3]], stride: attrs.stride, padding: attrs.padding, dilation: attrs.dilation)
      return [input.with(shape: [input.shape[0], w.shape[0]] + spatial)]
    case .pool2d(_, let attrs):
      guard x.dtype.isFloat else { throw ShapeError("does not accept \(x)") }
      guard x.rank == 4 else { throw ShapeError("expects input [N,C,H,W], got \(x)") }
      guard attrs.kernel.count == 2, attrs.kernel.allSatisfy({ $0 >= 1 }) else {
        throw ShapeError("kernel must be two sizes of at least 1")
      }
      try Op.checkWindow(stride: attrs.stride, padding: attrs.padding, dilation: [1, 1])
      // padding * 2 > kernel, written so a huge padding cannot overflow.
      for i in 0..<2 where attrs.padding[i] > attrs.kernel[i] / 2 {
        throw ShapeError("padding \(attrs.padding[i]) is more than half the kernel \(attrs.kernel[i])")
      }
      let spatial = try Op.windowOutput(
        x, kernel: attrs.kernel.map(Dim.int), stride: attrs.stride, padding: attrs.padding, dilation: [1, 1])
      return [x.with(shape: Array(x.shape.prefix(2)) + spatial)]
    case .cond, .fused:
      throw ShapeError("results of \(mnemonic) are declared, not inferred")
    case .guardTrue:
      guard x == .scalar(.bool) else { throw ShapeError("predicate must be bool[], got \(x)") }
      return []
    }
  }

  static func checkConstant(_ c: Constant) throws(ShapeError) {
    let kindOK: Bool
    switch c.data {
    case .floats: kindOK = c.type.dtype.isFloat
    case .ints: kindOK = c.type.dtype.isInteger
    case .bools: kindOK = c.type.dtype == .bool
    }
    guard kindOK else { throw ShapeError("literal does not fit type \(c.type)") }
    if c.data.count == 1 { return try checkValues(c) }
    guard let s = c.type.staticShape else {
      throw ShapeError("a dense literal needs a static shape, got \(c.type)")
    }
    guard let n = ShapeMath.elementCount(s), n == c.data.count else {
      throw ShapeError("literal has \(c.data.count) elements, type \(c.type) needs \(ShapeMath.elementCount(s).map(String.init) ?? "too many")")
    }
    try checkValues(c)
  }

  /// The values the parser accepts for the dtype: i32 in range, f32 already rounded to Float
  /// (so that printing and parsing give the same graph).
  static func checkValues(_ c: Constant) throws(ShapeError) {
    switch (c.type.dtype, c.data) {
    case (.i32, .ints(let v)):
      if let bad = v.first(where: { Int32(exactly: $0) == nil }) { throw ShapeError("\(bad) does not fit i32") }
    case (.f32, .floats(let v)):
      if let bad = v.first(where: { !$0.isNaN && Double(Float($0)) != $0 }) {
        throw ShapeError("\(bad) is not an f32 value (round it to Float)")
      }
    default:
      break
    }
  }

  /// The parser reads types of rank up to `Parser.maxRank`; a result must not pass it, or the
  /// printed text would not read back.
  static func checkRank(_ shape: [Dim]) throws(ShapeError) {
    guard shape.count <= Parser.maxRank else {
      throw ShapeError("rank \(shape.count) is more than \(Parser.maxRank)")
    }
  }

  static func checkAxes(_ axes: [Int], rank: Int) throws(ShapeError) {
    for (i, a) in axes.enumerated() {
      guard a >= 0 && a < rank else { throw ShapeError("axis \(a) out of range for rank \(rank)") }
      if i > 0 && axes[i - 1] >= a { throw ShapeError("axes must be sorted and unique") }
    }
  }

  static func checkWindow(stride: [Int], padding: [Int], dilation: [Int]) throws(ShapeError) {
    guard stride.count == 2, padding.count == 2, dilation.count == 2 else {
      throw ShapeError("stride, padding and dilation take two values (height, width)")
    }
    guard stride.allSatisfy({ $0 >= 1 }) else { throw ShapeError("stride must be at least 1") }
    guard dilation.allSatisfy({ $0 >= 1 }) else { throw ShapeError("dilation must be at least 1") }
    guard padding.allSatisfy({ $0 >= 0 }) else { throw ShapeError("padding must not be negative") }
  }

  /// Output height and width of a sliding window over the last two dims of `x`.
  static func windowOutput(
    _ x: TensorType, kernel: [Dim], stride: [Int], padding: [Int], dilation: [Int]
  ) throws(ShapeError) -> [Dim] {
    var out: [Dim] = []
    for i in 0..<2 {
      guard let n = x.shape[2 + i].value, let k = kernel[i].value else {
        throw ShapeError("spatial dims must be known: \(x)")
      }
      let padded = try checked(
        n.addingReportingOverflow(try checked(padding[i].multipliedReportingOverflow(by: 2), "padding")), "padded input")
      let span = try checked(
        try checked(dilation[i].multipliedReportingOverflow(by: k - 1), "window").addingReportingOverflow(1), "window")
      guard k >= 1, padded >= span else {
        throw ShapeError("window \(k) (dilation \(dilation[i])) is larger than padded input \(padded) in \(x)")
      }
      out.append(.int((padded - span) / stride[i] + 1))
    }
    return out
  }

  /// True when two shapes hold the same number of elements: equal products of known dims and
  /// the same symbols with the same multiplicity.
  static func sameVolume(_ a: [Dim], _ b: [Dim]) throws(ShapeError) -> Bool {
    func split(_ s: [Dim]) throws(ShapeError) -> (Int, [String]) {
      var n = 1
      var syms: [String] = []
      for d in s {
        switch d {
        case .int(let v): n = try checked(n.multipliedReportingOverflow(by: v), "element count of \(Attribute.dims(s))")
        case .sym(let name): syms.append(name)
        }
      }
      return (n, syms.sorted())
    }
    let (na, sa) = try split(a)
    let (nb, sb) = try split(b)
    return na == nb && (sa == sb || na == 0)
  }
}
