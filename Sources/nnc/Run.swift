// `nnc run`: compile one function to a temporary shared library, run it natively on .npy inputs,
// and print or save its results; with --check, compare them with the reference interpreter;
// with --interpret, run the reference interpreter alone.

import ArgumentParser
import Foundation
import NNCCodegen
import NNCIR
import NNCRuntime

#if canImport(Glibc)
  import Glibc
#endif

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a function on .npy inputs, compiled natively (or by the interpreter with --interpret), and print or save its results.",
    discussion: """
      Every parameter needs an --input NAME=FILE.npy (NAME as written in the file, with or \
      without the %). The arrays must have the parameter's dtype and shape; symbolic dims such \
      as N take their sizes from the inputs. Results are written to the --output files (one per \
      result, in order) or, without --output, printed. The function is compiled to a temporary \
      shared library (removed again) for the chosen CPU.

      The default pass pipeline runs first (--passes to choose, --remarks to see what it did). \
      --check also runs the reference interpreter on the function as written (before any pass) \
      and compares every result exactly: integers \
      and bools by value, floats by bit pattern (so -0.0 differs from 0.0), except that any NaN \
      equals any NaN. A mismatch names the result, the element's coordinates and both values, \
      and exits 1.

      --interpret runs the reference interpreter instead of compiled code: nothing is \
      compiled or linked (no C compiler needed); inputs and outputs work the same way. It \
      cannot be combined with --check.

      A failed guard exits 1 with its message and location; a result too large for this \
      machine's memory exits 1 naming it. Example:
        nnc run Samples/models/mlp.swiftgraph --input x=x.npy --input w1=w1.npy \\
          --input b1=b1.npy --input w2=w2.npy --input b2=b2.npy --output y.npy --check
      """)

  @OptionGroup var input: InputFile

  @OptionGroup var pipeline: PipelineOptions

  @Option(
    name: .customLong("input"),
    help: ArgumentHelp("A parameter's value: its name and a .npy file (once per parameter).", valueName: "name=path.npy"))
  var inputs: [String] = []

  @Option(
    name: .customLong("output"),
    help: ArgumentHelp("A .npy file to write a result to (once per result, in order). Default: print the results.", valueName: "path.npy"))
  var outputs: [String] = []

  @Option(help: ArgumentHelp("The function to run (default: the file's only function).", valueName: "name"))
  var function: String?

  @Flag(help: "Also run the reference interpreter and compare exactly; exit 1 on a mismatch.")
  var check = false

  @Flag(help: "Run the reference interpreter instead of compiled code (no code generation, no cc).")
  var interpret = false

  @OptionGroup var target: TargetFlags

  func validate() throws {
    if interpret && check {
      throw ValidationError(
        "--interpret and --check cannot be used together: --check compares compiled code with the interpreter")
    }
    if interpret && (target.cpu != nil || target.features != nil || target.vectorWidth != nil) {
      throw ValidationError("--cpu, --features and --vector-width choose the code generator's target; --interpret generates no code")
    }
    for item in inputs {
      guard let eq = item.firstIndex(of: "="), eq != item.startIndex, item.index(after: eq) != item.endIndex else {
        throw ValidationError("--input: '\(item)' is not NAME=PATH.npy")
      }
    }
  }

  func run() throws {
    let (graph, bytes) = try input.load()
    let f = pickFunction(graph)
    // The passes run on the chosen function; --check interprets the function as written.
    var optimized = Graph(functions: [f])
    pipeline.run(&optimized, source: bytes)
    let g = optimized.functions[0]
    if !outputs.isEmpty && outputs.count != f.resultTypes.count {
      failError(
        "@\(f.name) has \(f.resultTypes.count) result\(f.resultTypes.count == 1 ? "" : "s") but \(outputs.count) --output file\(outputs.count == 1 ? " was" : "s were") given")
    }
    let (arrays, sources) = readInputs(f)
    do {
      _ = try Interpreter.bindInputs(f, arrays)
    } catch {
      failError(inputMessage(error, sources))
    }
    let results: [NDArray]
    if interpret {
      do {
        results = try Interpreter.run(g, arrays)
      } catch {
        failError(error.description)
      }
    } else {
      target.checkCPU()
      let entry = compileAndLoad(g)
      do {
        results = try entry.run(arrays)
      } catch {
        failError(error.description)
      }
    }

    if outputs.isEmpty {
      var text = ""
      for (k, r) in results.enumerated() {
        text += "result \(k): \(r.type)\n" + formatArray(r) + "\n"
      }
      print(text, terminator: "")
    } else {
      for (r, path) in zip(results, outputs) {
        do {
          try Npy.write(r, to: path)
        } catch {
          if case .io(_, let message) = error { failError("cannot write \(path): \(message)") }
          failError("cannot write \(path): \(error)")
        }
      }
    }

    if check { checkAgainstInterpreter(f, arrays, results) }
  }

  /// The function to run: the one --function names, or the only one.
  func pickFunction(_ graph: Graph) -> Function {
    if let function { return selectFunctions(graph, function, file: input.file).functions[0] }
    guard graph.functions.count == 1 else {
      failError(
        "\(input.file) has \(graph.functions.count) functions; choose one with --function: "
          + graph.functions.map(\.name).joined(separator: ", "))
    }
    return graph.functions[0]
  }

  /// The inputs in parameter order, read from their files, and the file each came from.
  func readInputs(_ f: Function) -> ([NDArray], [String: String]) {
    var given: [String: String] = [:]
    var order: [String] = []
    for item in inputs {
      let eq = item.firstIndex(of: "=")!
      var name = String(item[..<eq])
      if name.hasPrefix("%") { name.removeFirst() }
      let path = String(item[item.index(after: eq)...])
      if given[name] != nil { failError("--input \(name) is given more than once") }
      given[name] = path
      order.append(name)
    }
    let names = f.parameters.map(\.name)
    for name in order where !names.contains(name) {
      failError(
        "@\(f.name) has no parameter %\(name); its parameters are "
          + names.map { "%" + $0 }.joined(separator: ", "))
    }
    let missing = f.parameters.filter { given[$0.name] == nil }
    if !missing.isEmpty {
      let list = missing.map { "%\($0.name) (\(f.type(of: $0.value)!))" }.joined(separator: ", ")
      failError(
        "missing input\(missing.count == 1 ? "" : "s") for @\(f.name): \(list); give each as --input NAME=FILE.npy")
    }
    var arrays: [NDArray] = []
    for p in f.parameters {
      let path = given[p.name]!
      do {
        arrays.append(try Npy.read(contentsOf: path))
      } catch {
        if case .io = error { failError("input %\(p.name): cannot read \(error)") }
        failError("input %\(p.name): \(path): \(error)")
      }
    }
    return (arrays, given)
  }

  /// A binding error with the file the input came from.
  func inputMessage(_ error: RuntimeError, _ sources: [String: String]) -> String {
    switch error {
    case .inputType(_, let p, let expected, let got):
      return "input %\(p) (\(sources[p] ?? "?")) must be \(expected), got \(got)"
    case .symbolConflict(_, let s, let first, let second, let p):
      return "input %\(p) (\(sources[p] ?? "?")): symbol \(s) is \(second) here but \(first) in an earlier input"
    default:
      return error.description
    }
  }

  /// Compiles `f` alone into a temporary shared library and loads it; the files are removed
  /// once loaded.
  func compileAndLoad(_ f: Function) -> CompiledEntry {
    var template = Array((FileManager.default.temporaryDirectory.path + "/nnc-run-XXXXXX").utf8CString)
    guard let dirPointer = mkdtemp(&template) else {
      failError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
    }
    let dir = String(cString: dirPointer)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let object = dir + "/module.o"
    let library = dir + "/module.so"
    let module: CompiledModule
    do {
      module = try NNCCodegen.compile(Graph(functions: [f]), options: CompileOptions(target: target.options))
    } catch {
      try? FileManager.default.removeItem(atPath: dir)
      failError("\(input.file): \(error)")
    }
    writeFileOrFail(object, module.object)
    do {
      try linkSharedLibrary(object: object, output: library)
      let loaded = try SharedLibrary(path: library)
      return try CompiledEntry(function: f, library: loaded, symbol: EntryNames(f.name).packed)
    } catch let error as CodegenError {
      try? FileManager.default.removeItem(atPath: dir)
      failError("cannot link: \(error)")
    } catch {
      try? FileManager.default.removeItem(atPath: dir)
      failError("\(error)")
    }
  }

  /// Runs the interpreter and compares every result exactly (`firstDifference`); names the
  /// first differing element and exits 1 on a mismatch.
  func checkAgainstInterpreter(_ f: Function, _ inputs: [NDArray], _ actual: [NDArray]) {
    let expected: [NDArray]
    do {
      expected = try Interpreter.run(f, inputs)
    } catch {
      failError("check: the compiled code succeeded but the interpreter failed: \(error)")
    }
    var lines: [String] = []
    for (k, (a, e)) in zip(actual, expected).enumerated() {
      if let message = ExactComparison.mismatch(result: k, compiled: a, interpreted: e) { failError("check: " + message) }
      lines.append("check: result \(k) matches the interpreter (exact)")
    }
    print(lines.joined(separator: "\n"))
  }
}

