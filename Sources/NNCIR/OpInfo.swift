// The op definition table: mnemonic, kind, arity, regions, effects, and the attribute codec that
// the printer and parser share. Every pass asks these instead of switching on ops itself.

/// What a pass needs to know about an op's data flow.
public enum OpKind: String, Hashable, Sendable {
  /// Each output element depends on the same-index (broadcast) input elements.
  case elementwise
  /// Output elements combine input elements along axes.
  case reduction
  /// Output elements are input elements moved around (or constant fill).
  case movement
  /// Matrix products and convolutions.
  case contraction
  /// Windowed reductions.
  case pooling
  /// A literal.
  case constant
  /// Owns regions or has effects.
  case control
}

/// How many operands an op takes.
public enum Arity: Hashable, Sendable, CustomStringConvertible {
  case exactly(Int)
  case atLeast(Int)

  public func admits(_ n: Int) -> Bool {
    switch self {
    case .exactly(let k): return n == k
    case .atLeast(let k): return n >= k
    }
  }
  public var description: String {
    switch self {
    case .exactly(let k): return k == 1 ? "1 operand" : "\(k) operands"
    case .atLeast(let k): return "at least \(k) operand" + (k == 1 ? "" : "s")
    }
  }
}

/// An attribute value as written in text.
public enum Attribute: Hashable, Sendable, CustomStringConvertible {
  case int(Int)
  case float(Double)
  case bool(Bool)
  case string(String)
  case dtype(DType)
  /// A list of integers and symbols: `[N,256]`.
  case dims([Dim])

  public var description: String {
    switch self {
    case .int(let v): return String(v)
    case .float(let v): return formatFloat(v, .f64)
    case .bool(let v): return v ? "true" : "false"
    case .string(let s): return quoteString(s)
    case .dtype(let t): return t.rawValue
    case .dims(let d): return "[" + d.map(\.description).joined(separator: ",") + "]"
    }
  }
}

/// Why a set of attributes does not make an op.
public enum AttributeError: Error, Equatable, Sendable {
  case missing(String)
  case unexpected(String)
  /// Attribute `name` should have been `expected`.
  case badValue(String, expected: String)
}

/// Reads typed attributes out of a parsed dictionary, remembering which were used.
struct AttributeReader {
  var attrs: [String: Attribute]
  var used: Set<String> = []

  mutating func take(_ name: String) -> Attribute? {
    used.insert(name)
    return attrs[name]
  }
  mutating func int(_ name: String, default d: Int? = nil) throws(AttributeError) -> Int {
    guard let a = take(name) else {
      if let d { return d }
      throw .missing(name)
    }
    guard case .int(let v) = a else {
      var example = "1"
      if case .dims(let d) = a, d.count == 1, let v = d[0].value { example = String(v) }
      throw .badValue(name, expected: "an integer, like \(name)=\(example)")
    }
    return v
  }
  mutating func bool(_ name: String, default d: Bool) throws(AttributeError) -> Bool {
    guard let a = take(name) else { return d }
    guard case .bool(let v) = a else { throw .badValue(name, expected: "true or false") }
    return v
  }
  /// A number or bool exactly as written (integers stay integers).
  mutating func scalar(_ name: String, default d: ScalarValue) throws(AttributeError) -> ScalarValue {
    guard let a = take(name) else { return d }
    switch a {
    case .int(let v): return .int(Int64(v))
    case .float(let v): return .float(v)
    case .bool(let v): return .bool(v)
    default: throw .badValue(name, expected: "a number, true or false")
    }
  }
  mutating func string(_ name: String, default d: String) throws(AttributeError) -> String {
    guard let a = take(name) else { return d }
    guard case .string(let v) = a else { throw .badValue(name, expected: "a string") }
    return v
  }
  mutating func dtype(_ name: String) throws(AttributeError) -> DType {
    guard let a = take(name) else { throw .missing(name) }
    guard case .dtype(let v) = a else { throw .badValue(name, expected: "a dtype (f32, f64, i32, i64, bool)") }
    return v
  }
  mutating func dims(_ name: String, default d: [Dim]? = nil) throws(AttributeError) -> [Dim] {
    guard let a = take(name) else {
      if let d { return d }
      throw .missing(name)
    }
    guard case .dims(let v) = a else {
      let example = if case .int(let v) = a { "[\(v)]" } else { "[N,4]" }
      throw .badValue(name, expected: "a list, like \(name)=\(example)")
    }
    return v
  }
  mutating func ints(_ name: String, default d: [Int]? = nil, count: Int? = nil) throws(AttributeError) -> [Int] {
    // An example that fits: the integer given, repeated, or small ones (`padding=[1,1]`).
    var items = count.map { Array(repeating: "1", count: $0) } ?? ["0", "1"]
    if case .int(let v)? = attrs[name] { items = Array(repeating: String(v), count: count ?? 1) }
    let example = "\(name)=[" + items.joined(separator: ",") + "]"
    let expected = (count.map { "a list of \($0) integers" } ?? "a list of integers") + ", like \(example)"
    let ds: [Dim]
    do {
      ds = try dims(name, default: d.map { $0.map(Dim.int) })
    } catch {
      if case .badValue = error { throw .badValue(name, expected: expected) }
      throw error
    }
    var out: [Int] = []
    for x in ds {
      guard let v = x.value else { throw .badValue(name, expected: expected) }
      out.append(v)
    }
    if let count, out.count != count { throw .badValue(name, expected: expected) }
    return out
  }
  func finish() throws(AttributeError) {
    if let extra = attrs.keys.sorted().first(where: { !used.contains($0) }) { throw .unexpected(extra) }
  }
}

