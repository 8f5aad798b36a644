// The pass manager: a pipeline of named passes, each reporting whether it changed the graph,
// with optional verification and IR printing after each.

import NNCIR

/// A transformation of one function. `run` returns true when it changed the function.
public struct Pass: Sendable {
  public let name: String
  /// One line for `nnc passes` and help texts.
  public let summary: String
  public let run: @Sendable (inout Function) throws(Diagnostic) -> Bool

  public init(name: String, summary: String, run: @escaping @Sendable (inout Function) throws(Diagnostic) -> Bool) {
    self.name = name
    self.summary = summary
    self.run = run
  }
}

/// The registry of passes by name.
public enum Passes {
  /// Every pass, in the order of the default pipeline.
  public static let all: [Pass] = [inferShapes, cse, dce]

  /// The default optimization pipeline after parsing.
  public static var defaultPipeline: [Pass] { [cse, dce] }

  /// The pass called `name`.
  public static func named(_ name: String) -> Pass? { all.first { $0.name == name } }

  /// Passes from a comma-separated list such as `cse,dce`; unknown names are an error that
  /// lists the known ones.
  public static func pipeline(_ spec: String) throws(PipelineError) -> [Pass] {
    var out: [Pass] = []
    for raw in spec.split(separator: ",", omittingEmptySubsequences: false) {
      let name = raw.trimmingCharacters()
      guard let p = named(name) else { throw PipelineError.unknownPass(name) }
      out.append(p)
    }
    return out
  }
}

/// A bad pipeline specification.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
  case unknownPass(String)
  public var description: String {
    switch self {
    case .unknownPass(let n):
      return "unknown pass '\(n)' (known passes: \(Passes.all.map(\.name).joined(separator: ", ")))"
    }
  }
}

extension Substring {
  func trimmingCharacters() -> String {
    String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
  }
}

/// What one pass did to one function.
public struct PassReport: Equatable, Sendable {
  public var pass: String
  public var function: String
  public var changed: Bool
}

/// Runs a pipeline over every function of a graph.
public struct PassManager {
  public var passes: [Pass]
  /// Run the verifier after every pass (it always runs before the first).
  public var verifyEach: Bool
  /// Print the IR after every pass.
  public var printAfterAll: Bool
  /// Print the IR after the passes with these names.
  public var printAfter: Set<String>
  /// How printed IR is written (e.g. without locations).
  public var printOptions: PrintOptions
  /// Where printed IR goes.
  public var output: (String) -> Void

  public init(
    passes: [Pass], verifyEach: Bool = false, printAfterAll: Bool = false, printAfter: Set<String> = [],
    printOptions: PrintOptions = PrintOptions(), output: @escaping (String) -> Void = { print($0, terminator: "") }
  ) {
    self.passes = passes
    self.verifyEach = verifyEach
    self.printAfterAll = printAfterAll
    self.printAfter = printAfter
    self.printOptions = printOptions
    self.output = output
  }

  /// True when the IR is printed after the last pass of the pipeline: that printout is the
  /// final IR, so `nnc dump` does not print it a second time.
  public var printsFinalIR: Bool {
    guard let last = passes.last else { return false }
    return printAfterAll || printAfter.contains(last.name)
  }

  /// Runs every pass over every function in order. Throws the first diagnostic, from a pass or
  /// from the verifier (naming the pass that broke the invariant).
  @discardableResult
  public func run(_ graph: inout Graph) throws(Diagnostic) -> [PassReport] {
    var reports: [PassReport] = []
    for pass in passes {
      for i in graph.functions.indices {
        let changed = try pass.run(&graph.functions[i])
        reports.append(PassReport(pass: pass.name, function: graph.functions[i].name, changed: changed))
        if verifyEach {
          do {
            try graph.functions[i].verify()
          } catch {
            throw Diagnostic(error.pos, "after pass \(pass.name): \(error.message)")
          }
        }
      }
      if printAfterAll || printAfter.contains(pass.name) {
        let changed = reports.suffix(graph.functions.count).contains { $0.changed }
        output("// ----- IR after \(pass.name)\(changed ? "" : " (unchanged)") -----\n" + graph.text(printOptions))
      }
    }
    return reports
  }
}
