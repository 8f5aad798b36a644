// The machinery behind the golden-file tests: reading directives and RUN lines, running nnc's
// pipeline in-process, checking a section, and re-recording (blessing) failing sections. The
// directive syntax is documented at the top of GoldenTests.swift.

import Foundation
import NNCIR
import NNCPasses
import NNCTestSupport
import Testing

/// A problem in a golden file itself (not in nnc's output): a bad directive or RUN line.
struct GoldenFileError: Error, CustomStringConvertible {
  var line: Int
  var message: String
  var description: String { "line \(line): \(message)" }
}

/// The directives of one golden file: RUN lines, each followed by the checks on its output.
struct GoldenSpec {
  /// An `ERROR:` directive: the expected `line:col: message`.
  struct ExpectedError {
    var line: Int
    var text: String
  }

  /// One RUN line and the directives of its section.
  struct Run {
    var line: Int
    var arguments: [String]
    var checks: [CheckDirective] = []
    var error: ExpectedError?
    /// 1-based file lines of the section's CHECK*/ERROR directives (what blessing replaces).
    var directiveLines: [Int] = []
  }

  var runs: [Run] = []

  static let runName = "RUN"
  static let errorName = "ERROR"

  /// Reads the directives out of `text`.
  static func parse(_ text: String) throws(GoldenFileError) -> GoldenSpec {
    var spec = GoldenSpec()
    for (k, raw) in FileCheck.lines(text).enumerated() {
      let n = k + 1
      guard let (name, rest) = directive(raw) else { continue }
      if name == runName {
        let args = rest.split(whereSeparator: \.isWhitespace).map(String.init)
        guard !args.isEmpty else { throw GoldenFileError(line: n, message: "RUN: needs a command") }
        spec.runs.append(Run(line: n, arguments: args))
        continue
      }
      guard !spec.runs.isEmpty else { throw GoldenFileError(line: n, message: "\(name): comes before any RUN line") }
      let pattern = rest.trimmingCharacters(in: .whitespaces)
      let r = spec.runs.count - 1
      spec.runs[r].directiveLines.append(n)
      if name == errorName {
        guard spec.runs[r].error == nil else { throw GoldenFileError(line: n, message: "a second ERROR: for one RUN") }
        spec.runs[r].error = ExpectedError(line: n, text: pattern)
        continue
      }
      guard let kind = CheckDirective.Kind(rawValue: name) else {
        let known = ([runName, errorName] + CheckDirective.Kind.allCases.map(\.rawValue)).joined(separator: ", ")
        throw GoldenFileError(line: n, message: "unknown directive \(name): (known: \(known))")
      }
      if kind == .empty ? !pattern.isEmpty : pattern.isEmpty {
        throw GoldenFileError(line: n, message: kind == .empty ? "CHECK-EMPTY: takes no text" : "\(name): needs text")
      }
      spec.runs[r].checks.append(CheckDirective(kind: kind, pattern: pattern, line: n))
    }
    guard !spec.runs.isEmpty else { throw GoldenFileError(line: 1, message: "no RUN: line") }
    return spec
  }

  /// `(NAME, text)` for a line `// NAME: text` whose NAME starts like a directive's.
  private static func directive(_ line: String) -> (String, Substring)? {
    var s = line.drop { $0 == " " || $0 == "\t" }
    guard s.hasPrefix("//") else { return nil }
    s = s.dropFirst(2).drop { $0 == " " || $0 == "\t" }
    let name = s.prefix { ($0 >= "A" && $0 <= "Z") || $0 == "-" }
    let rest = s.dropFirst(name.count)
    guard rest.hasPrefix(":"), ["CHECK", runName, errorName].contains(where: { name.hasPrefix($0) }) else {
      return nil
    }
    return (String(name), rest.dropFirst())
  }
}