/// One element as text: shortest round-trip form for floats.
func element(_ a: NDArray, _ i: Int) -> String {
  switch a.storage {
  case .f32(let v): return v[i].description
  case .f64(let v): return v[i].description
  case .i32(let v): return String(v[i])
  case .i64(let v): return String(v[i])
  case .bool(let v): return v[i] ? "true" : "false"
  }
}

/// A nested-bracket rendering like NumPy's: rows on their own lines; arrays of more than 1000
/// elements show the first and last 3 entries of each axis around `...`.
func formatArray(_ a: NDArray) -> String {
  if a.shape.isEmpty { return element(a, 0) }
  let summarize = a.count > 1000
  let strides = ShapeMath.strides(a.shape)
  func render(_ axis: Int, _ offset: Int, _ indent: String) -> String {
    let n = a.shape[axis]
    var indices: [Int?] = Array(0..<n)
    if summarize && n > 6 { indices = [0, 1, 2, nil, n - 3, n - 2, n - 1] }
    if axis == a.shape.count - 1 {
      return "[" + indices.map { $0.map { element(a, offset + $0) } ?? "..." }.joined(separator: ", ") + "]"
    }
    let inner = indent + " "
    let separator = ",\n" + String(repeating: "\n", count: a.shape.count - axis - 2) + inner
    return "["
      + indices.map { $0.map { render(axis + 1, offset + $0 * strides[axis], inner) } ?? "..." }.joined(separator: separator)
      + "]"
  }
  return render(0, 0, "")
}
