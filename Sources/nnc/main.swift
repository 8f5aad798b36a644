// The `nnc` command-line tool.

import ArgumentParser
import Foundation
import NNCCodegen
import NNCIR
import NNCPasses

struct NNC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nnc",
    abstract: "A graph compiler for neural-network programs.",
    discussion: """
      Reads `.swiftgraph` files (see docs/swiftgraph.md), checks them, runs passes over them and \
      prints them canonically; compiles them to native object files with a C header (`compile`), \
      or compiles and runs one function on `.npy` inputs (`run`; `run --interpret` uses the \
      reference interpreter instead). See docs/abi.md for the entry points compiled code \
      exports. Errors name the file, line and column; the exit status is 1 on bad input. \
      --version names nnc, its code generator, LLVM and the default target.
      """,
    version: versionText(),
    subcommands: [Dump.self, Verify.self, ListPasses.self, DotCommand.self, Compile.self, Run.self, CacheCommand.self])
}

/// What `nnc --version` prints: the package version, the code generator's version (part of every
/// compile-cache key), the LLVM version, the .swiftgraph format version, and the default
/// target (triple and host CPU, what `compile` and `run` use without --cpu).
func versionText() -> String {
  let cpu = (try? hostTarget().cpu) ?? "unknown"
  return [
    "nnc \(nncVersion)",
    "code generator: \(codegenVersion)",
    "LLVM: \(llvmVersion)",
    "swiftgraph format: \(swiftgraphVersion)",
    "default target: \(defaultTargetTriple()) (CPU \(cpu))",
  ].joined(separator: "\n")
}

/// Options shared by commands that read one `.swiftgraph` file.
struct InputFile: ParsableArguments {
  @Argument(help: "The .swiftgraph file to read ('-' for standard input).")
  var file: String

  /// Reads, parses, infers shapes and verifies; prints a located error and exits 1 on failure.
  func load() throws -> (Graph, [UInt8]) {
    let bytes: [UInt8]
    if file == "-" {
      bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
    } else {
      var isDir: ObjCBool = false
      guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir) else {
        fail("\(file): error: no such file")
      }
      guard !isDir.boolValue, let data = FileManager.default.contents(atPath: file) else {
        fail("\(file): error: cannot read the file")
      }
      bytes = Array(data)
    }
    do {
      return (try loadGraph(bytes, file: file == "-" ? "<stdin>" : file), bytes)
    } catch {
      fail(error.rendered(source: bytes))
    }
  }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data((message + "\n").utf8))
  exit(1)
}

/// `error: message` on stderr, exit 1.
func failError(_ message: String) -> Never {
  fail("error: " + message)
}

struct Dump: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Parse, verify, infer shapes, run passes (the default pipeline unless --passes), and print the IR canonically.")

  @OptionGroup var input: InputFile

  @OptionGroup var pipeline: PipelineOptions

  @Flag(help: "Print the IR after every pass (the last printout is the final IR).")
  var printAfterAll = false

  @Option(help: ArgumentHelp("Print the IR after the named pass (repeatable).", valueName: "pass"))
  var printAfter: [String] = []

  @Flag(help: "Leave out loc(...) source locations.")
  var noLocations = false

  func validate() throws {
    for name in printAfter where Passes.named(name) == nil {
      throw ValidationError("--print-after: \(PipelineError.unknownPass(name))")
    }
  }

  func run() throws {
    var (graph, bytes) = try input.load()
    let options = PrintOptions(locations: !noLocations)
    let manager = pipeline.manager(printAfterAll: printAfterAll, printAfter: Set(printAfter), printOptions: options)
    do {
      try manager.run(&graph)
    } catch {
      fail(error.rendered(source: bytes))
    }
    // The printout after the last pass already is the final IR.
    if !manager.printsFinalIR { print(graph.text(options), terminator: "") }
  }
}

struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check a file: syntax, SSA, types and shapes. Prints nothing and exits 0 when it is valid.")

  @OptionGroup var input: InputFile

  func run() throws {
    _ = try input.load()
  }
}

struct ListPasses: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "passes", abstract: "List the passes that --passes accepts.")

  func run() {
    let width = Passes.all.map(\.name.count).max() ?? 0
    for p in Passes.all {
      print(p.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + p.summary)
    }
  }
}

NNC.main(Array(normalizedArguments(CommandLine.arguments).dropFirst()))
