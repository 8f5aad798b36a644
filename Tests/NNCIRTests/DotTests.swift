// Graphviz pictures of the IR: the DOT text of a small graph with a cond, escaping of hostile
// names, and `nnc dot` end to end (every sample rendered by Graphviz's `dot`, errors, options).

import Foundation
import FoundationXML
import NNCIR
import NNCPasses
import NNCTestSupport
import Testing

/// Graphviz's `dot` on the PATH, if any.
private let graphvizDot: URL? = {
  for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
    let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("dot")
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
      FileManager.default.isExecutableFile(atPath: url.path)
    {
      return url
    }
  }
  return nil
}()

/// Tests that need Graphviz run when it is installed, and also under CI (where they fail without
/// it: .ci/run installs it); elsewhere they are skipped.
private let needsGraphviz = ConditionTrait.enabled(
  if: graphvizDot != nil || ProcessInfo.processInfo.environment["CI"] != nil,
  "Graphviz's dot is not installed (apt-get install graphviz); set CI to make this a failure")

/// Graphviz's `dot`, or a failure saying why it is needed.
private func requireGraphviz() throws -> URL {
  try #require(graphvizDot, "Graphviz's dot is not installed and CI is set: .ci/run installs it (apt-get install graphviz)")
}

/// The nodes Graphviz should draw for `graph`: parameters, instructions (regions included), one
/// yield per region, results.
private func expectedNodeCount(_ graph: Graph) -> Int {
  var n = 0
  for f in graph.functions {
    n += f.parameters.count + f.body.terminator.count
    f.forEachInstruction { n += 1 + $0.regions.count }
  }
  return n
}

private struct SVGError: Error {
  var message: String
}

/// The texts and tooltips of an SVG, parsed as XML (so a malformed file is an error).
private final class SVGText: NSObject, XMLParserDelegate {
  var texts: [String] = []
  var titles: [String] = []
  var nodes = 0
  private var inText = false
  private var current = ""

  init(_ data: Data) throws {
    super.init()
    let parser = XMLParser(data: data)
    parser.delegate = self
    guard parser.parse() else {
      throw SVGError(message: "the SVG is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
    }
  }

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
    attributes: [String: String] = [:]
  ) {
    if name == "text" {
      inText = true
      current = ""
    }
    if name == "g", attributes["class"] == "node" { nodes += 1 }
    if let t = attributes["xlink:title"] { titles.append(t) }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if inText { current += string }
  }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
    if name == "text" {
      texts.append(current)
      inText = false
    }
  }
}

/// Renders DOT text to SVG with Graphviz.
private func renderSVG(_ dot: String, with graphviz: URL) throws -> (ExecutableResult, Data) {
  let dir = ScratchDirectory()
  try dir.write("g.dot", dot)
  let r = try runExecutable(graphviz, ["-Tsvg", "g.dot", "-o", "g.svg"], in: dir.url)
  return (r, dir.exists("g.svg") ? Data(try dir.bytes("g.svg")) : Data())
}

@Suite struct DotTests {
  static let condGraph = """
    swiftgraph 1
    func @f(%p: bool[], %x: f32[N,4]) -> (f32[N,4], f32[]) {
      %a, %s = cond %p -> (f32[N,4], f32[]) {
        %n = neg %x loc("model.swift":7:3)
        %t = reduce_sum %n axes=[0,1]
        yield %n, %t
      } else {
        %z = const 0.0 : f32[]
        yield %x, %z
      }
      %m = max %a, %s
      return %m, %s
    }

    """

