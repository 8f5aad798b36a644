// Compiling traced (or hand-written) functions to native code and calling them with tensors.
// The compiled library comes from the on-disk compile cache (NNCCache/Cache.swift): the first
// compile of a function on a machine builds and links it, later ones (in any process) verify
// and load the cached library. When the shared cache's directory is unsafe (another user's,
// writable by others, a symlink) the function is compiled without the cache, with a warning.

import NNCCache
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime

/// A function compiled to native code, callable with tensors.
///
/// A call checks the inputs first, exactly as the interpreter does (`Interpreter.bindInputs`):
/// the number of inputs, each input's dtype and rank, fixed dimensions, and symbolic dimensions
/// bound consistently across inputs. A mismatch throws `RuntimeError` naming the parameter and
/// both types (for example `@main: input %x must be f32[4,784], got f32[3,784]`); nothing is
/// run and nothing crashes. A guard that fails at run time (the data took another branch than
/// the traced one) throws `RuntimeError.guardFailed` with the guard's message and location.
/// Non-contiguous input views are materialized first; results are fresh tensors.
///
/// Intermediates live in one workspace that the function keeps between calls (the compiled
/// `nnc_NAME_packed_with_workspace` entry, docs/abi.md): 64-byte aligned, allocated on the
/// first call that needs one, grown when a call at larger symbol sizes needs more bytes, reused
/// otherwise (its pages are faulted in once, not per call), and freed with the last copy of
/// the function. It only grows: a call at large sizes keeps its memory until then.
/// Calling one function from several threads at once is safe: one call at a time holds the
/// kept workspace, and a call that finds it held does not wait but runs in a workspace
/// allocated for that call alone (as `nnc_NAME_packed` does), so concurrent calls never share
/// bytes.
public struct CompiledFunction: Sendable {
  /// The function as compiled (after the optimization passes), which fixes the parameter order
  /// and types, the results, and the guard numbering.
  public let function: Function
  /// True when the library came from the cache without compiling.
  public let cacheHit: Bool
  /// The cache key (SHA-256, hex) of the compiled library.
  public let cacheKey: String
  /// What the optimization passes decided, one remark each, in order (`Remark.description`
  /// gives the `file:line: remark: pass: message` line `nnc --remarks` prints).
  public let remarks: [Remark]
  let entry: CompiledEntry

  /// Bytes of the workspace kept between calls now (0 before a call that needed one).
  public var workspaceBytes: Int { entry.workspace.capacity }

  /// Runs the compiled code on `inputs` (one per parameter, in order).
  public func callAsFunction(_ inputs: Tensor...) throws -> [Tensor] { try callAsFunction(inputs) }

  /// Runs the compiled code on `inputs` (one per parameter, in order).
  public func callAsFunction(_ inputs: [Tensor]) throws -> [Tensor] {
    try run(inputs.map(\.array)).map { Tensor($0) }
  }

  /// Runs the compiled code on arrays (checked the same way).
  public func run(_ inputs: [NDArray]) throws(RuntimeError) -> [NDArray] { try entry.run(inputs) }
}

/// Compiles `function` to native code for the CPU in `options` (the host by default), through
/// the compile cache (`cache`, else the shared cache, which lives in `$NNC_CACHE_DIR`,
/// `$XDG_CACHE_HOME/nnc` or `~/.cache/nnc`). When the shared cache cannot be used (its
/// directory is another user's, writable by others, a symlink or cannot be created), the
/// function is compiled without a cache, after a one-line warning on stderr (once per process).
///
/// The function is verified and optimized first (`passes`, by default `Passes.defaultPipeline`:
/// fold, prune, simplify, cse, dce, fuse, with the verifier after each); the compiled entry keeps the
/// optimized function for checking inputs and reporting guards, and `remarks` says what each
/// pass did. Throws a `Diagnostic` when the function does not verify or a pass rejects it (a
/// guard that can never hold), and a `CodegenError` when compiling, linking or the cache fails.
public func compile(
  _ function: Function, options: CompileOptions = CompileOptions(), cache: CompileCache? = nil,
  passes: [Pass] = Passes.defaultPipeline
) throws -> CompiledFunction {
  try function.verify()
  var graph = Graph(functions: [function])
  var remarks: [Remark] = []
  try PassManager(passes: passes, verifyEach: true, remarks: { remarks.append($0) }).run(&graph)
  let optimized = graph.functions[0]
  let cached = try cache?.lookup(graph, options: options) ?? CompileCache.lookupThroughSharedCache(graph, options: options)
  let library = try load(cached)
  let entry = try CompiledEntry(function: optimized, library: library, symbol: EntryNames(optimized.name).packed)
  return CompiledFunction(
    function: optimized, cacheHit: cached.hit, cacheKey: cached.key.hash, remarks: remarks, entry: entry)
}

/// Compiles the function `trace` recorded (see `compile(_:options:cache:)` for `Function`).
/// The compiled code is valid for the inputs the trace is valid for: where the traced run
/// branched on tensor data, a call on data that branches the other way throws the guard's error.
public func compile(
  _ trace: Trace, options: CompileOptions = CompileOptions(), cache: CompileCache? = nil,
  passes: [Pass] = Passes.defaultPipeline
) throws -> CompiledFunction {
  try compile(trace.function, options: options, cache: cache, passes: passes)
}

extension CompileCache {
  /// The verified library for `graph` (from the cache, or compiled, linked and stored), loaded.
  ///
  /// Every call loads its own private copy of the verified bytes (dlopen caches by path, and
  /// the cache path can be replaced by another process at any time); the copy is removed right
  /// after dlopen, so the returned library stays valid while it lives and leaves no file behind.
  public func library(for graph: Graph, options: CompileOptions = CompileOptions()) throws -> (SharedLibrary, hit: Bool) {
    let cached = try lookup(graph, options: options)
    return (try load(cached), cached.hit)
  }
}

/// dlopens `cached`'s private load file, then removes it.
private func load(_ cached: CachedLibrary) throws -> SharedLibrary {
  defer { cached.discardLoadFile() }
  return try SharedLibrary(path: cached.loadPath)
}