/// A RUN line's command line, read the way the `nnc` CLI reads it.
struct GoldenInvocation {
  enum Command: String { case dump, verify }
  var command: Command
  /// `%s` for the golden file itself, else a path relative to the package root.
  var input = "%s"
  /// As the CLI: the default pipeline unless `--passes` says otherwise.
  var passes: [Pass] = Passes.defaultPipeline
  /// `--remarks`: the remarks (text form) come before the IR in the checked output.
  var remarks = false
  var printAfterAll = false
  var printAfter: Set<String> = []
  var verifyEach = false
  var noLocations = false

  init(_ arguments: [String], line: Int) throws(GoldenFileError) {
    func bad(_ m: String) -> GoldenFileError { GoldenFileError(line: line, message: "RUN: \(m)") }
    guard let first = arguments.first, let command = Command(rawValue: first) else {
      throw bad("the command must be dump or verify, not '\(arguments.first ?? "")'")
    }
    self.command = command
    var rest = arguments.dropFirst()
    var inputGiven = false
    while let arg = rest.popFirst() {
      // `--flag=value` or `--flag value`.
      let parts = arg.split(separator: "=", maxSplits: 1).map(String.init)
      let flag = parts[0]
      func value() throws(GoldenFileError) -> String {
        if parts.count == 2 { return parts[1] }
        guard let v = rest.popFirst() else { throw bad("\(flag) needs a value") }
        return v
      }
      switch (command, flag) {
      case (.dump, "--passes"):
        let spec = try value()
        do { passes = try Passes.pipeline(spec) } catch { throw bad("--passes: \(error)") }
      case (.dump, "--print-after"):
        let name = try value()
        guard Passes.named(name) != nil else { throw bad("--print-after: \(PipelineError.unknownPass(name))") }
        printAfter.insert(name)
      case (.dump, "--print-after-all"): printAfterAll = true
      case (.dump, "--remarks"): remarks = true
      case (.dump, "--verify-each"): verifyEach = true
      case (.dump, "--no-locations"): noLocations = true
      default:
        guard !flag.hasPrefix("-"), !inputGiven else { throw bad("unexpected argument '\(arg)' for \(command)") }
        input = arg
        inputGiven = true
      }
    }
  }
}

/// What one run produced: its output, or the diagnostic it stopped with.
enum GoldenOutcome {
  case output(String)
  case error(Diagnostic, rendered: String)

  /// The text the section's checks see: stdout, or stderr on failure.
  var text: String {
    switch self {
    case .output(let s): return s
    case .error(_, let r): return r + "\n"
    }
  }
}

/// Finding, running, checking and re-recording golden files.
enum Golden {
  static let directory = packageRoot.appendingPathComponent("Tests/NNCIRTests/Golden")

