// Golden-file tests: every Tests/NNCIRTests/Golden/*.swiftgraph says in its comments which nnc
// commands to run on it and what their output must contain; the commands run in-process through
// the same pipeline as the `nnc` CLI (loadGraph, PassManager, Graph.text).
//
// Directives are comment lines `// NAME: text`, usually at the top of the file (the parser skips
// comments, so the rest of the file is ordinary .swiftgraph input, valid or not):
//
//   // RUN: dump --passes=cse,dce    An nnc command line without `nnc`: `dump` or `verify`, with
//                                    the CLI's flags (--passes=, --print-after-all, --print-after=,
//                                    --verify-each, --no-locations; `--flag value` works too).
//                                    The input is `%s` (this file) unless the line names another
//                                    file, relative to the package root: `// RUN: dump Samples/models/mlp.swiftgraph`.
//                                    A file may have several RUN lines; each starts a section, and
//                                    the directives below it, up to the next RUN, check its output.
//   // CHECK: text                   Some later output line contains `text`.
//   // CHECK-NEXT: text              The line right after the previous match contains `text` (the
//                                    first line of the block when nothing matched yet).
//   // CHECK-EMPTY:                  The line right after the previous match is empty.
//   // CHECK-NOT: text               No line between the surrounding matches contains `text` (or
//                                    up to the end of the block when nothing follows).
//   // CHECK-LABEL: text             Found first, in order; splits the output into blocks, and the
//                                    checks after a label only see the lines up to the next label.
//   // ERROR: 7:8: message           The run fails with exactly this diagnostic (line:column in the
//                                    input, then the message; the file name is left out). Without
//                                    ERROR a run must succeed. Checks in the same section then
//                                    match the rendered error: `file:line:col: error: ...`, the
//                                    source line and a caret, as `nnc` prints them on stderr.
//
// Patterns are literal substrings (no regexes), compared after trimming surrounding whitespace,
// so indentation does not matter. The output of `dump` is the --print-after text followed by the
// final canonical IR; the output of a successful `verify` is empty. Any other `// CHECK...:`,
// `// RUN...:` or `// ERROR...:` spelling is rejected, so a typo cannot silently disable a check.
//
// Blessing: `NNC_BLESS=1 swift test --filter Golden` re-records every section whose checks fail:
// its CHECK*/ERROR lines are replaced, right below its RUN line, by the whole actual output (one
// `CHECK:` for the first line, then `CHECK-NEXT:` per line and `CHECK-EMPTY:` for empty ones), or
// by one `ERROR:` line when the run fails. Passing sections, hand-picked partial checks included,
// are left as they are, as are other comments. Re-recording moves the lines below, so it repeats
// until every section passes (ERROR line numbers are taken after the move). Then review the diff.
//
// The harness itself is in Support/GoldenHarness.swift and Support/FileCheck.swift.

import Foundation
import NNCIR
import NNCPasses
import NNCTestSupport
import Testing

@Suite struct GoldenTests {
  @Test("golden file", arguments: Golden.fileNames())
  func goldenFile(_ name: String) throws {
    let url = Golden.directory.appendingPathComponent(name)
    if Golden.blessing, try Golden.bless(url) {
      Issue.record("re-recorded \(Golden.displayPath(url)); review the diff", severity: .warning)
    }
    let spec: GoldenSpec
    do {
      spec = try GoldenSpec.parse(try String(contentsOf: url, encoding: .utf8))
    } catch let e as GoldenFileError {
      Issue.record(Comment(rawValue: "\(name):\(e.line): \(e.message)"), sourceLocation: Golden.sourceLocation(url, line: e.line))
      return
    }
    for run in spec.runs {
      do {
        let invocation = try GoldenInvocation(run.arguments, line: run.line)
        let outcome = try Golden.execute(invocation, goldenFile: url, line: run.line)
        guard let failure = Golden.check(run, outcome) else { continue }
        let report = """
          \(name):\(failure.line): \(failure.message)
          RUN (line \(run.line)): \(run.arguments.joined(separator: " "))
          actual output:
          \(Golden.numbered(outcome.text))
          (after a deliberate change: NNC_BLESS=1 swift test --filter Golden)
          """
        Issue.record(Comment(rawValue: report), sourceLocation: Golden.sourceLocation(url, line: failure.line))
      } catch {
        Issue.record(Comment(rawValue: "\(name):\(error.line): \(error.message)"), sourceLocation: Golden.sourceLocation(url, line: error.line))
      }
    }
  }

