// The verifier: the invariants every pass may rely on and must preserve.
// SSA (each value defined once, before use, visible where used), op arity and regions, every
// value typed and agreeing with its op's shape rule, yields and returns matching their types,
// and every symbol bound by a parameter.

/// Where to point a diagnostic about `inst` of `f`: its place in a parsed file, else the Swift
/// source a trace recorded, else the function.
public func diagnosticPos(_ inst: Instruction?, in f: Function) -> SourcePos {
  if let p = inst?.textPos { return p }
  if let l = inst?.loc { return SourcePos(file: l.file, line: l.line, column: l.column ?? 1) }
  return f.textPos ?? SourcePos(file: "@\(f.name)", line: 0, column: 0)
}

/// The C symbols a compiled function exports (docs/abi.md): `nnc_NAME` (typed entry),
/// `nnc_NAME_packed` (the same with buffers and sizes in arrays), and the forms of both that take
/// the caller's workspace (`_with_workspace`) or say how large it must be (`_workspace_size`),
/// with every character of NAME that C does not allow ('.') as '_'.
public struct CEntrySymbols: Equatable, Sendable {
  /// The suffix of the entries that take a caller-provided workspace.
  public static let withWorkspaceSuffix = "_with_workspace"
  /// The suffix of the functions that return the workspace's byte size.
  public static let workspaceSizeSuffix = "_workspace_size"

  /// `int32_t nnc_NAME(in..., out..., int64_t SYM...)`: allocates its workspace.
  public var typed: String
  /// `int32_t nnc_NAME_packed(void *const *buffers, const int64_t *sizes)`: allocates its workspace.
  public var packed: String
  /// `int32_t nnc_NAME_with_workspace(in..., out..., void *workspace, int64_t SYM...)`.
  public var typedWithWorkspace: String
  /// `int32_t nnc_NAME_packed_with_workspace(void *const *buffers, const int64_t *sizes, void *workspace)`.
  public var packedWithWorkspace: String
  /// `int64_t nnc_NAME_workspace_size(int64_t SYM...)`.
  public var typedWorkspaceSize: String
  /// `int64_t nnc_NAME_packed_workspace_size(const int64_t *sizes)`.
  public var packedWorkspaceSize: String

  /// The symbols of function `name`.
  public init(_ name: String) {
    let safe = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
    typed = "nnc_" + safe
    packed = typed + "_packed"
    typedWithWorkspace = typed + Self.withWorkspaceSuffix
    packedWithWorkspace = packed + Self.withWorkspaceSuffix
    typedWorkspaceSize = typed + Self.workspaceSizeSuffix
    packedWorkspaceSize = packed + Self.workspaceSizeSuffix
  }

  /// Every exported symbol, typed forms first.
  public var all: [String] { [typed, packed, typedWithWorkspace, packedWithWorkspace, typedWorkspaceSize, packedWorkspaceSize] }
}

extension Graph {
  /// Checks every function; throws the first problem found. Besides each function's
  /// invariants: function names are unique, and no two functions export one C symbol (`@a.b`
  /// and `@a_b`, or `@f` and `@f_packed`, `@f_with_workspace` or `@f_workspace_size`), which a
  /// compiled object could not hold.
  public func verify() throws(Diagnostic) {
    var seen: Set<String> = []
    var exporter: [String: String] = [:]
    for f in functions {
      guard seen.insert(f.name).inserted else {
        throw Diagnostic(diagnosticPos(nil, in: f), "redefinition of function @\(f.name)")
      }
      for c in CEntrySymbols(f.name).all {
        if let other = exporter[c] {
          throw Diagnostic(
            diagnosticPos(nil, in: f), "functions @\(other) and @\(f.name) both export the C symbol \(c); rename one of them")
        }
        exporter[c] = f.name
      }
      try f.verify()
    }
  }
}

extension Function {
  /// Checks the function's invariants; throws the first problem found.
  public func verify() throws(Diagnostic) {
    var v = FunctionVerifier(f: self)
    try v.run()
  }
}

private struct FunctionVerifier {
  let f: Function
  var defined: Set<Int> = []
  var scopes: [Set<Int>] = [[]]
  var bound: Set<String> = []
  let names: [Int: String]

  init(f: Function) {
    self.f = f
    names = f.displayNames()
  }

  func name(_ v: Value) -> String { names[v.id] ?? "%<\(v.id)>" }

  func fail(_ inst: Instruction?, _ message: String) -> Diagnostic {
    Diagnostic(diagnosticPos(inst, in: f), message)
  }

  func typeOf(_ v: Value, _ inst: Instruction?) throws(Diagnostic) -> TensorType {
    guard let t = f.type(of: v) else {
      throw fail(inst, "value \(name(v)) has no type (run shape inference first)")
    }
    return t
  }

  mutating func define(_ v: Value, _ inst: Instruction?) throws(Diagnostic) {
    guard v.id >= 0 && v.id < f.valueTypes.count else { throw fail(inst, "value \(name(v)) is out of range") }
    guard defined.insert(v.id).inserted else { throw fail(inst, "value \(name(v)) is defined twice") }
    scopes[scopes.count - 1].insert(v.id)
    let t = try typeOf(v, inst)
    for s in t.symbols where !bound.contains(s) {
      throw fail(inst, "symbol \(s) in \(t) is not bound by any parameter of @\(f.name)")
    }
  }

