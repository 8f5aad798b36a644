// The optimization pipeline as the commands that read a graph run it: `--passes`,
// `--verify-each` and `--remarks` for dump, compile and run.

import ArgumentParser
import Foundation
import NNCIR
import NNCPasses

/// How `--remarks` prints: `text` (`file:line:col: remark: pass: message`, the default when the
/// flag has no value) or `json` (one JSON object per line).
enum RemarkFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json
}

/// `--passes`, `--verify-each` and `--remarks`, shared by dump, compile and run.
struct PipelineOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Comma-separated passes to run in order (see 'nnc passes'). Default: \(Passes.defaultPipelineSpec); "
        + "'none' runs none.", valueName: "a,b"))
  var passes: String?

  @Flag(help: "Run the verifier after every pass.")
  var verifyEach = false

  @Option(
    help: ArgumentHelp(
      "Explain every decision of the passes on stderr, one line each with its source location: "
        + "--remarks (text) or --remarks=json (one JSON object per line).", valueName: "text|json"))
  var remarks: RemarkFormat?

  func validate() throws {
    if let passes {
      do { _ = try Passes.pipeline(passes) } catch { throw ValidationError("--passes: \(error)") }
    }
  }

  /// The passes to run.
  func pipeline() -> [Pass] {
    guard let passes else { return Passes.defaultPipeline }
    return (try? Passes.pipeline(passes)) ?? []
  }

  /// A pass manager for `pipeline()` that prints remarks as asked.
  func manager(
    printAfterAll: Bool = false, printAfter: Set<String> = [], printOptions: PrintOptions = PrintOptions()
  ) -> PassManager {
    let sink: ((Remark) -> Void)?
    switch remarks {
    case nil: sink = nil
    case .text?: sink = { r in FileHandle.standardError.write(Data((r.description + "\n").utf8)) }
    case .json?: sink = { r in FileHandle.standardError.write(Data((RemarkJSON.line(r) + "\n").utf8)) }
    }
    return PassManager(
      passes: pipeline(), verifyEach: verifyEach, printAfterAll: printAfterAll, printAfter: printAfter,
      printOptions: printOptions, remarks: sink)
  }

  /// Runs the pipeline over `graph`; a diagnostic (a pass's, or the verifier's after a pass)
  /// is printed with the source line and exits 1.
  func run(_ graph: inout Graph, source: [UInt8]) {
    do {
      try manager().run(&graph)
    } catch {
      fail(error.rendered(source: source))
    }
  }
}

/// The `--remarks=json` form of a remark:
/// `{"pass":"cse","function":"f","message":"...","locations":[{"file":"a.swiftgraph","line":3,"column":8}]}`;
/// a fused location carries its other origins in `"fused"`.
enum RemarkJSON {
  struct Place: Encodable {
    var file: String
    var line: Int
    var column: Int?
    var fused: [Place]?
    init(_ l: Location) {
      file = l.file
      line = l.line
      column = l.column
      fused = l.fused.isEmpty ? nil : l.fused.map(Place.init)
    }
  }
  struct Entry: Encodable {
    var pass: String
    var function: String
    var message: String
    var locations: [Place]
  }

  static func line(_ r: Remark) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let entry = Entry(pass: r.pass, function: r.function, message: r.message, locations: r.locations.map(Place.init))
    guard let data = try? encoder.encode(entry) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
  }
}

/// `--remarks` alone means `--remarks=text` (swift-argument-parser has no option with an
/// optional value, so the bare flag is rewritten before parsing).
func normalizedArguments(_ arguments: [String]) -> [String] {
  var out: [String] = []
  var afterTerminator = false
  for a in arguments {
    if a == "--" { afterTerminator = true }
    if !afterTerminator && a == "--remarks" {
      out.append("--remarks=text")
    } else {
      out.append(a)
    }
  }
  return out
}
