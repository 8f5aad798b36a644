// The pass manager: a pipeline of named passes, each reporting whether it changed the graph and
// explaining its decisions as remarks, with optional verification and IR printing after each.

import NNCIR

/// One decision a pass took, for `--remarks`: what it did, where (the instructions involved,
/// first the one the decision is about), in which function. Modelled on LLVM's optimization
/// remarks and clang's `-Rpass`.
public struct Remark: Equatable, Sendable, CustomStringConvertible {
  /// The pass that took the decision (`fold`, `prune`, `simplify`, `cse`, `dce`).
  public var pass: String
  /// The function it was taken in.
  public var function: String
  /// One line: what was decided and why.
  public var message: String
  /// The source locations involved, most relevant first; may be empty for code without any.
  public var locations: [Location]

  public init(pass: String, function: String, message: String, locations: [Location]) {
    self.pass = pass
    self.function = function
    self.message = message
    self.locations = locations
  }

  /// `file:line:col: remark: pass: message`, the form compilers print (`@f: remark: ...` when
  /// no location is known). Locations after the first are named in the message where they
  /// matter (CSE names both).
  public var description: String {
    let at = locations.first.map { $0.description } ?? "@\(function)"
    return "\(at): remark: \(pass): \(message)"
  }
}

/// What a running pass may consult and report: the remark sink and facts earlier passes of
/// the same pipeline recorded.
public struct PassContext {
  /// The function being transformed (for remarks).
  public var function: String
  /// The pass running now.
  public var pass: String = ""
  /// True when someone listens to remarks: passes may skip building messages otherwise.
  public let wantsRemarks: Bool
  /// The remarks emitted so far, in order.
  public private(set) var remarks: [Remark] = []
  /// How a value that `fold` replaced by a constant was computed (`lt 10.0, 0.0`), keyed by the
  /// constant's value id, so `prune` can say why a predicate is known.
  public var foldedExpressions: [Int: String] = [:]

  public init(function: String, wantsRemarks: Bool) {
    self.function = function
    self.wantsRemarks = wantsRemarks
  }

  /// Records a remark of the running pass about the instructions at `locations`.
  public mutating func remark(_ message: @autoclosure () -> String, at locations: [Location?]) {
    guard wantsRemarks else { return }
    remarks.append(Remark(pass: pass, function: function, message: message(), locations: locations.compactMap { $0 }))
  }
}

/// A transformation of one function. `run` returns true when it changed the function.
public struct Pass: Sendable {
  public let name: String
  /// One line for `nnc passes` and help texts.
  public let summary: String
  public let run: @Sendable (inout Function, inout PassContext) throws(Diagnostic) -> Bool

  public init(
    name: String, summary: String,
    run: @escaping @Sendable (inout Function, inout PassContext) throws(Diagnostic) -> Bool
  ) {
    self.name = name
    self.summary = summary
    self.run = run
  }
}

/// The registry of passes by name.
public enum Passes {
  /// Every pass, in the order of the default pipeline.
  public static let all: [Pass] = [inferShapes, fold, prune, simplify, cse, dce, fuse]

  /// The default optimization pipeline after parsing (shape inference has run): fold, prune,
  /// simplify, cse, dce, fuse. `nnc compile`, `nnc run`, `nnc dump` and the library's `compile`
  /// use it.
  public static var defaultPipeline: [Pass] { [fold, prune, simplify, cse, dce, fuse] }

  /// The default pipeline's names, comma-separated, as `--passes` takes them.
  public static var defaultPipelineSpec: String { defaultPipeline.map(\.name).joined(separator: ",") }

  /// The pass called `name`.
  public static func named(_ name: String) -> Pass? { all.first { $0.name == name } }

  /// Passes from a comma-separated list such as `cse,dce`; `none` (or an empty list) is no
  /// pass and `default` the default pipeline. Unknown names are an error that lists the known
  /// ones.
  public static func pipeline(_ spec: String) throws(PipelineError) -> [Pass] {
    let whole = Substring(spec).trimmingCharacters()
    if whole.isEmpty || whole == "none" { return [] }
    if whole == "default" { return defaultPipeline }
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
      return "unknown pass '\(n)' (known passes: \(Passes.all.map(\.name).joined(separator: ", ")); "
        + "'default' is \(Passes.defaultPipelineSpec), 'none' runs none)"
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
  /// Receives every remark as its pass emits it; nil (the default) turns remarks off.
  public var remarks: ((Remark) -> Void)?

  public init(
    passes: [Pass], verifyEach: Bool = false, printAfterAll: Bool = false, printAfter: Set<String> = [],
    printOptions: PrintOptions = PrintOptions(), output: @escaping (String) -> Void = { print($0, terminator: "") },
    remarks: ((Remark) -> Void)? = nil
  ) {
    self.remarks = remarks
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
    var contexts = graph.functions.map { PassContext(function: $0.name, wantsRemarks: remarks != nil) }
    for pass in passes {
      for i in graph.functions.indices {
        contexts[i].pass = pass.name
        let before = contexts[i].remarks.count
        let changed = try pass.run(&graph.functions[i], &contexts[i])
        if let remarks { for r in contexts[i].remarks[before...] { remarks(r) } }
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
