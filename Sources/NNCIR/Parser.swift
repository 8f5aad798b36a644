// Parser for `.swiftgraph` text. Reads back exactly what the printer writes; every error is a
// `Diagnostic` with the file, line and column.

/// The `.swiftgraph` format version this build reads and writes.
public let swiftgraphVersion = 1

/// Parses `.swiftgraph` text into a `Graph`. Result types that the text omits stay nil for
/// shape inference to fill; nothing else is checked beyond syntax and name resolution (the
/// verifier checks types).
public func parseGraph(_ bytes: [UInt8], file: String) throws(Diagnostic) -> Graph {
  if let bad = Lexer.firstInvalidUTF8(bytes, file: file) {
    throw Diagnostic(bad, "file is not valid UTF-8")
  }
  var p = try Parser(bytes: bytes, file: file)
  return try p.parseFile()
}

/// Parses `.swiftgraph` text given as a String.
public func parseGraph(_ text: String, file: String = "<input>") throws(Diagnostic) -> Graph {
  try parseGraph(Array(text.utf8), file: file)
}

/// A literal of a `const`, before its type is known.
private indirect enum Literal {
  case token(Token)
  case list([Literal], SourcePos)
}

struct Parser {
  var lexer: Lexer
  var tok: Token
  /// Limits that keep hostile input from exhausting the stack.
  static let maxNesting = 64
  static let maxRank = 32

  // Per-function state.
  var fn = Function(name: "")
  /// Every name defined so far in the function, with its value and the scope depth it lives in.
  var names: [String: (value: Value, pos: SourcePos)] = [:]
  /// Names visible now, innermost scope last.
  var scopes: [Set<String>] = []

  init(bytes: [UInt8], file: String) throws(Diagnostic) {
    lexer = Lexer(bytes: bytes, file: file)
    tok = try lexer.next()
  }

  // MARK: - token helpers

  mutating func advance() throws(Diagnostic) { tok = try lexer.next() }

  /// The token after the current one.
  func peek() throws(Diagnostic) -> Token {
    var l = lexer
    return try l.next()
  }

  func isPunct(_ s: String) -> Bool { tok.kind == .punct(s) }
  func isIdent(_ s: String) -> Bool { tok.kind == .ident(s) }

  func error(_ message: String) -> Diagnostic { Diagnostic(tok.pos, message) }

  func unexpected(_ wanted: String) -> Diagnostic {
    error("expected \(wanted), found \(tok.kind == .eof ? "end of file" : "'\(tok.text)'")")
  }

  mutating func expectPunct(_ s: String) throws(Diagnostic) {
    guard isPunct(s) else { throw unexpected("'\(s)'") }
    try advance()
  }

  mutating func expectIdent(_ s: String) throws(Diagnostic) {
    guard isIdent(s) else { throw unexpected("'\(s)'") }
    try advance()
  }

  mutating func parseInt(_ what: String) throws(Diagnostic) -> Int {
    guard case .int(let v) = tok.kind else { throw unexpected(what) }
    try advance()
    return v
  }

  // MARK: - file and functions

  mutating func parseFile() throws(Diagnostic) -> Graph {
    guard isIdent("swiftgraph") else {
      throw error("expected the version line 'swiftgraph \(swiftgraphVersion)' at the start of the file")
    }
    try advance()
    let vpos = tok.pos
    let version = try parseInt("a version number")
    guard version == swiftgraphVersion else {
      throw Diagnostic(vpos, "unsupported swiftgraph version \(version) (this nnc reads version \(swiftgraphVersion))")
    }
    var graph = Graph()
    var seen: [String: SourcePos] = [:]
    // A file holds one or more functions.
    repeat {
      let f = try parseFunction()
      if let first = seen[f.name] {
        throw Diagnostic(f.textPos!, "redefinition of function @\(f.name) (first defined at \(first.line):\(first.column))")
      }
      seen[f.name] = f.textPos
      graph.functions.append(f)
    } while tok.kind != .eof
    return graph
  }