  @Test func condGraphGivesThisText() throws {
    let graph = try loadGraph(Self.condGraph, file: "c.swiftgraph")
    #expect(
      graph.dot() == #"""
        digraph swiftgraph {
          graph [fontname="Helvetica", fontsize=11];
          node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", fillcolor="#f4f4f4"];
          edge [fontname="Helvetica", fontsize=9, labelfontsize=8, labelfontcolor="#777777"];
          subgraph cluster_f0 {
            label="@f";
            f0_p0 [label="%p\nbool[]", shape=ellipse, fillcolor="#dce9f7"];
            f0_p1 [label="%x\nf32[N,4]", shape=ellipse, fillcolor="#dce9f7"];
            subgraph cluster_f0_i0 {
              label=""; style="dashed,rounded"; color="#999999";
              subgraph cluster_f0_i0_0 {
                label="then"; style=rounded; color="#666666";
                f0_i1 [label="neg", tooltip="model.swift:7:3"];
                f0_i2 [label="reduce_sum\naxes=[0,1]", tooltip="c.swiftgraph:5:10"];
                f0_i0_y0 [label="yield", shape=invtrapezium];
              }
              subgraph cluster_f0_i0_1 {
                label="else"; style=rounded; color="#666666";
                f0_i3 [label="const 0.0", tooltip="c.swiftgraph:8:10"];
                f0_i0_y1 [label="yield", shape=invtrapezium];
              }
              f0_i0 [label="cond", shape=diamond, style=filled, fillcolor="#fff4d6", tooltip="c.swiftgraph:3:12"];
            }
            f0_i4 [label="max", tooltip="c.swiftgraph:11:8"];
            f0_r0 [label="result 0\nf32[N,4]", shape=ellipse, fillcolor="#dcf2dc"];
            f0_r1 [label="result 1\nf32[]", shape=ellipse, fillcolor="#dcf2dc"];
          }
          f0_p0 -> f0_i0 [label="bool[]", tooltip="%p"];
          f0_p1 -> f0_i1 [label="f32[N,4]", tooltip="%x"];
          f0_i1 -> f0_i2 [label="f32[N,4]", tooltip="%2"];
          f0_i1 -> f0_i0_y0 [label="f32[N,4]", headlabel="0", tooltip="%2"];
          f0_i2 -> f0_i0_y0 [label="f32[]", headlabel="1", tooltip="%3"];
          f0_i0_y0 -> f0_i0 [style=dashed];
          f0_p1 -> f0_i0_y1 [label="f32[N,4]", headlabel="0", tooltip="%x"];
          f0_i3 -> f0_i0_y1 [label="f32[]", headlabel="1", tooltip="%4"];
          f0_i0_y1 -> f0_i0 [style=dashed];
          f0_i0 -> f0_i4 [label="#0 f32[N,4]", headlabel="0", tooltip="%0"];
          f0_i0 -> f0_i4 [label="#1 f32[]", headlabel="1", tooltip="%1"];
          f0_i4 -> f0_r0 [label="f32[N,4]", tooltip="%5"];
          f0_i0 -> f0_r1 [label="#1 f32[]", tooltip="%1"];
        }

        """#)
  }

  @Test func regionsAreClustersAndEveryUseIsATypedEdge() throws {
    let graph = try loadGraph(Self.condGraph, file: "c.swiftgraph")
    let text = graph.dot()
    let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    // One cluster per function, per instruction with regions, per region.
    #expect(lines.filter { $0.hasPrefix("subgraph cluster_") }.count == 4)
    #expect(lines.contains("label=\"then\"; style=rounded; color=\"#666666\";"))
    #expect(lines.contains("label=\"else\"; style=rounded; color=\"#666666\";"))
    // An edge per use: operands, yields, results, and a dashed edge per region.
    var uses = 0
    graph.functions[0].forEachInstruction { uses += $0.operands.count + $0.regions.map(\.terminator.count).reduce(0, +) }
    uses += graph.functions[0].body.terminator.count
    let edges = lines.filter { $0.contains(" -> ") }
    #expect(edges.count == uses + 2)
    #expect(edges.filter { $0.contains("label=\"") }.count == uses)
    // Without tooltips, no location appears anywhere.
    let plain = graph.dot(DotOptions(tooltips: false))
    #expect(!plain.contains("model.swift") && !plain.contains("c.swiftgraph"))
    // Deterministic: the same graph, and its printed and reloaded form, give the same text.
    #expect(graph.dot() == text)
    let reloaded = try loadGraph(graph.text(), file: "c.swiftgraph")
    #expect(reloaded.dot(DotOptions(tooltips: false)) == plain)
  }

  @Test func longAttributesAreClipped() throws {
    let graph = try loadGraph(
      """
      swiftgraph 1
      func @f(%x: f32[2]) -> f32[2] {
        %c = const [1.5, 2.5] : f32[2]
        %y = add %x, %c
        %ok = const true : bool[]
        guard %ok message="0123456789"
        return %y
      }
      """, file: "g.swiftgraph")
    let text = graph.dot(DotOptions(maxAttributeLength: 8))
    #expect(text.contains(#"label="const [1.5, 2…""#))
    #expect(text.contains(#"label="guard\nmessage…", shape=octagon"#))
  }

  @Test func aFusedLocationShowsEveryOrigin() throws {
    var b = FunctionBuilder(name: "f")
    let x = b.parameter("x", .init(.f32, [2]))
    let fused = Location.fusing(Location(file: "a.swift", line: 1), Location(file: "b.swift", line: 2, column: 3))
    let y = try b.add(.unary(.neg), x, loc: fused)
    let text = Graph(functions: [b.finish(returning: [y])]).dot()
    #expect(text.contains(#"f0_i0 [label="neg", tooltip="a.swift:1\nb.swift:2:3"];"#))
  }

  @Test func quotingEscapesWhatCouldBreakTheFile() {
    #expect(dotQuoted("plain %x") == #""plain %x""#)
    #expect(dotQuoted(#"a"b\c"#) == #""a\"b\\c""#)
    #expect(dotQuoted("line\nbreak\ttab") == "\"line\\nbreak\ttab\"")
    #expect(dotQuoted("\u{1}\u{7F}") == #""\\u{1}\\u{7f}""#)
    #expect(dotQuoted("&lt; & <b>") == #""&amp;lt; &amp; <b>""#)
    #expect(dotQuoted(#"\N"#, tooltip: true) == #""\\\\N""#)
    #expect(dotQuoted("ünï ✓ 😀") == "\"ünï ✓ 😀\"")
  }

  /// Names no label should trip on: quotes, backslashes before Graphviz escape letters, line
  /// feeds, control characters, entity-like text, markup.
  static let hostile = #"q" b\ \N\G\E\l nl\#n ctl\#u{1}\#u{7F} &lt; &bogus; <tag> ü ✓ 😀"#

  @Test(needsGraphviz) func hostileNamesReachThePictureAsWritten() throws {
    let graphviz = try requireGraphviz()
    var b = FunctionBuilder(name: "f")
    let x = b.parameter("x", .init(.f32, [2]))
    let ok = try b.add(.constant(Constant(type: .scalar(.bool), data: .bools([true]))))
    try b.emit(.guardTrue(message: Self.hostile), [ok], loc: Location(file: Self.hostile, line: 3, column: 4))
    let y = try b.add(.unary(.neg), x, loc: Location(file: Self.hostile, line: 5))
    let graph = Graph(functions: [b.finish(returning: [y])])
    let (r, svg) = try renderSVG(graph.dot(DotOptions(maxAttributeLength: 1000)), with: graphviz)
    #expect(r.status == 0, "\(r.stderr)")
    let parsed = try SVGText(svg)
    #expect(parsed.nodes == 5)
    // Tooltips show the text as it is, but for control characters, shown as escapes.
    let shownFile = #"q" b\ \N\G\E\l nl\#n ctl\u{1}\u{7f} &lt; &bogus; <tag> ü ✓ 😀"#
    #expect(parsed.titles.contains(shownFile + ":3:4"), "\(parsed.titles)")
    #expect(parsed.titles.contains(shownFile + ":5"), "\(parsed.titles)")
    // The label shows the attribute as the text format writes it, the line feed as a break.
    let shown = Op.guardTrue(message: Self.hostile).attributes[0].1.description
    #expect(parsed.texts.contains("message=" + shown), "\(parsed.texts)")
  }

  // MARK: - the CLI

  @Test(needsGraphviz) func everySampleRendersWithGraphviz() throws {
    let graphviz = try requireGraphviz()
    let models = packageRoot.appendingPathComponent("Samples/models")
    let names = try FileManager.default.contentsOfDirectory(atPath: models.path).filter { $0.hasSuffix(".swiftgraph") }.sorted()
    #expect(names.count >= 3)
    for name in names {
      let dir = ScratchDirectory()
      let path = models.appendingPathComponent(name).path
      let r = try NNCBinary.run(["dot", path, "-o", dir.path("g.dot")])
      #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(name): \(r.stderr)")
      let svg = try runExecutable(graphviz, ["-Tsvg", "g.dot", "-o", "g.svg"], in: dir.url)
      #expect(svg.status == 0, "\(name): dot -Tsvg: \(svg.stderr)")
      // `nnc dot` draws what the default pipeline leaves, as `nnc dump` prints it.
      var graph = try loadGraph(try Data(contentsOf: URL(fileURLWithPath: path)).map { $0 }, file: path)
      try PassManager(passes: Passes.defaultPipeline).run(&graph)
      let parsed = try SVGText(Data(try dir.bytes("g.svg")))
      #expect(parsed.nodes == expectedNodeCount(graph), "\(name)")
      #expect(parsed.nodes > 0, "\(name)")
    }
  }

  /// The README shows docs/images/select_branch.svg and the command that made it; the picture
  /// must still have a node for everything `nnc dot` draws today.
  @Test func readmePictureIsCurrent() throws {
    let command = "swift run nnc dot Samples/models/select_branch.swiftgraph | dot -Tsvg -o docs/images/select_branch.svg"
    let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    #expect(readme.contains(command) && readme.contains("](docs/images/select_branch.svg)"))
    let path = "Samples/models/select_branch.swiftgraph"
    var graph = try loadGraph(Array(try Data(contentsOf: packageRoot.appendingPathComponent(path))), file: path)
    try PassManager(passes: Passes.defaultPipeline).run(&graph)
    let svg = try SVGText(try Data(contentsOf: packageRoot.appendingPathComponent("docs/images/select_branch.svg")))
    #expect(svg.nodes == expectedNodeCount(graph))
    #expect(svg.texts.contains("then") && svg.texts.contains("else") && svg.texts.contains("f32[3,5]"))
  }

  @Test func writesWhatTheLibraryDrawsToStandardOutput() throws {
    let path = "Samples/models/select_branch.swiftgraph"
    let r = try NNCBinary.run(["dot", path])
    #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
    var graph = try loadGraph(Array(try Data(contentsOf: packageRoot.appendingPathComponent(path))), file: path)
    try PassManager(passes: Passes.defaultPipeline).run(&graph)
    #expect(r.stdout == graph.dot())
    #expect(r.stdout.contains("label=\"then\"") && r.stdout.contains("label=\"f32[3,5]\""))

    let stdin = try NNCBinary.run(["dot", "-", "--no-locations"], stdin: CLITests.selectBranch)
    #expect(stdin.status == 0)
    #expect(stdin.stdout == graph.dot(DotOptions(tooltips: false)))

    // --passes=none draws the file as written.
    let dir = ScratchDirectory()
    try dir.write("m.swiftgraph", CLITests.messy)
    let none = try NNCBinary.run(["dot", "m.swiftgraph", "--passes=none"], in: dir.url)
    #expect(none.status == 0)
    #expect(none.stdout == (try loadGraph(CLITests.messy, file: "m.swiftgraph")).dot())
  }

  @Test func passesRunAsInDump() throws {
    let dir = ScratchDirectory()
    try dir.write("m.swiftgraph", CLITests.messy)
    let r = try NNCBinary.run(["dot", "m.swiftgraph", "--passes=cse,dce", "--verify-each", "-o", "m.dot"], in: dir.url)
    #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r.stderr)")
    var graph = try loadGraph(CLITests.messy, file: "m.swiftgraph")
    try PassManager(passes: try Passes.pipeline("cse,dce"), verifyEach: true).run(&graph)
    #expect(String(decoding: try dir.bytes("m.dot"), as: UTF8.self) == graph.dot())
    // Two exps became one and the unused neg is gone: x, exp, add, the result.
    #expect(expectedNodeCount(graph) == 4)

    let bad = try NNCBinary.run(["dot", "m.swiftgraph", "--passes=cse,nope"], in: dir.url)
    #expect(bad.status != 0 && bad.stdout.isEmpty)
    #expect(bad.stderr.contains("unknown pass 'nope' (known passes: "))
  }

  @Test func drawsOneFunctionWhenAsked() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "two.swiftgraph",
      """
      swiftgraph 1
      func @a(%x: f32[2]) -> f32[2] {
        return %x
      }
      func @b(%x: f32[2]) -> f32[2] {
        %y = neg %x
        return %y
      }
      """)
    let r = try NNCBinary.run(["dot", "two.swiftgraph", "--function", "b"], in: dir.url)
    #expect(r.status == 0)
    #expect(r.stdout.contains("label=\"@b\"") && !r.stdout.contains("label=\"@a\""))
    let all = try NNCBinary.run(["dot", "two.swiftgraph"], in: dir.url)
    #expect(all.stdout.contains("subgraph cluster_f0 {") && all.stdout.contains("subgraph cluster_f1 {"))
    let missing = try NNCBinary.run(["dot", "two.swiftgraph", "--function", "c"], in: dir.url)
    #expect(missing.status == 1)
    #expect(missing.stderr == "error: two.swiftgraph has no function @c; it has @a, @b\n")
  }

  @Test func errorsAreLocatedAndFail() throws {
    let dir = ScratchDirectory()
    let missing = try NNCBinary.run(["dot", "nope.swiftgraph"], in: dir.url)
    #expect(missing.status == 1 && missing.stdout.isEmpty)
    #expect(missing.stderr == "nope.swiftgraph: error: no such file\n")

    try dir.write("bad.swiftgraph", CLITests.badMatmul)
    let bad = try NNCBinary.run(["dot", "bad.swiftgraph", "-o", "bad.dot"], in: dir.url)
    #expect(bad.status == 1 && bad.stdout.isEmpty)
    #expect(bad.stderr.hasPrefix("bad.swiftgraph:3:8: error: matmul: inner dims differ: f32[3,4] x f32[5,6]\n"))
    #expect(!dir.exists("bad.dot"))

    try dir.write("ok.swiftgraph", CLITests.selectBranch)
    let noDir = try NNCBinary.run(["dot", "ok.swiftgraph", "-o", "no/such/dir/g.dot"], in: dir.url)
    #expect(noDir.status == 1 && noDir.stdout.isEmpty)
    #expect(noDir.stderr == "error: cannot write no/such/dir/g.dot: No such file or directory\n")

    let notAFile = try NNCBinary.run(["dot", "ok.swiftgraph", "-o", "out/"], in: dir.url)
    #expect(notAFile.status != 0)
    #expect(notAFile.stderr.contains("-o/--output: 'out/' is not a file name"))
  }

  @Test func helpDescribesTheCommand() throws {
    let top = try NNCBinary.run(["--help"])
    #expect(top.stdout.contains("dot") && top.stdout.contains("Graphviz"))
    let help = try NNCBinary.run(["dot", "--help"])
    #expect(help.status == 0)
    for flag in ["<file>", "--passes", "--verify-each", "--remarks", "--output", "-o", "--function", "--no-locations", "dot -Tsvg"] {
      #expect(help.stdout.contains(flag), "nnc dot --help does not mention \(flag)")
    }
  }
}
