// End-to-end tests of the `nnc` command-line tool: the built binary runs as a subprocess and its
// exit status, stdout and stderr are compared with hand-written expectations.

import Foundation
import NNCIR
import NNCPasses
import NNCTestSupport
import Testing

/// The built `nnc` executable and a way to run it.
enum NNCBinary {
  /// The binary (see `builtExecutable`).
  static let url: URL? = builtExecutable("nnc")

  /// Runs `nnc arguments` in `directory` with `stdin` as its standard input.
  static func run(_ arguments: [String], stdin: String? = nil, in directory: URL = packageRoot) throws -> ExecutableResult {
    let binary = try #require(url, "the nnc executable was not found next to the test bundle; set NNC_BINARY")
    return try runExecutable(binary, arguments, in: directory, stdin: stdin)
  }
}

@Suite struct CLITests {
  /// The canonical text of the select_branch sample, written out by hand.
  static let selectBranch = """
    swiftgraph 1

    func @select_branch(%x: f32[3,4], %z: f32[], %w1: f32[4,5], %w2: f32[4,5]) -> f32[3,5] {
      %0 = const 0.0 : f32[]
      %1 = lt %z, %0 : bool[]
      %2 = cond %1 -> f32[3,5] {
        %3 = matmul %x, %w1 : f32[3,5]
        yield %3
      } else {
        %4 = matmul %x, %w2 : f32[3,5]
        yield %4
      }
      return %2
    }

    """

  static let badMatmul = """
    swiftgraph 1
    func @f(%a: f32[3,4], %b: f32[5,6]) -> f32[3,6] {
      %0 = matmul %a, %b
      return %0
    }

    """

  /// Names in any spelling, a duplicate, an unused value and a location.
  static let messy = """
    swiftgraph 1
    func @f(%x: f32[N,2]) -> f32[N,2] {
      %foo = exp %x loc("m.swift":3)
      %bar = exp %x
      %a1 = add %foo, %bar
      %unused = neg %a1
      return %a1
    }

    """

  @Test func dumpPrintsASampleCanonically() throws {
    let r = try NNCBinary.run(["dump", "Samples/models/select_branch.swiftgraph"])
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(r.stdout == Self.selectBranch)
  }

  @Test func badFileGivesOneLocatedErrorWithSourceLineAndCaret() throws {
    let dir = ScratchDirectory()
    try dir.write("bad.swiftgraph", Self.badMatmul)
    let r = try NNCBinary.run(["dump", "bad.swiftgraph"], in: dir.url)
    #expect(r.status == 1)
    #expect(r.stdout == "")
    #expect(
      r.stderr == """
        bad.swiftgraph:3:8: error: matmul: inner dims differ: f32[3,4] x f32[5,6]
          %0 = matmul %a, %b
               ^

        """)
    #expect(r.stderr.components(separatedBy: "error:").count == 2)