  /// Names of the golden files, sorted.
  static func fileNames() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(".swiftgraph") }.sorted()
  }

  static var blessing: Bool { ProcessInfo.processInfo.environment["NNC_BLESS"] == "1" }

  /// `url` relative to the package root when it is inside it (as the CLI would be given it
  /// from there), else its absolute path.
  static func displayPath(_ url: URL) -> String {
    let root = packageRoot.standardizedFileURL.path + "/"
    let path = url.standardizedFileURL.path
    return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
  }

  /// The path a RUN line's input names, as given to nnc from the package root.
  static func inputPath(_ invocation: GoldenInvocation, goldenFile: URL) -> String {
    invocation.input == "%s" ? displayPath(goldenFile) : invocation.input
  }

  /// Runs `invocation` in-process exactly as `nnc` does.
  static func execute(_ invocation: GoldenInvocation, goldenFile: URL, line: Int) throws(GoldenFileError) -> GoldenOutcome {
    let path = inputPath(invocation, goldenFile: goldenFile)
    let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : packageRoot.appendingPathComponent(path)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw GoldenFileError(line: line, message: "RUN: cannot read the input \(path)")
    }
    let bytes = Array(data)
    do {
      var graph = try loadGraph(bytes, file: path)
      guard invocation.command == .dump else { return .output("") }
      let printed = TextSink()
      let remarks = TextSink()
      let manager = PassManager(
        passes: invocation.passes, verifyEach: invocation.verifyEach, printAfterAll: invocation.printAfterAll,
        printAfter: invocation.printAfter, printOptions: PrintOptions(locations: !invocation.noLocations),
        output: { printed.text += $0 }, remarks: invocation.remarks ? { remarks.text += $0.description + "\n" } : nil)
      try manager.run(&graph)
      // As `nnc dump`: the final IR once, not again after the last pass's printout. Remarks (on
      // the CLI's stderr) come first.
      if manager.printsFinalIR { return .output(remarks.text + printed.text) }
      return .output(remarks.text + printed.text + graph.text(PrintOptions(locations: !invocation.noLocations)))
    } catch {
      return .error(error, rendered: error.rendered(source: bytes))
    }
  }

  /// Why a section fails, or nil when it holds.
  struct SectionFailure {
    var line: Int
    var message: String
  }

  static func check(_ run: GoldenSpec.Run, _ outcome: GoldenOutcome) -> SectionFailure? {
    switch (outcome, run.error) {
    case (.error, nil):
      return SectionFailure(line: run.line, message: "the run failed unexpectedly")
    case (.output, let e?):
      return SectionFailure(line: e.line, message: "expected the error \(e.text), but the run succeeded")
    case (.error(let d, _), let e?):
      let actual = "\(d.pos.line):\(d.pos.column): \(d.message)"
      if actual != e.text { return SectionFailure(line: e.line, message: "expected the error\n  \(e.text)\nbut got\n  \(actual)") }
    case (.output, nil):
      break
    }
    if let f = FileCheck.match(run.checks, against: outcome.text) {
      return SectionFailure(line: f.directive.line, message: f.description)
    }
    return nil
  }

  /// The directives that record `outcome` exactly (what blessing writes).
  static func record(_ outcome: GoldenOutcome) -> [String] {
    switch outcome {
    case .error(let d, _):
      return ["// ERROR: \(d.pos.line):\(d.pos.column): \(d.message)"]
    case .output(let text):
      return FileCheck.lines(text).enumerated().map { k, line in
        if line.allSatisfy(\.isWhitespace) { return "// CHECK-EMPTY:" }
        return k == 0 ? "// CHECK: \(line)" : "// CHECK-NEXT: \(line)"
      }
    }
  }

  /// Re-records the failing sections of the golden file at `url`; returns true when it changed
  /// the file.
  @discardableResult
  static func bless(_ url: URL) throws -> Bool {
    var changed = false
    for _ in 0..<4 {
      let text = try String(contentsOf: url, encoding: .utf8)
      let spec = try GoldenSpec.parse(text)
      var lines = FileCheck.lines(text)
      var rewrote = false
      for run in spec.runs.reversed() {
        let outcome = try execute(try GoldenInvocation(run.arguments, line: run.line), goldenFile: url, line: run.line)
        guard check(run, outcome) != nil else { continue }
        for n in run.directiveLines.reversed() { lines.remove(at: n - 1) }
        lines.insert(contentsOf: record(outcome), at: run.line)
        rewrote = true
      }
      guard rewrote else { break }
      try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
      changed = true
    }
    return changed
  }

  /// Output lines numbered for a failure report.
  static func numbered(_ text: String) -> String {
    let lines = FileCheck.lines(text)
    if lines.isEmpty { return "  (no output)" }
    return lines.enumerated().map { k, l in String(repeating: " ", count: max(0, 4 - String(k + 1).count)) + "\(k + 1) | \(l)" }
      .joined(separator: "\n")
  }

  /// A location in a golden file, so that a failure points at the directive.
  static func sourceLocation(_ url: URL, line: Int) -> SourceLocation {
    SourceLocation(fileID: "NNCIRTests/\(url.lastPathComponent)", filePath: url.path, line: max(line, 1), column: 1)
  }
}

/// Collects printed text from a closure that outlives the call it is passed to.
private final class TextSink {
  var text = ""
}
