// Canonical printer for `.swiftgraph` text: values renumbered in order of definition, attributes
// at their defaults left out. `parseGraph(print(g))` gives `g.canonicalized()`.

/// Options for printing.
public struct PrintOptions: Sendable {
  /// Print `loc(...)` attributes.
  public var locations: Bool
  public init(locations: Bool = true) { self.locations = locations }
}

extension Graph {
  /// The canonical text of the graph, version line included.
  public func text(_ options: PrintOptions = PrintOptions()) -> String {
    var out = "swiftgraph \(swiftgraphVersion)\n"
    for f in functions {
      out += "\n"
      out += f.text(options)
    }
    return out
  }
}

extension Function {
  /// The canonical text of one function.
  public func text(_ options: PrintOptions = PrintOptions()) -> String {
    var p = FunctionPrinter(function: self, options: options)
    return p.print()
  }
}

private func typeList(_ ts: [TensorType]) -> String {
  ts.count == 1 ? ts[0].description : "(" + ts.map(\.description).joined(separator: ", ") + ")"
}

private struct FunctionPrinter {
  let function: Function
  let options: PrintOptions
  var names: [Int: String] = [:]
  var next = 0
  var out = ""

  init(function: Function, options: PrintOptions) {
    self.function = function
    self.options = options
  }

  mutating func name(_ v: Value) -> String {
    if let n = names[v.id] { return n }
    // Only reachable for a use before its definition, which the verifier rejects.
    return "%<undefined \(v.id)>"
  }

  mutating func define(_ v: Value) -> String {
    let n = "%\(next)"
    next += 1
    names[v.id] = n
    return n
  }

  mutating func print() -> String {
    for p in function.parameters { names[p.value.id] = "%" + p.name }
    let params = function.parameters.map { p in
      "%\(p.name): " + (function.type(of: p.value)?.description ?? "?")
    }
    out += "func @\(function.name)(" + params.joined(separator: ", ") + ") -> "
    out += function.resultTypes.count == 1 ? function.resultTypes[0].description : "(" + function.resultTypes.map(\.description).joined(separator: ", ") + ")"
    out += " {\n"
    block(function.body, indent: "  ", terminator: "return")
    out += "}\n"
    return out
  }

  mutating func block(_ b: Block, indent: String, terminator: String) {
    for inst in b.instructions { instruction(inst, indent: indent) }
    out += indent + terminator
    if !b.terminator.isEmpty { out += " " + b.terminator.map { name($0) }.joined(separator: ", ") }
    out += "\n"
  }

  mutating func instruction(_ inst: Instruction, indent: String) {
    var line = indent
    let operands = inst.operands.map { name($0) }
    // Results are named after regions would be, but printed first: name them now so the
    // numbering follows textual order of definition.
    let results = inst.results.map { define($0) }
    if !results.isEmpty { line += results.joined(separator: ", ") + " = " }
    line += inst.op.mnemonic
    if case .constant(let c) = inst.op {
      line += " " + c.literal
    }
    if !operands.isEmpty { line += " " + operands.joined(separator: ", ") }
    for (k, v) in inst.op.attributes { line += " \(k)=\(v)" }
    let types = inst.results.compactMap { function.type(of: $0) }
    let typesKnown = types.count == inst.results.count && !types.isEmpty
    if inst.op.resultsDeclared {
      if typesKnown { line += " -> " + typeList(types) }
    } else if typesKnown {
      line += " : " + typeList(types)
    }
    if options.locations, let loc = inst.loc {
      func one(_ l: Location) -> String { "\(quoteString(l.file)):\(l.line)" + (l.column.map { ":\($0)" } ?? "") }
      line += loc.fused.isEmpty ? " loc(\(one(loc)))" : " loc(fused[" + loc.origins.map(one).joined(separator: ", ") + "])"
    }
    if inst.regions.isEmpty {
      out += line + "\n"
      return
    }
    out += line + " {\n"
    for (k, r) in inst.regions.enumerated() {
      if k > 0 { out += indent + "} else {\n" }
      block(r, indent: indent + "  ", terminator: "yield")
    }
    out += indent + "}\n"
  }
}

extension Constant {
  /// The literal as the `.swiftgraph` format writes it after `const`: `10.0`, `-3`, `true`,
  /// `[[1, 2], [3, 4]]` (a splat is one element).
  public var literal: String {
    let c = self
    let dtype = c.type.dtype
    func element(_ i: Int) -> String {
      switch c.data {
      case .floats(let v): return formatFloat(v[i], dtype)
      case .ints(let v): return String(v[i])
      case .bools(let v): return v[i] ? "true" : "false"
      }
    }
    if c.data.count == 1, !(c.type.staticShape.map { $0.count > 0 && ShapeMath.elementCount($0) == 1 } ?? false) {
      return element(0)
    }
    guard let shape = c.type.staticShape else { return element(0) }
    var s = ""
    var index = 0
    func nest(_ axis: Int) {
      if axis == shape.count {
        s += element(index)
        index += 1
        return
      }
      s += "["
      for k in 0..<shape[axis] {
        if k > 0 { s += ", " }
        nest(axis + 1)
      }
      s += "]"
    }
    nest(0)
    return s
  }
}