  @Test func goldenDirectoryIsPopulated() {
    #expect(Golden.fileNames().count >= 20, "golden files are looked up at \(Golden.directory.path)")
  }

  /// Each sample model is run by some golden file, so a new sample needs a golden file too.
  @Test func everySampleHasAGoldenFile() throws {
    let samples = try FileManager.default.contentsOfDirectory(
      atPath: packageRoot.appendingPathComponent("Samples/models").path
    ).filter { $0.hasSuffix(".swiftgraph") }
    #expect(!samples.isEmpty)
    var referenced: Set<String> = []
    for name in Golden.fileNames() {
      let spec = try GoldenSpec.parse(try String(contentsOf: Golden.directory.appendingPathComponent(name), encoding: .utf8))
      for run in spec.runs { referenced.insert(try GoldenInvocation(run.arguments, line: run.line).input) }
    }
    for s in samples {
      #expect(referenced.contains("Samples/models/\(s)"), "no golden file has a RUN line for Samples/models/\(s)")
    }
  }

  // MARK: - the harness itself

  private static let sample = """
    swiftgraph 1

    func @f(%x: f32[2]) -> f32[2] {
      %0 = neg %x : f32[2]
      return %0
    }
    func @g(%x: f32[2]) -> f32[2] {
      %0 = exp %x : f32[2]
      return %0
    }

    """

  private func run(_ directives: [(CheckDirective.Kind, String)]) -> CheckFailure? {
    let ds = directives.enumerated().map { CheckDirective(kind: $1.0, pattern: $1.1, line: $0 + 1) }
    return FileCheck.match(ds, against: Self.sample)
  }

  @Test func checkFindsLinesInOrder() {
    #expect(run([(.check, "func @f"), (.check, "neg %x"), (.check, "func @g")]) == nil)
    #expect(run([(.check, "func @g"), (.check, "neg %x")])?.directive.line == 2)
    #expect(run([(.check, "no such text")])?.reason == "no line from output line 1 \"swiftgraph 1\" on contains it")
  }

  @Test func checkNextAndEmptyLookAtTheFollowingLine() {
    #expect(run([(.next, "swiftgraph 1"), (.empty, ""), (.next, "func @f"), (.next, "neg")]) == nil)
    #expect(run([(.check, "func @f"), (.next, "return")])?.reason == "expected the next line to contain it, found output line 4 \"  %0 = neg %x : f32[2]\"")
    #expect(run([(.check, "func @f"), (.empty, "")])?.reason == "expected the next line to be empty, found output line 4 \"  %0 = neg %x : f32[2]\"")
    #expect(run([(.check, "exp"), (.next, "return"), (.next, "}"), (.next, "x")])?.reason == "expected the next line to contain it, found end of output")
  }

  @Test func checkNotHoldsBetweenMatches() {
    #expect(run([(.check, "func @f"), (.not, "exp"), (.check, "return")]) == nil)
    #expect(run([(.check, "func @f"), (.not, "neg"), (.check, "return")])?.reason == "found on output line 4 \"  %0 = neg %x : f32[2]\"")
    // A trailing CHECK-NOT covers the rest of the output.
    #expect(run([(.check, "func @g"), (.not, "neg")]) == nil)
    #expect(run([(.check, "func @f"), (.not, "exp")])?.directive.pattern == "exp")
  }

  @Test func checkLabelConfinesTheChecksAfterIt() {
    #expect(run([(.label, "func @f"), (.check, "neg"), (.label, "func @g"), (.check, "exp")]) == nil)
    // `return` of @g is not found from @f's block, and CHECK-NOT stops at the next label.
    #expect(run([(.label, "func @f"), (.check, "exp"), (.label, "func @g")])?.directive.pattern == "exp")
    #expect(run([(.label, "func @f"), (.not, "exp"), (.label, "func @g")]) == nil)
    #expect(run([(.label, "func @g"), (.label, "func @f")])?.directive.pattern == "func @f")
  }