  func use(_ v: Value, _ inst: Instruction?) throws(Diagnostic) {
    guard defined.contains(v.id) else { throw fail(inst, "use of undefined value \(name(v))") }
    guard scopes.contains(where: { $0.contains(v.id) }) else {
      throw fail(inst, "value \(name(v)) is defined inside a region and is not visible here")
    }
  }

  /// A `fused` instruction's region computes from the fused op's operands alone: every outer
  /// value it reads is an operand, every operand is read, operands are distinct, and its ops
  /// have no regions and no effects (a kernel runs its region for every element, unconditionally).
  func fusedBody(_ inst: Instruction) throws(Diagnostic) {
    guard let body = inst.regions.first else { return }
    var seen: Set<Int> = []
    for v in inst.operands where !seen.insert(v.id).inserted {
      throw fail(inst, "fused: operand \(name(v)) is listed twice")
    }
    var inner: Set<Int> = []
    var read: Set<Int> = []
    func reads(_ v: Value, _ at: Instruction?) throws(Diagnostic) {
      if inner.contains(v.id) { return }
      guard seen.contains(v.id) else {
        throw fail(at ?? inst, "fused: the body reads \(name(v)), which is not an operand of the fused op")
      }
      read.insert(v.id)
    }
    for b in body.instructions {
      guard b.regions.isEmpty && !b.op.hasSideEffects else {
        throw fail(b, "fused: the body may not contain \(b.op.mnemonic) (no regions or effects inside a fused kernel)")
      }
      for v in b.operands { try reads(v, b) }
      for r in b.results { inner.insert(r.id) }
    }
    for v in body.terminator { try reads(v, nil) }
    if let unused = inst.operands.first(where: { !read.contains($0.id) }) {
      throw fail(inst, "fused: operand \(name(unused)) is not read by the body")
    }
  }

  mutating func run() throws(Diagnostic) {
    guard Identifier.isValid(f.name) else {
      throw fail(nil, "bad function name '\(f.name)' (a name is [A-Za-z_][A-Za-z0-9_.]*)")
    }
    var names: Set<String> = []
    for p in f.parameters {
      guard Identifier.isValid(p.name) else {
        throw fail(nil, "bad parameter name '\(p.name)' (a name is [A-Za-z_][A-Za-z0-9_.]*)")
      }
      guard names.insert(p.name).inserted else { throw fail(nil, "duplicate parameter name %\(p.name)") }
      for s in try typeOf(p.value, nil).symbols { bound.insert(s) }
    }
    for p in f.parameters { try define(p.value, nil) }
    for t in f.resultTypes {
      for s in t.symbols where !bound.contains(s) {
        throw fail(nil, "symbol \(s) in result type \(t) is not bound by any parameter of @\(f.name)")
      }
    }
    try block(f.body, expected: f.resultTypes, owner: nil, what: "return")
  }

  /// Checks `b`, whose terminator (`what`: return or yield) must give values of `expected` types.
  mutating func block(_ b: Block, expected: [TensorType], owner: Instruction?, what: String) throws(Diagnostic) {
    for inst in b.instructions { try instruction(inst) }
    let at: Instruction? = b.terminatorPos.map { Instruction(op: .select, operands: [], results: [], textPos: $0) } ?? owner
    for v in b.terminator { try use(v, at) }
    guard b.terminator.count == expected.count else {
      throw fail(at, "\(what) has \(b.terminator.count) value\(b.terminator.count == 1 ? "" : "s"), expected \(expected.count)")
    }
    for (k, v) in b.terminator.enumerated() {
      let t = try typeOf(v, at)
      guard t == expected[k] else {
        throw fail(at, "\(what) value \(k) has type \(t), expected \(expected[k])")
      }
    }
  }

  mutating func instruction(_ inst: Instruction) throws(Diagnostic) {
    let name = inst.op.mnemonic
    for v in inst.operands { try use(v, inst) }
    guard inst.op.arity.admits(inst.operands.count) else {
      throw fail(inst, "\(name): expects \(inst.op.arity), got \(inst.operands.count)")
    }
    guard inst.regions.count == inst.op.regionCount else {
      throw fail(inst, "\(name): expects \(inst.op.regionCount) regions, got \(inst.regions.count)")
    }
    var operandTypes: [TensorType] = []
    for v in inst.operands { operandTypes.append(try typeOf(v, inst)) }
    if inst.op.resultsDeclared {
      if case .fused = inst.op {
        try fusedBody(inst)
      } else if operandTypes[0] != .scalar(.bool) {
        throw fail(inst, "\(name): predicate must be bool[], got \(operandTypes[0])")
      }
      var declared: [TensorType] = []
      for r in inst.results { declared.append(try typeOf(r, inst)) }
      for r in inst.regions {
        scopes.append([])
        try block(r, expected: declared, owner: inst, what: "yield")
        scopes.removeLast()
      }
    } else {
      let expected: [TensorType]
      do {
        expected = try inst.op.resultTypes(for: operandTypes)
      } catch {
        throw fail(inst, "\(name): \(error.message)")
      }
      guard expected.count == inst.results.count else {
        throw fail(inst, "\(name): has \(expected.count) results, \(inst.results.count) given")
      }
      for (k, r) in inst.results.enumerated() {
        let t = try typeOf(r, inst)
        guard t == expected[k] else {
          throw fail(inst, "\(name): result type \(t) does not match the inferred \(expected[k])")
        }
      }
    }
    for r in inst.results { try define(r, inst) }
  }
}