extension Op {
  /// Every mnemonic of the op set, for help texts and "did you mean" suggestions.
  public static let allMnemonics: [String] =
    ["const"] + UnaryOp.allCases.map(\.rawValue) + BinaryOp.allCases.map(\.rawValue)
    + CompareOp.allCases.map(\.rawValue)
    + ["select", "cast"] + ReduceOp.allCases.map { "reduce_" + $0.rawValue }
    + ArgReduceOp.allCases.map(\.rawValue)
    + ["reshape", "permute", "expand", "slice", "pad", "concat", "matmul", "conv2d", "maxpool2d", "avgpool2d", "cond", "guard", "fused"]

  /// The name the text format uses.
  public var mnemonic: String {
    switch self {
    case .constant: return "const"
    case .unary(let u): return u.rawValue
    case .binary(let b): return b.rawValue
    case .compare(let c): return c.rawValue
    case .select: return "select"
    case .cast: return "cast"
    case .reduce(let r, _, _): return "reduce_" + r.rawValue
    case .argReduce(let r, _, _): return r.rawValue
    case .reshape: return "reshape"
    case .permute: return "permute"
    case .expand: return "expand"
    case .slice: return "slice"
    case .pad: return "pad"
    case .concat: return "concat"
    case .matmul: return "matmul"
    case .conv2d: return "conv2d"
    case .pool2d(let p, _): return p.rawValue + "pool2d"
    case .cond: return "cond"
    case .guardTrue: return "guard"
    case .fused: return "fused"
    }
  }

  public var kind: OpKind {
    switch self {
    case .constant: return .constant
    case .unary, .binary, .compare, .select, .cast: return .elementwise
    case .reduce, .argReduce: return .reduction
    case .reshape, .permute, .expand, .slice, .pad, .concat: return .movement
    case .matmul, .conv2d: return .contraction
    case .pool2d: return .pooling
    case .cond, .guardTrue, .fused: return .control
    }
  }

  public var arity: Arity {
    switch self {
    case .constant: return .exactly(0)
    case .unary, .cast, .reduce, .argReduce, .reshape, .permute, .expand, .slice, .pad, .pool2d, .guardTrue:
      return .exactly(1)
    case .binary, .compare, .matmul, .conv2d: return .exactly(2)
    case .select: return .exactly(3)
    case .concat: return .atLeast(1)
    case .cond: return .exactly(1)
    case .fused: return .atLeast(0)
    }
  }

  /// Number of regions the op owns.
  public var regionCount: Int {
    if case .cond = self { return 2 }
    if case .fused = self { return 1 }
    return 0
  }

  /// Ops that must not be removed or reordered even when their results are unused.
  public var hasSideEffects: Bool {
    if case .guardTrue = self { return true }
    return false
  }

  /// True when the op's results are given by its declared types rather than a shape rule.
  public var resultsDeclared: Bool {
    switch self {
    case .cond, .fused: return true
    default: return false
    }
  }