  mutating func parseFunction() throws(Diagnostic) -> Function {
    guard isIdent("func") else { throw unexpected("'func'") }
    let start = tok.pos
    try advance()
    guard case .at(let name) = tok.kind else { throw unexpected("a function name like @main") }
    try advance()
    fn = Function(name: name, textPos: start)
    names = [:]
    scopes = [[]]
    try expectPunct("(")
    if !isPunct(")") {
      while true {
        let ppos = tok.pos
        guard case .percent(let pname) = tok.kind else { throw unexpected("a parameter like %x") }
        guard let first = pname.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else {
          throw Diagnostic(ppos, "parameter names must start with a letter or '_': %\(pname)")
        }
        try advance()
        try expectPunct(":")
        let t = try parseType()
        let v = try define(pname, type: t, at: ppos)
        fn.parameters.append(Parameter(name: pname, value: v))
        if isPunct(",") { try advance(); continue }
        break
      }
    }
    try expectPunct(")")
    try expectPunct("->")
    fn.resultTypes = try parseTypeList()
    try expectPunct("{")
    fn.body = try parseBlock(terminator: "return", depth: 0)
    try expectPunct("}")
    // Region values were numbered before the instruction owning them; renumber in text order.
    return fn.canonicalized()
  }

  /// Instructions up to and including the terminator keyword and its operands.
  mutating func parseBlock(terminator: String, depth: Int) throws(Diagnostic) -> Block {
    guard depth <= Parser.maxNesting else { throw error("regions nested more than \(Parser.maxNesting) deep") }
    var block = Block()
    while true {
      if isIdent(terminator) {
        block.terminatorPos = tok.pos
        try advance()
        block.terminator = isPunct("}") ? [] : try parseOperands()
        return block
      }
      if isIdent("return") || isIdent("yield") {
        throw error("'\(tok.text)' is not allowed here; this block ends with '\(terminator)'")
      }
      if isPunct("}") || tok.kind == .eof {
        throw unexpected("'\(terminator)' to end the block")
      }
      block.instructions.append(try parseInstruction(depth: depth))
    }
  }

  // MARK: - values

  mutating func define(_ name: String, type: TensorType?, at pos: SourcePos) throws(Diagnostic) -> Value {
    if let prev = names[name] {
      throw Diagnostic(pos, "redefinition of %\(name) (first defined at \(prev.pos.line):\(prev.pos.column))")
    }
    let v = fn.newValue(type)
    names[name] = (v, pos)
    scopes[scopes.count - 1].insert(name)
    return v
  }

  mutating func parseOperands() throws(Diagnostic) -> [Value] {
    var out: [Value] = []
    while true {
      guard case .percent(let name) = tok.kind else { throw unexpected("a value like %0") }
      guard let def = names[name] else { throw error("use of undefined value %\(name)") }
      guard scopes.contains(where: { $0.contains(name) }) else {
        throw error("%\(name) is defined inside a region at \(def.pos.line):\(def.pos.column) and is not visible here")
      }
      out.append(def.value)
      try advance()
      guard isPunct(",") else { return out }
      try advance()
    }
  }

  // MARK: - types

