// The graph: functions of SSA instructions stored as value types in arrays.

/// A handle to an SSA value of one function (printed `%3`; parameters keep their names).
public struct Value: Hashable, Sendable, Comparable, CustomStringConvertible {
  public let id: Int
  public init(_ id: Int) { self.id = id }
  public static func < (a: Value, b: Value) -> Bool { a.id < b.id }
  public var description: String { "v\(id)" }
}

/// A position in a text file: 1-based line and column.
public struct SourcePos: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int
  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }
  public var description: String { "\(file):\(line):\(column)" }
}

/// The user source that produced an instruction (`loc("model.swift":12:5)`): the Swift call a
/// trace recorded, or whatever a hand-written file states. When a pass merges instructions (CSE,
/// a rewrite that replaces two ops by one, folding), the survivor's location is *fused*: it
/// keeps every origin, printed `loc(fused["a.swift":3, "b.swift":7])` after MLIR's FusedLoc, so
/// no provenance is lost. `file`/`line`/`column` are the first origin; `fused` the others.
public struct Location: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int?
  /// Further origins merged into this one, in order, without duplicates; empty for a plain one.
  public var fused: [Location]

  public init(file: String, line: Int, column: Int? = nil, fused: [Location] = []) {
    self.file = file
    self.line = line
    self.column = column
    self.fused = fused
  }

  /// A position of a parsed file as a location.
  public init(_ pos: SourcePos) { self.init(file: pos.file, line: pos.line, column: pos.column) }

  /// Every origin in order: this one's first, then the fused ones.
  public var origins: [Location] {
    [Location(file: file, line: line, column: column)] + fused
  }

  /// The origins of `a` and then `b` as one location, duplicates dropped (nil when both are nil).
  public static func fusing(_ a: Location?, _ b: Location?) -> Location? {
    var all: [Location] = []
    for o in (a?.origins ?? []) + (b?.origins ?? []) where !all.contains(o) { all.append(o) }
    guard var first = all.first else { return nil }
    first.fused = Array(all.dropFirst())
    return first
  }

  /// `file:line[:column]` of the first origin, then ` (fused with ...)` naming the others.
  public var description: String {
    let head = "\(file):\(line)" + (column.map { ":\($0)" } ?? "")
    if fused.isEmpty { return head }
    return head + " (fused with " + fused.map(\.description).joined(separator: ", ") + ")"
  }
}

/// One operation: an op, its operands and results, and the regions it owns.
public struct Instruction: Hashable, Sendable {
  public var op: Op
  public var operands: [Value]
  public var results: [Value]
  /// Nested code: `cond` has two (then, else).
  public var regions: [Block]
  /// The user source that produced it.
  public var loc: Location?
  /// Where the instruction stood in a parsed file; used for diagnostics, not part of identity.
  public var textPos: SourcePos?

  public init(
    op: Op, operands: [Value], results: [Value], regions: [Block] = [], loc: Location? = nil,
    textPos: SourcePos? = nil
  ) {
    self.op = op
    self.operands = operands
    self.results = results
    self.regions = regions
    self.loc = loc
    self.textPos = textPos
  }

  /// For a `fused` instruction, sets the operands to the outer values its region reads, each
  /// once, in order of first read (the verifier's rule); other instructions are left alone.
  /// Passes that rewrite inside regions call it, so a rewrite that makes the body read another
  /// outer value, or stop reading one, keeps the instruction valid.
  public mutating func recomputeFusedOperands() {
    guard case .fused = op, let body = regions.first else { return }
    var inner: Set<Int> = []
    var seen: Set<Int> = []
    var free: [Value] = []
    func read(_ v: Value) {
      if !inner.contains(v.id) && seen.insert(v.id).inserted { free.append(v) }
    }
    for inst in body.instructions {
      inst.operands.forEach(read)
      for r in inst.results { inner.insert(r.id) }
    }
    body.terminator.forEach(read)
    operands = free
  }

  /// Where the instruction came from, for remarks and fused locations: its `loc`, else its
  /// place in a parsed file.
  public var provenance: Location? { loc ?? textPos.map(Location.init) }

  public static func == (a: Instruction, b: Instruction) -> Bool {
    a.op == b.op && a.operands == b.operands && a.results == b.results && a.regions == b.regions
      && a.loc == b.loc
  }
  public func hash(into h: inout Hasher) {
    h.combine(op)
    h.combine(operands)
    h.combine(results)
    h.combine(regions)
    h.combine(loc)
  }
}

/// A straight-line list of instructions ending in a terminator (`return` or `yield`).
public struct Block: Hashable, Sendable {
  public var instructions: [Instruction]
  /// The terminator's operands.
  public var terminator: [Value]
  /// Where the terminator stood in a parsed file.
  public var terminatorPos: SourcePos?

  public init(instructions: [Instruction] = [], terminator: [Value] = [], terminatorPos: SourcePos? = nil) {
    self.instructions = instructions
    self.terminator = terminator
    self.terminatorPos = terminatorPos
  }

  public static func == (a: Block, b: Block) -> Bool {
    a.instructions == b.instructions && a.terminator == b.terminator
  }
  public func hash(into h: inout Hasher) {
    h.combine(instructions)
    h.combine(terminator)
  }
}