  /// Attributes in printing order, defaults left out (the canonical form).
  public var attributes: [(String, Attribute)] {
    func ints(_ v: [Int]) -> Attribute { .dims(v.map(Dim.int)) }
    switch self {
    case .constant, .unary, .binary, .compare, .select, .matmul, .cond, .fused: return []
    case .cast(let t): return [("to", .dtype(t))]
    case .reduce(_, let axes, let keep):
      return [("axes", ints(axes))] + (keep ? [("keepdims", .bool(true))] : [])
    case .argReduce(_, let axis, let keep):
      return [("axis", .int(axis))] + (keep ? [("keepdims", .bool(true))] : [])
    case .reshape(let s): return [("shape", .dims(s))]
    case .permute(let p): return [("perm", ints(p))]
    case .expand(let s): return [("shape", .dims(s))]
    case .slice(let start, let end, let step):
      return [("start", ints(start)), ("end", .dims(end))]
        + (step.allSatisfy { $0 == 1 } ? [] : [("step", ints(step))])
    case .pad(let lo, let hi, let v):
      let value: Attribute
      switch v {
      case .int(let i): value = .int(Int(i))
      case .float(let d): value = .float(d)
      case .bool(let b): value = .bool(b)
      }
      return [("low", ints(lo)), ("high", ints(hi))] + (v.isPlainZero ? [] : [("value", value)])
    case .concat(let axis): return [("axis", .int(axis))]
    case .conv2d(let a):
      var out: [(String, Attribute)] = []
      if a.stride != [1, 1] { out.append(("stride", ints(a.stride))) }
      if a.padding != [0, 0] { out.append(("padding", ints(a.padding))) }
      if a.dilation != [1, 1] { out.append(("dilation", ints(a.dilation))) }
      if a.groups != 1 { out.append(("groups", .int(a.groups))) }
      return out
    case .pool2d(_, let a):
      var out: [(String, Attribute)] = [("kernel", ints(a.kernel))]
      if a.stride != a.kernel { out.append(("stride", ints(a.stride))) }
      if a.padding != [0, 0] { out.append(("padding", ints(a.padding))) }
      return out
    case .guardTrue(let m): return m.isEmpty ? [] : [("message", .string(m))]
    }
  }

  /// Builds the op named `mnemonic` from parsed attributes. `const` is built by the parser
  /// from its literal, not here.
  public static func make(mnemonic: String, attributes: [String: Attribute]) throws(AttributeError) -> Op? {
    var r = AttributeReader(attrs: attributes)
    let op: Op
    if let u = UnaryOp(rawValue: mnemonic) {
      op = .unary(u)
    } else if let b = BinaryOp(rawValue: mnemonic) {
      op = .binary(b)
    } else if let c = CompareOp(rawValue: mnemonic) {
      op = .compare(c)
    } else if mnemonic.hasPrefix("reduce_"), let k = ReduceOp(rawValue: String(mnemonic.dropFirst(7))) {
      op = .reduce(k, axes: try r.ints("axes"), keepDims: try r.bool("keepdims", default: false))
    } else if let k = ArgReduceOp(rawValue: mnemonic) {
      op = .argReduce(k, axis: try r.int("axis"), keepDims: try r.bool("keepdims", default: false))
    } else if mnemonic.hasSuffix("pool2d"), let k = PoolOp(rawValue: String(mnemonic.dropLast(6))) {
      let kernel = try r.ints("kernel", count: 2)
      op = .pool2d(
        k,
        Pool2DAttrs(
          kernel: kernel, stride: try r.ints("stride", default: kernel, count: 2),
          padding: try r.ints("padding", default: [0, 0], count: 2)))
    } else {
      switch mnemonic {
      case "select": op = .select
      case "cast": op = .cast(to: try r.dtype("to"))
      case "reshape": op = .reshape(shape: try r.dims("shape"))
      case "permute": op = .permute(perm: try r.ints("perm"))
      case "expand": op = .expand(shape: try r.dims("shape"))
      case "slice":
        let start = try r.ints("start")
        op = .slice(
          start: start, end: try r.dims("end"),
          step: try r.ints("step", default: Array(repeating: 1, count: start.count)))
      case "pad":
        op = .pad(low: try r.ints("low"), high: try r.ints("high"), value: try r.scalar("value", default: 0))
      case "concat": op = .concat(axis: try r.int("axis"))
      case "matmul": op = .matmul
      case "conv2d":
        op = .conv2d(
          Conv2DAttrs(
            stride: try r.ints("stride", default: [1, 1], count: 2),
            padding: try r.ints("padding", default: [0, 0], count: 2),
            dilation: try r.ints("dilation", default: [1, 1], count: 2),
            groups: try r.int("groups", default: 1)))
      case "cond": op = .cond
      case "fused": op = .fused
      case "guard": op = .guardTrue(message: try r.string("message", default: ""))
      default: return nil
      }
    }
    try r.finish()
    return op
  }
}