  @Test func directiveTyposAndStrayChecksAreRejected() {
    func error(_ text: String) -> String? {
      do { _ = try GoldenSpec.parse(text); return nil } catch { return error.description }
    }
    #expect(error("// RUN: dump\n// CHECK-NXET: x\n")?.hasPrefix("line 2: unknown directive CHECK-NXET:") == true)
    #expect(error("// CHECK: x\n// RUN: dump\n") == "line 1: CHECK: comes before any RUN line")
    #expect(error("// RUN: dump\n// CHECK:\n") == "line 2: CHECK: needs text")
    #expect(error("swiftgraph 1\n") == "line 1: no RUN: line")
    #expect(error("// RUN: dump\n// NOTE: CHECK: is fine inside other comments\n") == nil)
    #expect(throws: GoldenFileError.self) { try GoldenInvocation(["dump", "--passes=nope"], line: 1) }
    #expect(throws: GoldenFileError.self) { try GoldenInvocation(["dump", "--print-after", "nope"], line: 1) }
    #expect(throws: GoldenFileError.self) { try GoldenInvocation(["verify", "--passes=cse"], line: 1) }
    #expect(throws: GoldenFileError.self) { try GoldenInvocation(["run"], line: 1) }
  }

  @Test func invocationReadsTheCLIFlags() throws {
    let inv = try GoldenInvocation(
      ["dump", "Samples/models/mlp.swiftgraph", "--passes", "cse,dce", "--print-after=dce", "--verify-each", "--no-locations"],
      line: 1)
    #expect(inv.input == "Samples/models/mlp.swiftgraph")
    #expect(inv.passes.map(\.name) == ["cse", "dce"])
    #expect(inv.printAfter == ["dce"] && !inv.printAfterAll && inv.verifyEach && inv.noLocations)
  }

  /// Blessing replaces failing sections by the recorded output and keeps passing ones; the line
  /// of a recorded ERROR is counted after the rewrite.
  @Test func blessRewritesOnlyFailingSections() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnc-bless-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("t.swiftgraph")
    try """
      // RUN: dump --passes=none
      // CHECK: neg %x : f32[3]
      // a note that stays
      // RUN: dump --passes=dce
      // CHECK: exp
      // CHECK-NOT: neg
      // RUN: verify
      // ERROR: 1:1: wrong
      swiftgraph 1
      func @f(%x: f32[2]) -> f32[2] {
        %a = neg %x
        %b = exp %x
        return %b
      }

      """.write(to: url, atomically: true, encoding: .utf8)
    #expect(try Golden.bless(url))
    #expect(
      try String(contentsOf: url, encoding: .utf8) == """
        // RUN: dump --passes=none
        // CHECK: swiftgraph 1
        // CHECK-EMPTY:
        // CHECK-NEXT: func @f(%x: f32[2]) -> f32[2] {
        // CHECK-NEXT:   %0 = neg %x : f32[2]
        // CHECK-NEXT:   %1 = exp %x : f32[2]
        // CHECK-NEXT:   return %1
        // CHECK-NEXT: }
        // a note that stays
        // RUN: dump --passes=dce
        // CHECK: exp
        // CHECK-NOT: neg
        // RUN: verify
        swiftgraph 1
        func @f(%x: f32[2]) -> f32[2] {
          %a = neg %x
          %b = exp %x
          return %b
        }

        """)
    #expect(try !Golden.bless(url))

    // A failing run records its error, at the line the input has after the rewrite.
    try "// RUN: verify\n// CHECK: a\n// CHECK: b\nswiftgraph 2\n".write(to: url, atomically: true, encoding: .utf8)
    #expect(try Golden.bless(url))
    #expect(
      try String(contentsOf: url, encoding: .utf8)
        == "// RUN: verify\n// ERROR: 3:12: unsupported swiftgraph version 2 (this nnc reads version 1)\nswiftgraph 2\n")
  }
}
