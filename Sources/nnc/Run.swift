// `nnc run`: compile one function to a temporary shared library, run it natively on .npy inputs,
// and print or save its results; with --check, compare them with the reference interpreter.

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
    abstract: "Compile a function, run it natively on .npy inputs, and print or save its results.",
    discussion: """
      Every parameter needs an --input NAME=FILE.npy (NAME as written in the file, with or \
      without the %). The arrays must have the parameter's dtype and shape; symbolic dims such \
      as N take their sizes from the inputs. Results are written to the --output files (one per \
      result, in order) or, without --output, printed. The function is compiled to a temporary \
      shared library (removed again) for the chosen CPU.

      --check also runs the reference interpreter and compares: exactly, or within rtol 1e-5 \
      (plus 1e-6 of the result's largest magnitude) when the function sums (reduce_sum, \
      matmul, conv2d, avgpool2d), whose order the vectorizer may change. A mismatch exits 1.

      A failed guard exits 1 with its message and location. Example:
        nnc run Samples/models/mlp.swiftgraph --input x=x.npy --input w1=w1.npy \\
          --input b1=b1.npy --input w2=w2.npy --input b2=b2.npy --output y.npy --check
      """)

  @OptionGroup var input: InputFile

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

  @Flag(help: "Also run the reference interpreter and compare; exit 1 on a mismatch.")
  var check = false

  @OptionGroup var target: TargetFlags

  func validate() throws {
    for item in inputs {
      guard let eq = item.firstIndex(of: "="), eq != item.startIndex, item.index(after: eq) != item.endIndex else {
        throw ValidationError("--input: '\(item)' is not NAME=PATH.npy")
      }
    }
  }

  func run() throws {
    let (graph, _) = try input.load()
    let f = pickFunction(graph)
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
    target.checkCPU()
    let entry = compileAndLoad(f)

    let results: [NDArray]
    do {
      results = try entry.run(arrays)
    } catch {
      failError(error.description)
    }

    if outputs.isEmpty {
      var text = ""
      for (k, r) in results.enumerated() {
        text += "result \(k): \(r.type)\n" + formatArray(r) + "\n"
      }
      print(text, terminator: "")
    } else {
      for (r, path) in zip(results, outputs) {
        do { try Npy.write(r, to: path) } catch { failError("cannot write \(path): \(error)") }
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

  /// Runs the interpreter and compares; prints the largest difference, exits 1 on a mismatch.
  func checkAgainstInterpreter(_ f: Function, _ inputs: [NDArray], _ actual: [NDArray]) {
    let expected: [NDArray]
    do {
      expected = try Interpreter.run(f, inputs)
    } catch {
      failError("check: the compiled code succeeded but the interpreter failed: \(error)")
    }
    var sums = false
    f.forEachInstruction { inst in
      switch inst.op {
      case .reduce(.sum, _, _), .matmul, .conv2d, .pool2d(.avg, _): sums = true
      default: break
      }
    }
    var lines: [String] = []
    for (k, (a, e)) in zip(actual, expected).enumerated() {
      let tolerant = sums && e.dtype.isFloat
      let c = compare(a, e, tolerant: tolerant)
      let rule = tolerant ? "rtol 1e-5" : "exact"
      if let bad = c.firstMismatch {
        let index = unravel(bad, e.shape)
        failError(
          "check: result \(k) differs from the interpreter at \(index) (element \(bad)): compiled "
            + "\(element(a, bad)), interpreter \(element(e, bad)); max difference \(formatDifference(c.maxDifference)) (\(rule))")
      }
      lines.append("check: result \(k) matches the interpreter (\(rule)): max difference \(formatDifference(c.maxDifference))")
    }
    print(lines.joined(separator: "\n"))
  }
}

/// The largest absolute difference and the first element out of tolerance.
func compare(_ a: NDArray, _ e: NDArray, tolerant: Bool) -> (maxDifference: Double, firstMismatch: Int?) {
  guard a.shape == e.shape, a.dtype == e.dtype else { return (.infinity, 0) }
  var scale = 0.0
  if tolerant { for i in 0..<e.count where e.storage.double(i).isFinite { scale = max(scale, abs(e.storage.double(i))) } }
  var maxDiff = 0.0
  var first: Int?
  for i in 0..<e.count {
    let (x, y) = (a.storage.double(i), e.storage.double(i))
    let same: Bool
    let diff: Double
    if x.isNaN || y.isNaN {
      same = x.isNaN && y.isNaN
      diff = same ? 0 : .infinity
    } else if x == y {
      same = true
      diff = 0
    } else if x.isInfinite || y.isInfinite {
      same = false
      diff = .infinity
    } else {
      diff = abs(x - y)
      same = tolerant && diff <= 1e-5 * abs(y) + 1e-6 * scale
    }
    // Bit-exact comparison: -0.0 and 0.0 compare equal as numbers; that is fine for a check.
    maxDiff = max(maxDiff, diff)
    if !same && first == nil { first = i }
  }
  return (maxDiff, first)
}

func formatDifference(_ d: Double) -> String {
  d == 0 ? "0" : d.isInfinite ? "inf" : String(format: "%.3g", d)
}

/// `[i, j, k]` for the flat row-major index `flat`.
func unravel(_ flat: Int, _ shape: [Int]) -> String {
  var rest = flat
  var idx = [Int](repeating: 0, count: shape.count)
  for k in stride(from: shape.count - 1, through: 0, by: -1) where shape[k] > 0 {
    idx[k] = rest % shape[k]
    rest /= shape[k]
  }
  return "[" + idx.map(String.init).joined(separator: ", ") + "]"
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