  mutating func parseType() throws(Diagnostic) -> TensorType {
    let start = tok.pos
    guard case .ident(let name) = tok.kind else { throw unexpected("a type like f32[3,4]") }
    guard let dtype = DType(rawValue: name) else {
      throw error("unknown dtype '\(name)' (expected one of \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    try advance()
    try expectPunct("[")
    var dims: [Dim] = []
    if !isPunct("]") {
      while true {
        dims.append(try parseDim())
        if dims.count > Parser.maxRank { throw error("rank is more than \(Parser.maxRank)") }
        if isPunct(",") { try advance(); continue }
        break
      }
    }
    try expectPunct("]")
    let t = TensorType(dtype, dims)
    guard t.isWithinLimits else { throw Diagnostic(start, "type \(t) has more than 2^48 elements") }
    return t
  }

  mutating func parseDim() throws(Diagnostic) -> Dim {
    switch tok.kind {
    case .int(let v):
      guard v >= 0 else { throw error("dims must not be negative: \(v)") }
      guard v <= ShapeMath.maxElements else { throw error("dim \(v) is larger than 2^48") }
      try advance()
      return .int(v)
    case .ident(let s):
      try advance()
      return .sym(s)
    default:
      throw unexpected("a dim (an integer or a symbol like N)")
    }
  }

  /// `T` or `(T, T)` or `()`.
  mutating func parseTypeList() throws(Diagnostic) -> [TensorType] {
    guard isPunct("(") else { return [try parseType()] }
    try advance()
    var out: [TensorType] = []
    if !isPunct(")") {
      while true {
        out.append(try parseType())
        if isPunct(",") { try advance(); continue }
        break
      }
    }
    try expectPunct(")")
    return out
  }

  // MARK: - instructions

  mutating func parseInstruction(depth: Int) throws(Diagnostic) -> Instruction {
    let start = tok.pos
    var resultNames: [(String, SourcePos)] = []
    if case .percent = tok.kind {
      while case .percent(let n) = tok.kind {
        resultNames.append((n, tok.pos))
        try advance()
        guard isPunct(",") else { break }
        try advance()
      }
      try expectPunct("=")
    }
    guard case .ident(let mnemonic) = tok.kind else { throw unexpected("an op name") }
    let opPos = tok.pos
    try advance()

    var op: Op
    var operands: [Value] = []
    var literal: Literal? = nil
    if mnemonic == "const" {
      literal = try parseLiteral(depth: 0)
      op = .unary(.neg)  // replaced once the type is known
    } else {
      if case .percent = tok.kind { operands = try parseOperands() }
      var attrs: [String: Attribute] = [:]
      var attrPos: [String: SourcePos] = [:]
      while case .ident(let key) = tok.kind, try peek().kind == .punct("=") {
        let kpos = tok.pos
        try advance()
        try advance()
        if attrs[key] != nil { throw Diagnostic(kpos, "\(mnemonic): attribute '\(key)' given twice") }
        attrs[key] = try parseAttribute()
        attrPos[key] = kpos
      }
      let made: Op?
      do {
        made = try Op.make(mnemonic: mnemonic, attributes: attrs)
      } catch {
        switch error {
        case .missing(let k): throw Diagnostic(opPos, "\(mnemonic): missing attribute '\(k)'")
        case .unexpected(let k): throw Diagnostic(attrPos[k] ?? opPos, "\(mnemonic): unknown attribute '\(k)'")
        case .badValue(let k, let expected):
          throw Diagnostic(attrPos[k] ?? opPos, "\(mnemonic): attribute '\(k)' must be \(expected)")
        }
      }
      guard let made else {
        throw Diagnostic(opPos, "unknown op '\(mnemonic)'" + Parser.suggestion(for: mnemonic))
      }
      op = made
      guard op.arity.admits(operands.count) else {
        throw Diagnostic(opPos, "\(mnemonic): expects \(op.arity), got \(operands.count)")
      }
    }

    var types: [TensorType]? = nil
    if op.resultsDeclared, isPunct("->") {
      try advance()
      types = try parseTypeList()
    } else if isPunct(":") {
      try advance()
      types = try parseTypeList()
    }
    var loc: Location? = nil
    if isIdent("loc") { loc = try parseLoc() }

    if let literal {
      guard let t = types, t.count == 1 else {
        if case .ident(let key) = tok.kind, try peek().kind == .punct("=") {
          throw error("const: takes no attributes, found '\(key)='")
        }
        throw Diagnostic(opPos, "const: needs a type, like ': f32[2]'")
      }
      op = .constant(try makeConstant(literal, t[0]))
    }

    let resultCount = op.resultsDeclared ? (types?.count ?? resultNames.count) : (op.hasSideEffects ? 0 : 1)
    if resultNames.count != resultCount {
      throw Diagnostic(start, "\(mnemonic): has \(resultCount) result\(resultCount == 1 ? "" : "s"), \(resultNames.count) named")
    }
    if let types, types.count != resultCount {
      throw Diagnostic(opPos, "\(mnemonic): \(types.count) result types given for \(resultCount) results")
    }

    var regions: [Block] = []
    if op.regionCount > 0 {
      for r in 0..<op.regionCount {
        if r > 0 { try expectIdent("else") }
        try expectPunct("{")
        scopes.append([])
        regions.append(try parseBlock(terminator: "yield", depth: depth + 1))
        scopes.removeLast()
        try expectPunct("}")
      }
    }
    var results: [Value] = []
    for (k, (name, pos)) in resultNames.enumerated() {
      results.append(try define(name, type: types?[k], at: pos))
    }
    return Instruction(op: op, operands: operands, results: results, regions: regions, loc: loc, textPos: opPos)
  }

  mutating func parseAttribute() throws(Diagnostic) -> Attribute {
    switch tok.kind {
    case .int(let v):
      try advance()
      return .int(v)
    case .float(let v):
      try advance()
      return .float(v)
    case .string(let s):
      try advance()
      return .string(s)
    case .ident(let s):
      if s == "true" || s == "false" { try advance(); return .bool(s == "true") }
      if s == "inf" || s == "nan" { try advance(); return .float(s == "inf" ? .infinity : .nan) }
      if let t = DType(rawValue: s) { try advance(); return .dtype(t) }
      throw error("unexpected '\(s)' as an attribute value")
    case .punct("["):
      try advance()
      var dims: [Dim] = []
      if !isPunct("]") {
        while true {
          switch tok.kind {
          case .int(let v): dims.append(.int(v))
          case .ident(let s): dims.append(.sym(s))
          default: throw unexpected("an integer or a symbol")
          }
          try advance()
          if dims.count > 4096 { throw error("list is too long") }
          if isPunct(",") { try advance(); continue }
          break
        }
      }
      try expectPunct("]")
      return .dims(dims)
    default:
      throw unexpected("an attribute value")
    }
  }

  /// `loc("file.swift":12)`, `loc("file.swift":12:5)`, or a fused location
  /// `loc(fused["a.swift":3, "b.swift":7:2])` (at least one origin).
  mutating func parseLoc() throws(Diagnostic) -> Location {
    try advance()
    try expectPunct("(")
    if isIdent("fused") {
      try advance()
      try expectPunct("[")
      var origins: [Location] = [try parseLocOrigin()]
      while isPunct(",") {
        try advance()
        origins.append(try parseLocOrigin())
      }
      try expectPunct("]")
      try expectPunct(")")
      var first = origins[0]
      first.fused = Array(origins.dropFirst())
      return first
    }
    let origin = try parseLocOrigin()
    try expectPunct(")")
    return origin
  }

  /// `"file.swift":12` or `"file.swift":12:5`.
  private mutating func parseLocOrigin() throws(Diagnostic) -> Location {
    guard case .string(let file) = tok.kind else { throw unexpected("a quoted file name") }
    try advance()
    try expectPunct(":")
    let linePos = tok.pos
    let line = try parseInt("a line number")
    guard line >= 1 else { throw Diagnostic(linePos, "line numbers start at 1, got \(line)") }
    var col: Int? = nil
    if isPunct(":") {
      try advance()
      col = try parseInt("a column number")
    }
    return Location(file: file, line: line, column: col)
  }

  // MARK: - constants

  private mutating func parseLiteral(depth: Int) throws(Diagnostic) -> Literal {
    if depth > Parser.maxRank { throw error("literal nested more than \(Parser.maxRank) deep") }
    if isPunct("[") {
      let p = tok.pos
      try advance()
      var items: [Literal] = []
      if !isPunct("]") {
        while true {
          items.append(try parseLiteral(depth: depth + 1))
          if isPunct(",") { try advance(); continue }
          break
        }
      }
      try expectPunct("]")
      return .list(items, p)
    }
    switch tok.kind {
    case .int, .float, .ident:
      let t = tok
      try advance()
      return .token(t)
    default:
      throw unexpected("a literal (a number, true/false, or a [list])")
    }
  }

  private func makeConstant(_ lit: Literal, _ type: TensorType) throws(Diagnostic) -> Constant {
    var floats: [Double] = []
    var ints: [Int64] = []
    var bools: [Bool] = []
    func element(_ t: Token) throws(Diagnostic) {
      switch (type.dtype, t.kind) {
      case (.f32, .int(let v)), (.f64, .int(let v)):
        floats.append(type.dtype == .f32 ? Double(Float(v)) : Double(v))
      case (.f32, .float(let v)):
        // Round the text once, straight to Float: text -> Double -> Float can round twice.
        let f = v.isNaN || v.isInfinite ? Float(v) : Float(t.text) ?? Float(v)
        guard v.isNaN || v.isInfinite || f.isFinite else {
          throw Diagnostic(t.pos, "\(t.text) does not fit f32")
        }
        floats.append(Double(f))
      case (.f64, .float(let v)):
        floats.append(v)
      case (.f32, .ident(let s)), (.f64, .ident(let s)):
        guard s == "inf" || s == "nan" else { throw Diagnostic(t.pos, "expected a number, found '\(s)'") }
        floats.append(s == "inf" ? .infinity : .nan)
      case (.i32, .int(let v)):
        guard Int32(exactly: v) != nil else { throw Diagnostic(t.pos, "\(v) does not fit i32") }
        ints.append(Int64(v))
      case (.i64, .int(let v)):
        ints.append(Int64(v))
      case (.bool, .ident(let s)) where s == "true" || s == "false":
        bools.append(s == "true")
      default:
        throw Diagnostic(t.pos, "'\(t.text)' is not \(type.dtype == .i32 || type.dtype == .i64 ? "an" : "a") \(type.dtype) literal")
      }
    }
    switch lit {
    case .token(let t):
      try element(t)
    case .list(_, let p):
      guard let shape = type.staticShape else {
        throw Diagnostic(p, "a dense literal needs a static shape, got \(type)")
      }
      guard ShapeMath.elementCount(shape) != nil else { throw Diagnostic(p, "type \(type) is too large") }
      func walk(_ l: Literal, _ axis: Int) throws(Diagnostic) {
        switch l {
        case .token(let t):
          guard axis == shape.count else {
            throw Diagnostic(t.pos, "literal does not match \(type): expected a list at depth \(axis + 1)")
          }
          try element(t)
        case .list(let items, let p):
          guard axis < shape.count else {
            throw Diagnostic(p, "literal does not match \(type): too deeply nested")
          }
          guard items.count == shape[axis] else {
            throw Diagnostic(p, "literal does not match \(type): \(items.count) items where axis \(axis) has \(shape[axis])")
          }
          for item in items { try walk(item, axis + 1) }
        }
      }
      try walk(lit, 0)
    }
    let data: ConstantData
    switch type.dtype {
    case .f32, .f64: data = .floats(floats)
    case .i32, .i64: data = .ints(ints)
    case .bool: data = .bools(bools)
    }
    return Constant(type: type, data: data)
  }

  /// Names other frameworks use for ops that nnc spells differently.
  static let renamed: [String: String] = [
    "transpose": "permute", "view": "reshape", "flatten": "reshape", "broadcast": "expand",
    "broadcast_to": "expand", "dot": "matmul", "mm": "matmul", "bmm": "matmul", "gemm": "matmul",
    "conv": "conv2d", "convolution": "conv2d", "maxpool": "maxpool2d", "max_pool2d": "maxpool2d",
    "max_pool": "maxpool2d", "avgpool": "avgpool2d", "avg_pool2d": "avgpool2d", "avg_pool": "avgpool2d",
    "sum": "reduce_sum", "amax": "reduce_max", "amin": "reduce_min", "where": "select",
    "cat": "concat", "concatenate": "concat", "multiply": "mul", "subtract": "sub", "divide": "div",
    "negative": "neg", "maximum": "max", "minimum": "min", "power": "pow", "equal": "eq",
    "not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge",
    "astype": "cast", "convert": "cast", "constant": "const", "assert": "guard", "if": "cond",
  ]

  /// How common layers that are not ops are written with the primitives.
  static let composites: [String: String] = [
    "relu": "write ReLU as 'max %x, %zero' with '%zero = const 0.0 : f32[]'",
    "softmax": "write softmax with reduce_max, sub, exp, reduce_sum (keepdims=true) and div",
    "log_softmax": "write log-softmax with reduce_max, sub, exp, reduce_sum (keepdims=true), log and sub",
    "gelu": "write GELU as x * 0.5 * (1 + erf(x * 0.70710678)) with mul, erf and add",
    "linear": "write a linear layer as 'matmul %x, %w' then 'add' of the bias",
    "dense": "write a dense layer as 'matmul %x, %w' then 'add' of the bias",
    "mean": "write a mean as reduce_sum, then div by a const holding the number of elements summed",
    "reduce_mean": "write a mean as reduce_sum, then div by a const holding the number of elements summed",
    "clamp": "write clamp as max then min with two consts",
    "clip": "write clip as max then min with two consts",
    "square": "write a square as 'mul %x, %x'",
    "reciprocal": "write a reciprocal as 'div %one, %x' with '%one = const 1.0 : f32[]'",
    "silu": "write SiLU as 'mul %x, %s' with '%s = sigmoid %x'",
    "leaky_relu": "write leaky ReLU as 'select' of 'gt %x, %zero' between %x and 'mul %x, %slope'",
    "dropout": "dropout is the identity at inference: use the input itself",
    "identity": "use the value itself",
  ]

  /// " (did you mean 'x'?)" for the nearest mnemonic, when one is close, or how a known name
  /// from other frameworks is written here.
  static func suggestion(for word: String) -> String {
    let lower = word.lowercased()
    if let op = renamed[lower] { return " (did you mean '\(op)'?)" }
    if let how = composites[lower] { return " (\(how))" }
    func distance(_ a: [Character], _ b: [Character]) -> Int {
      var prev = Array(0...b.count)
      for i in 1...max(a.count, 1) where !a.isEmpty {
        var cur = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
          cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
      }
      return prev[b.count]
    }
    let w = Array(word)
    let best = (Op.allMnemonics + ["return", "yield"]).map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= 2, best.1 < word.count else { return "" }
    return " (did you mean '\(best.0)'?)"
  }
}
