// `nnc dot`: a Graphviz picture of a file's IR, after optional passes.

import ArgumentParser
import Foundation
import NNCIR

struct DotCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dot",
    abstract: "Write a Graphviz (DOT) picture of the IR, after the passes dump runs.",
    discussion: """
      Loads the file like `nnc verify`, runs the passes like `nnc dump` (the default pipeline \
      unless --passes says otherwise; --passes=none draws the file as written), and writes one \
      `digraph`: each function a cluster; parameters (blue) and results (green) as ellipses; each \
      instruction a box with its op and attributes (guards are octagons); each use of a value \
      an edge labelled with the value's type (`f32[N,784]`), with the operand's position at the \
      head when the user has several operands; each `cond` a dashed cluster whose `then` and \
      `else` regions are clusters ending in a `yield`. Hovering a node in an SVG shows its \
      source location (its loc(...), else its place in the file); hovering an edge, the \
      value's name as `nnc dump` prints it. The same input always gives the same text. Example:
        nnc dot Samples/models/select_branch.swiftgraph -o g.dot && dot -Tsvg g.dot -o g.svg
      """)

  @OptionGroup var input: InputFile

  @OptionGroup var pipeline: PipelineOptions

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp("The DOT file to write ('-' or none: standard output).", valueName: "path"))
  var output: String?

  @Option(help: ArgumentHelp("Draw only this function (default: every function in the file).", valueName: "name"))
  var function: String?

  @Flag(help: "Leave out the source-location tooltips.")
  var noLocations = false

  func validate() throws {
    if let output, output.isEmpty || output.hasSuffix("/") {
      throw ValidationError("-o/--output: '\(output)' is not a file name")
    }
  }

  func run() throws {
    var (graph, bytes) = try input.load()
    pipeline.run(&graph, source: bytes)
    graph = selectFunctions(graph, function, file: input.file)
    let text = graph.dot(DotOptions(tooltips: !noLocations))
    if let output, output != "-" {
      writeFileOrFail(output, Array(text.utf8))
    } else {
      FileHandle.standardOutput.write(Data(text.utf8))
    }
  }
}
