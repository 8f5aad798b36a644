// Graphviz DOT pictures of the IR (`nnc dot`): instructions as nodes, values as edges labelled
// with their types, parameters and results as nodes of their own, every instruction that owns
// regions (`cond` today) as a cluster holding one cluster per region.

/// How `Graph.dot(_:)` draws a graph.
public struct DotOptions: Sendable {
  /// Give each instruction its source location as a tooltip: its `loc(...)` when it has one
  /// (each origin of a fused location on a line of its own), else where it stood in the parsed
  /// file.
  public var tooltips: Bool
  /// The most characters of an attribute (or a constant's literal) a node's label shows; a
  /// longer one is cut and ends with `…`.
  public var maxAttributeLength: Int

  public init(tooltips: Bool = true, maxAttributeLength: Int = 40) {
    self.tooltips = tooltips
    self.maxAttributeLength = maxAttributeLength
  }
}

extension Graph {
  /// The graph as a Graphviz `digraph`, ready for `dot -Tsvg`.
  ///
  /// - Each function is a cluster labelled `@name`.
  /// - Each parameter is an ellipse labelled with its name and type; each result of the
  ///   function is an ellipse `result K` with its type; each instruction is a box labelled with
  ///   its op's mnemonic and its attributes as `nnc dump` prints them (defaults left out), one
  ///   per line; a `const` shows its literal. Guards are octagons.
  /// - Each use of a value is an edge from the node that defines it to the node that uses it,
  ///   labelled with the value's type (`f32[N,784]`), prefixed by `#K` when the definer has
  ///   several results; when the user has several operands, the operand's position is the
  ///   edge's head label. An edge's tooltip is the value's name as `nnc dump` prints it.
  /// - An instruction with regions is a dashed cluster holding its own node and one cluster per
  ///   region (labelled `then` and `else` for `cond`, `region K` otherwise); each region ends
  ///   in a `yield` node that the yielded values flow into and that flows (dashed) into the
  ///   instruction's node, whose out-edges are its results.
  ///
  /// Node and cluster names are made from positions (`f0_p1`, parameter 1 of function 0;
  /// `f0_i3`, the fourth instruction of function 0 in text order, regions included; `f0_r0`;
  /// `f0_i3_y1`, the yield of its second region), never from names in the graph, so the same
  /// graph always gives the same text and every name in the graph is only ever inside a quoted
  /// string (`dotQuoted(_:tooltip:)`).
  public func dot(_ options: DotOptions = DotOptions()) -> String {
    var writer = DotWriter(options: options)
    return writer.write(self)
  }
}

/// `s` as a DOT quoted string that Graphviz shows as `s`: `"` and `\` are escaped (so nothing
/// in `s` can end the string or form one of Graphviz's escapes such as `\N`, the node's name),
/// a line feed becomes `\n` (a line break), other control characters are shown as `\u{X}`,
/// and `&` is written `&amp;` (Graphviz reads `&name;` as an HTML entity, and copies
/// entity-like text into SVG tooltips unescaped, so a literal `&` must be an entity itself).
/// Graphviz expands escapes in a `tooltip` twice (`\\N` in a tooltip shows the node's name),
/// so a backslash in a tooltip (`tooltip: true`) is written as four.
public func dotQuoted(_ s: String, tooltip: Bool = false) -> String {
  let backslash = tooltip ? #"\\\\"# : #"\\"#
  var out = "\""
  for ch in s.unicodeScalars {
    switch ch {
    case "\"": out += "\\\""
    case "\\": out += backslash
    case "\n": out += "\\n"
    case "&": out += "&amp;"
    default:
      let v = ch.value
      if (v < 0x20 && ch != "\t") || (0x7F...0x9F).contains(v) {
        out += backslash + "u{" + String(v, radix: 16) + "}"
      } else {
        out.unicodeScalars.append(ch)
      }
    }
  }
  return out + "\""
}

/// Writes one graph; nodes go inside their clusters, edges after every cluster (an edge
/// written inside a cluster would pull its nodes into it).
private struct DotWriter {
  let options: DotOptions
  var out = ""
  var edges: [String] = []

  init(options: DotOptions) { self.options = options }

  mutating func write(_ graph: Graph) -> String {
    out += "digraph swiftgraph {\n"
    out += "  graph [fontname=\"Helvetica\", fontsize=11];\n"
    out += "  node [fontname=\"Helvetica\", fontsize=10, shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\"];\n"
    out += "  edge [fontname=\"Helvetica\", fontsize=9, labelfontsize=8, labelfontcolor=\"#777777\"];\n"
    for (k, f) in graph.functions.enumerated() {
      var w = FunctionDotWriter(function: f, prefix: "f\(k)", options: options)
      w.write()
      out += w.out
      edges += w.edges
    }
    for e in edges { out += "  " + e + "\n" }
    out += "}\n"
    return out
  }
}

