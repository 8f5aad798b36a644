// Compiling graphs to shared libraries for tests, and the deterministic inputs they run on.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport

/// Compiles `graph`, links it, loads it, and returns an entry per function.
func compileAndLoad(_ graph: Graph, options: CompileOptions = CompileOptions()) throws -> [String: CompiledEntry] {
  try compileAndLoadLibrary(graph, options: options).1
}

/// `compileAndLoad`, also returning the loaded library (to look up other symbols in it).
func compileAndLoadLibrary(
  _ graph: Graph, options: CompileOptions = CompileOptions()
) throws -> (SharedLibrary, [String: CompiledEntry]) {
  let dir = temporaryDirectory()
  let module = try compile(graph, options: options)
  let obj = dir.appendingPathComponent("m.o")
  let lib = dir.appendingPathComponent("m.so")
  try Data(module.object).write(to: obj)
  try linkSharedLibrary(object: obj.path, output: lib.path)
  let library = try SharedLibrary(path: lib.path)
  var out: [String: CompiledEntry] = [:]
  for f in graph.functions {
    out[f.name] = try CompiledEntry(function: f, library: library, symbol: EntryNames(f.name).packed)
  }
  return (library, out)
}

/// Deterministic inputs for a function: symbols bound to `n`.
func randomInputs(_ f: Function, n: Int = 3, seed: UInt64) -> [NDArray] {
  var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
  func next() -> Double {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return Double(state % 10_000) / 2_500 - 2  // [-2, 2)
  }
  return f.parameterTypes.map { t in
    let shape = t.shape.map { $0.value ?? n }
    let count = shape.reduce(1, *)
    switch t.dtype {
    case .f32: return NDArray((0..<count).map { _ in Float(next()) }, shape: shape)
    case .f64: return NDArray((0..<count).map { _ in next() }, shape: shape)
    case .i32: return NDArray((0..<count).map { _ in Int32(next() * 10) }, shape: shape)
    case .i64: return NDArray((0..<count).map { _ in Int64(next() * 10) }, shape: shape)
    case .bool: return NDArray((0..<count).map { _ in next() > 0 }, shape: shape)
    }
  }
}

/// Runs `f` compiled and interpreted on `inputs`; nil when both give the same results (or the
/// same error).
func disagreement(_ entry: CompiledEntry, _ inputs: [NDArray]) -> String? {
  let f = entry.function
  let want: Result<[NDArray], RuntimeError> = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
  let got: Result<[NDArray], RuntimeError> = Result { () throws(RuntimeError) in try entry.run(inputs) }
  switch (want, got) {
  case (.success(let w), .success(let a)):
    for (k, (x, y)) in zip(a, w).enumerated() {
      if let m = exactMismatch(x, y) { return "@\(f.name) result \(k): \(m)" }
    }
    return nil
  case (.failure(let e), .failure(let a)):
    return e == a ? nil : "@\(f.name): interpreter \(e), compiled \(a)"
  default:
    return "@\(f.name): interpreter \(want), compiled \(got)"
  }
}