    let v = try NNCBinary.run(["verify", dir.url.appendingPathComponent("bad.swiftgraph").path])
    #expect(v.status == 1)
    #expect(v.stderr.hasPrefix(dir.url.appendingPathComponent("bad.swiftgraph").path + ":3:8: error: matmul: inner dims differ"))
  }

  /// Columns count bytes; the caret must still sit under the column when tabs or multi-byte
  /// characters come before it.
  @Test func caretLinesUpAfterTabsAndNonASCII() throws {
    let dir = ScratchDirectory()
    try dir.write("tab.swiftgraph", "swiftgraph 1\nfunc @f(%a: f32[3,4], %b: f32[5,6]) -> f32[3,6] {\n\t%0 = matmul %a, %b\n  return %0\n}\n")
    let t = try NNCBinary.run(["verify", "tab.swiftgraph"], in: dir.url)
    #expect(t.stderr == "tab.swiftgraph:3:7: error: matmul: inner dims differ: f32[3,4] x f32[5,6]\n\t%0 = matmul %a, %b\n\t     ^\n")

    try dir.write("utf8.swiftgraph", "swiftgraph 1\nfunc @f(%a: f32[2]) -> f32[2] {\n  %0 = neg %a loc(\"é.swift\":1) foo=1\n  return %0\n}\n")
    let u = try NNCBinary.run(["verify", "utf8.swiftgraph"], in: dir.url)
    #expect(u.status == 1)
    // "é" is two bytes: column 33, but the caret goes under the 32nd character.
    #expect(u.stderr.hasPrefix("utf8.swiftgraph:3:33: error: "))
    #expect(u.stderr.hasSuffix("\n  %0 = neg %a loc(\"é.swift\":1) foo=1\n" + String(repeating: " ", count: 31) + "^\n"))
  }

  @Test func missingFile() throws {
    let r = try NNCBinary.run(["dump", "no/such/file.swiftgraph"])
    #expect(r.status == 1)
    #expect(r.stdout == "")
    #expect(r.stderr == "no/such/file.swiftgraph: error: no such file\n")
  }

  @Test func directoryAsInput() throws {
    let r = try NNCBinary.run(["verify", "Samples/models"])
    #expect(r.status == 1)
    #expect(r.stdout == "")
    #expect(r.stderr.hasPrefix("Samples/models: error: "))
    #expect(r.stderr.filter { $0 == "\n" }.count == 1, "one line: \(r.stderr)")
  }

  @Test func readsStandardInputForDash() throws {
    let r = try NNCBinary.run(["dump", "-", "--passes=cse,dce"], stdin: Self.messy)
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(
      r.stdout == """
        swiftgraph 1

        func @f(%x: f32[N,2]) -> f32[N,2] {
          %0 = exp %x : f32[N,2] loc(fused["m.swift":3, "<stdin>":4:10])
          %1 = add %0, %0 : f32[N,2]
          return %1
        }

        """)

    let bad = try NNCBinary.run(["verify", "-"], stdin: Self.badMatmul)
    #expect(bad.status == 1)
    #expect(bad.stderr.hasPrefix("<stdin>:3:8: error: matmul: inner dims differ: f32[3,4] x f32[5,6]\n"))
  }

  @Test func verifyPrintsNothingOnSuccess() throws {
    for sample in ["select_branch", "mlp", "lenet"] {
      let r = try NNCBinary.run(["verify", "Samples/models/\(sample).swiftgraph"])
      #expect(r.status == 0, "\(sample): \(r.stderr)")
      #expect(r.stdout == "" && r.stderr == "", "\(sample)")
    }
  }

  @Test func unknownPassIsRejectedListingTheKnownOnes() throws {
    let r = try NNCBinary.run(["dump", "Samples/models/mlp.swiftgraph", "--passes=cse,nope"])
    #expect(r.status != 0)
    #expect(r.stdout == "")
    #expect(r.stderr.contains("unknown pass 'nope' (known passes: infer-shapes, fold, prune, simplify, cse, dce, fuse;"))

    let p = try NNCBinary.run(["dump", "Samples/models/mlp.swiftgraph", "--print-after=nope"])
    #expect(p.status != 0)
    #expect(p.stderr.contains("unknown pass 'nope' (known passes: infer-shapes, fold, prune, simplify, cse, dce, fuse;"))
  }

  @Test func printAfterAllShowsEveryPass() throws {
    let dir = ScratchDirectory()
    try dir.write("m.swiftgraph", Self.messy)
    let r = try NNCBinary.run(["dump", "m.swiftgraph", "--passes=cse,dce", "--print-after-all", "--no-locations"], in: dir.url)
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(
      r.stdout == """
        // ----- IR after cse -----
        swiftgraph 1

        func @f(%x: f32[N,2]) -> f32[N,2] {
          %0 = exp %x : f32[N,2]
          %1 = add %0, %0 : f32[N,2]
          %2 = neg %1 : f32[N,2]
          return %1
        }
        // ----- IR after dce -----
        swiftgraph 1

        func @f(%x: f32[N,2]) -> f32[N,2] {
          %0 = exp %x : f32[N,2]
          %1 = add %0, %0 : f32[N,2]
          return %1
        }

        """)
  }

  @Test func helpMentionsEveryCommandAndFlag() throws {
    let top = try NNCBinary.run(["--help"])
    #expect(top.status == 0)
    for word in ["dump", "verify", "passes", "--help"] {
      #expect(top.stdout.contains(word), "nnc --help does not mention \(word)")
    }
    let dump = try NNCBinary.run(["dump", "--help"])
    #expect(dump.status == 0)
    for flag in ["<file>", "'-'", "--passes", "--print-after-all", "--print-after <pass>", "--verify-each", "--no-locations", "--help"] {
      #expect(dump.stdout.contains(flag), "nnc dump --help does not mention \(flag)")
    }
    let verify = try NNCBinary.run(["verify", "--help"])
    #expect(verify.status == 0)
    #expect(verify.stdout.contains("<file>") && verify.stdout.contains("--help"))
    #expect(!verify.stdout.contains("--passes"))
  }

  @Test func passesListsEveryPassWithItsSummary() throws {
    let r = try NNCBinary.run(["passes"])
    #expect(r.status == 0)
    let lines = FileCheck.lines(r.stdout)
    let names = ["infer-shapes", "fold", "prune", "simplify", "cse", "dce", "fuse"]
    #expect(lines.count == names.count)
    for (line, name) in zip(lines, names) {
      #expect(line.hasPrefix(name + " "), "\(line)")
      #expect(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces).count > 10, "no summary: \(line)")
    }
  }

  /// The golden tests run the CLI's pipeline in-process; every RUN line must give the same
  /// stdout (or, for a failing run, stderr and exit status 1) through the real binary.
  @Test("golden RUN lines agree with the binary", arguments: Golden.fileNames())
  func goldenRunsMatchTheBinary(_ name: String) throws {
    let url = Golden.directory.appendingPathComponent(name)
    let spec = try GoldenSpec.parse(try String(contentsOf: url, encoding: .utf8))
    for run in spec.runs {
      let invocation = try GoldenInvocation(run.arguments, line: run.line)
      var args = run.arguments.map { $0 == "%s" ? Golden.displayPath(url) : $0 }
      if invocation.input == "%s" && !run.arguments.contains("%s") { args.insert(Golden.displayPath(url), at: 1) }
      let r = try NNCBinary.run(args)
      switch try Golden.execute(invocation, goldenFile: url, line: run.line) {
      case .output(let text):
        #expect(r.status == 0, "\(name):\(run.line): \(r.stderr)")
        // Remarks go to stderr; the harness puts them before the IR.
        #expect(r.stderr + r.stdout == text, "\(name):\(run.line)")
        if !invocation.remarks { #expect(r.stderr == "", "\(name):\(run.line)") }
      case .error(_, let rendered):
        #expect(r.status == 1, "\(name):\(run.line)")
        #expect(r.stdout == "", "\(name):\(run.line)")
        #expect(r.stderr == rendered + "\n", "\(name):\(run.line)")
      }
    }
  }
}