private struct FunctionDotWriter {
  let function: Function
  let prefix: String
  let options: DotOptions
  let names: [Int: String]
  var out = ""
  var edges: [String] = []
  /// The node defining each value, and its result index and count.
  var definer: [Int: (node: String, index: Int, count: Int)] = [:]
  var nextInstruction = 0

  init(function: Function, prefix: String, options: DotOptions) {
    self.function = function
    self.prefix = prefix
    self.options = options
    self.names = function.displayNames()
  }

  mutating func write() {
    out += "  subgraph cluster_\(prefix) {\n"
    out += "    label=\(dotQuoted("@" + function.name));\n"
    for (k, p) in function.parameters.enumerated() {
      let node = "\(prefix)_p\(k)"
      definer[p.value.id] = (node, 0, 1)
      let type = function.type(of: p.value)?.description ?? "?"
      out += "    \(node) [label=\(dotQuoted("%" + p.name + "\n" + type)), shape=ellipse, fillcolor=\"#dce9f7\"];\n"
    }
    block(function.body, indent: "    ")
    for (k, v) in function.body.terminator.enumerated() {
      let node = "\(prefix)_r\(k)"
      let type = k < function.resultTypes.count ? function.resultTypes[k].description : "?"
      out += "    \(node) [label=\(dotQuoted("result \(k)\n" + type)), shape=ellipse, fillcolor=\"#dcf2dc\"];\n"
      use(v, by: node, operand: k, of: 1)
    }
    out += "  }\n"
  }

  mutating func block(_ b: Block, indent: String) {
    for inst in b.instructions { instruction(inst, indent: indent) }
  }

  mutating func instruction(_ inst: Instruction, indent: String) {
    let node = "\(prefix)_i\(nextInstruction)"
    nextInstruction += 1
    var attrs = "label=" + dotQuoted(label(inst.op).joined(separator: "\n"))
    if case .guardTrue = inst.op { attrs += ", shape=octagon, style=filled, fillcolor=\"#f9dede\"" }
    if !inst.regions.isEmpty { attrs += ", shape=diamond, style=filled, fillcolor=\"#fff4d6\"" }
    // A fused location (an instruction that passes made from several) lists each origin on a line.
    if options.tooltips,
      let place = inst.loc.map({ $0.origins.map(\.description).joined(separator: "\n") }) ?? inst.textPos?.description
    {
      attrs += ", tooltip=" + dotQuoted(place, tooltip: true)
    }
    for v in inst.operands.indices { use(inst.operands[v], by: node, operand: v, of: inst.operands.count) }
    if inst.regions.isEmpty {
      out += indent + "\(node) [\(attrs)];\n"
    } else {
      // The regions' yields flow into the instruction's node, which defines its results.
      out += indent + "subgraph cluster_\(node) {\n"
      out += indent + "  label=\"\"; style=\"dashed,rounded\"; color=\"#999999\";\n"
      for (k, region) in inst.regions.enumerated() {
        let yield = "\(node)_y\(k)"
        out += indent + "  subgraph cluster_\(node)_\(k) {\n"
        out += indent + "    label=\(dotQuoted(regionName(inst.op, k))); style=rounded; color=\"#666666\";\n"
        block(region, indent: indent + "    ")
        out += indent + "    \(yield) [label=\"yield\", shape=invtrapezium];\n"
        out += indent + "  }\n"
        for (j, v) in region.terminator.enumerated() { use(v, by: yield, operand: j, of: region.terminator.count) }
        edges.append("\(yield) -> \(node) [style=dashed];")
      }
      out += indent + "  \(node) [\(attrs)];\n"
      out += indent + "}\n"
    }
    for (k, r) in inst.results.enumerated() { definer[r.id] = (node, k, inst.results.count) }
  }

  /// An edge for one use of `v`: operand `operand` of `count` of `node`.
  mutating func use(_ v: Value, by node: String, operand: Int, of count: Int) {
    // An unverified function may use a value it never defines; such a use has no edge.
    guard let d = definer[v.id] else { return }
    var label = function.type(of: v)?.description ?? "?"
    if d.count > 1 { label = "#\(d.index) " + label }
    var attrs = "label=" + dotQuoted(label)
    if count > 1 { attrs += ", headlabel=\"\(operand)\"" }
    if let name = names[v.id] { attrs += ", tooltip=" + dotQuoted(name, tooltip: true) }
    edges.append("\(d.node) -> \(node) [\(attrs)];")
  }

  /// The node label's lines: the mnemonic (with a constant's literal), then the attributes.
  func label(_ op: Op) -> [String] {
    var first = op.mnemonic
    if case .constant(let c) = op { first += " " + clipped(c.literal) }
    return [first] + op.attributes.map { clipped("\($0.0)=\($0.1)") }
  }

  func clipped(_ s: String) -> String {
    s.count <= options.maxAttributeLength ? s : String(s.prefix(max(0, options.maxAttributeLength - 1))) + "…"
  }

  func regionName(_ op: Op, _ k: Int) -> String {
    if case .cond = op { return k == 0 ? "then" : "else" }
    if case .fused = op { return "fused kernel" }
    return "region \(k)"
  }
}