/// A named, typed function parameter.
public struct Parameter: Hashable, Sendable {
  public var name: String
  public var value: Value
  public init(name: String, value: Value) {
    self.name = name
    self.value = value
  }
}

/// A function: parameters, a body, result types, and the type of every value.
public struct Function: Hashable, Sendable {
  public var name: String
  public var parameters: [Parameter]
  public var resultTypes: [TensorType]
  public var body: Block
  /// Type of each value, indexed by `Value.id`; nil until shape inference fills it.
  public var valueTypes: [TensorType?]
  /// Where the function stood in a parsed file.
  public var textPos: SourcePos?

  public init(
    name: String, parameters: [Parameter] = [], resultTypes: [TensorType] = [], body: Block = Block(),
    valueTypes: [TensorType?] = [], textPos: SourcePos? = nil
  ) {
    self.name = name
    self.parameters = parameters
    self.resultTypes = resultTypes
    self.body = body
    self.valueTypes = valueTypes
    self.textPos = textPos
  }

  public static func == (a: Function, b: Function) -> Bool {
    a.name == b.name && a.parameters == b.parameters && a.resultTypes == b.resultTypes
      && a.body == b.body && a.valueTypes == b.valueTypes
  }
  public func hash(into h: inout Hasher) {
    h.combine(name)
    h.combine(body)
  }

  /// The type of `v`, when known.
  public func type(of v: Value) -> TensorType? {
    v.id >= 0 && v.id < valueTypes.count ? valueTypes[v.id] : nil
  }

  /// A fresh value of `type`.
  public mutating func newValue(_ type: TensorType?) -> Value {
    valueTypes.append(type)
    return Value(valueTypes.count - 1)
  }

  /// Parameter types in order (nil entries impossible after parsing).
  public var parameterTypes: [TensorType] {
    parameters.compactMap { type(of: $0.value) }
  }

  /// The names the printer gives values: `%x` for parameters, `%0`, `%1`, ... for the rest in
  /// order of definition.
  public func displayNames() -> [Int: String] {
    var names: [Int: String] = [:]
    for p in parameters { names[p.value.id] = "%" + p.name }
    var next = 0
    func walk(_ b: Block) {
      for inst in b.instructions {
        for r in inst.results where names[r.id] == nil {
          names[r.id] = "%\(next)"
          next += 1
        }
        for region in inst.regions { walk(region) }
      }
    }
    walk(body)
    return names
  }

  /// The symbols of the parameter types in order of first appearance: the order in which
  /// compiled entry points take sizes.
  public var sizeSymbols: [String] {
    var out: [String] = []
    for t in parameterTypes { for s in t.symbols where !out.contains(s) { out.append(s) } }
    return out
  }

  /// Every `guard`, regions included, in text order (compiled code reports guard k as 2 + k).
  public var guards: [Instruction] {
    var out: [Instruction] = []
    forEachInstruction { if case .guardTrue = $0.op { out.append($0) } }
    return out
  }

  /// Every guard's message, in text order.
  public var guardMessages: [String] {
    guards.map { if case .guardTrue(let m) = $0.op { return m } else { return "" } }
  }

  /// Every instruction, regions included, in textual order.
  public func forEachInstruction(_ body: (Instruction) throws -> Void) rethrows {
    func walk(_ b: Block) throws {
      for inst in b.instructions {
        try body(inst)
        for r in inst.regions { try walk(r) }
      }
    }
    try walk(self.body)
  }

  /// The function with values renumbered in order of definition (parameters first, then
  /// instruction results in textual order), unused value slots dropped, and a pad value of 0.0
  /// written as the default 0: the form the printer shows and the parser builds.
  public func canonicalized() -> Function {
    var map: [Int: Int] = [:]
    var types: [TensorType?] = []
    func def(_ v: Value) -> Value {
      if let n = map[v.id] { return Value(n) }
      map[v.id] = types.count
      types.append(type(of: v))
      return Value(types.count - 1)
    }
    func use(_ v: Value) -> Value { map[v.id].map(Value.init) ?? v }
    func walk(_ b: Block) -> Block {
      var out = b
      out.instructions = b.instructions.map { inst in
        var i = inst
        i.operands = inst.operands.map(use)
        i.results = inst.results.map(def)
        i.regions = inst.regions.map(walk)
        // A pad value of 0.0 is the default, as 0 is: the printer leaves both out.
        if case .pad(let lo, let hi, let v) = i.op, v.isPlainZero { i.op = .pad(low: lo, high: hi, value: 0) }
        return i
      }
      out.terminator = b.terminator.map(use)
      return out
    }
    var f = self
    f.parameters = parameters.map { Parameter(name: $0.name, value: def($0.value)) }
    f.body = walk(body)
    f.valueTypes = types
    return f
  }
}

/// A module: an ordered list of functions with unique names.
public struct Graph: Hashable, Sendable {
  public var functions: [Function]
  public init(functions: [Function] = []) { self.functions = functions }

  /// The function named `name`.
  public func function(named name: String) -> Function? {
    functions.first { $0.name == name }
  }

  /// Every function canonicalized.
  public func canonicalized() -> Graph {
    Graph(functions: functions.map { $0.canonicalized() })
  }
}
