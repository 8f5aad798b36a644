// What the benchmark runs: the sample models, the elementwise chain, the compile pipeline
// (load -> compile -> link -> dlopen) and preallocated buffers for zero-copy calls.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime

/// A graph to benchmark: its text, which function to run and the sizes of its symbols.
struct Workload {
  var name: String
  var file: String
  var text: [UInt8]
  var function: String
  var bindings: [String: Int]
  /// Sets the inputs that steer control flow (e.g. the predicate of select_branch).
  var fixInputs: ([NDArray]) -> [NDArray] = { $0 }
}

/// The 16M-float elementwise chain y = max((x * 1.5 + b) * x - 0.25, 0): five elementwise ops
/// (three with a broadcast scalar) over `shape`.
func chainText(shape: [Int]) -> String {
  let t = "f32[\(shape.map(String.init).joined(separator: ","))]"
  return """
    swiftgraph 1
    // y = max((x * 1.5 + b) * x - 0.25, 0): five elementwise ops, three with a scalar operand.
    func @chain(%x: \(t), %b: \(t)) -> \(t) {
      %c = const 1.5 : f32[]
      %q = const 0.25 : f32[]
      %zero = const 0.0 : f32[]
      %0 = mul %x, %c
      %1 = add %0, %b
      %2 = mul %1, %x
      %3 = sub %2, %q
      %4 = max %3, %zero
      return %4
    }

    """
}

// MARK: - Compile pipeline

/// Wall time of each stage of one cold compile, in seconds.
struct CompileTimes {
  var parse = 0.0  // loadGraph (parse, shape inference, verify) and the default passes
  var compile = 0.0  // compile(): verify, LLVM lowering, O3, object emission
  var link = 0.0  // write the .o, cc -shared
  var load = 0.0  // dlopen + dlsym
  var total: Double { parse + compile + link + load }
  var objectBytes = 0
}

/// A fresh directory for objects and libraries; removed by `cleanup()`.
final class Scratch {
  let dir: URL
  private var counter = 0
  /// The object file `coldCompile` wrote last.
  var lastObject = ""

  init() {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnc-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  /// A new, unused path stem (dlopen caches by path, so every load needs its own).
  func next(_ stem: String) -> String {
    counter += 1
    return dir.appendingPathComponent("\(stem)-\(counter)").path
  }

  func cleanup() { try? FileManager.default.removeItem(at: dir) }
}

/// Runs load -> compile -> link -> dlopen once, timing each stage.
func coldCompile(_ w: Workload, scratch: Scratch) throws -> (CompiledEntry, Graph, CompileTimes) {
  var times = CompileTimes()
  var t0 = now()
  // The default pipeline (cleanup, then fusion), as `nnc compile` and the library run it.
  var graph = try loadGraph(w.text, file: w.file)
  _ = try PassManager(passes: Passes.defaultPipeline).run(&graph)
  var t1 = now()
  times.parse = t1 - t0
  t0 = t1
  let module = try compile(graph, options: CompileOptions())
  t1 = now()
  times.compile = t1 - t0
  times.objectBytes = module.object.count
  t0 = t1
  let stem = scratch.next(w.name)
  try Data(module.object).write(to: URL(fileURLWithPath: stem + ".o"))
  scratch.lastObject = stem + ".o"
  try linkSharedLibrary(object: stem + ".o", output: stem + ".so")
  t1 = now()
  times.link = t1 - t0
  t0 = t1
  let library = try SharedLibrary(path: stem + ".so")
  guard let f = graph.function(named: w.function) else { throw BenchError("\(w.file) has no function @\(w.function)") }
  let entry = try CompiledEntry(function: f, library: library, symbol: EntryNames(f.name).packed)
  times.load = now() - t0
  return (entry, graph, times)
}

struct BenchError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

// MARK: - Inputs and buffers

/// Deterministic inputs in [-1, 1) for every parameter, symbols bound by `bindings`.
func makeInputs(_ f: Function, _ bindings: [String: Int], seed: UInt64) -> [NDArray] {
  var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
  func next() -> Float {
    s ^= s << 13
    s ^= s >> 7
    s ^= s << 17
    return Float(s >> 40) / Float(1 << 24) * 2 - 1
  }
  return f.parameterTypes.map { t in
    let shape = t.resolved(bindings).staticShape!
    let n = shape.reduce(1, *)
    switch t.dtype {
    case .f32: return NDArray((0..<n).map { _ in next() }, shape: shape)
    case .f64: return NDArray((0..<n).map { _ in Double(next()) }, shape: shape)
    case .i32: return NDArray((0..<n).map { _ in Int32(next() * 10) }, shape: shape)
    case .i64: return NDArray((0..<n).map { _ in Int64(next() * 10) }, shape: shape)
    case .bool: return NDArray((0..<n).map { _ in next() > 0 }, shape: shape)
    }
  }
}

/// The entry ABI's symbol order: first appearance in the parameter types.
func symbolOrder(_ f: Function) -> [String] {
  var out: [String] = []
  for t in f.parameterTypes { for s in t.symbols where !out.contains(s) { out.append(s) } }
  return out
}

/// Raw, 64-byte aligned buffers for `callUnchecked`: inputs copied once, outputs allocated once.
final class Buffers {
  let pointers: [UnsafeMutableRawPointer?]
  let sizes: [Int64]
  let outputTypes: [TensorType]
  let inputCount: Int

  init(_ f: Function, _ inputs: [NDArray], _ bindings: [String: Int]) {
    var ps: [UnsafeMutableRawPointer?] = []
    for x in inputs {
      let bytes = max(1, x.count * x.dtype.byteSize)
      let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
      withBytes(x.storage) { src in p.copyMemory(from: src.baseAddress!, byteCount: src.count) }
      ps.append(p)
    }
    outputTypes = f.resultTypes.map { $0.resolved(bindings) }
    for t in outputTypes {
      let bytes = max(1, t.staticShape!.reduce(1, *) * t.dtype.byteSize)
      let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
      p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)  // touch every page now
      ps.append(p)
    }
    pointers = ps
    inputCount = inputs.count
    sizes = symbolOrder(f).map { Int64(bindings[$0] ?? 0) }
  }

  deinit { for p in pointers { p?.deallocate() } }

  /// Output `k` as an f32 array (for comparison).
  func outputFloats(_ k: Int) -> [Float] {
    let t = outputTypes[k]
    let n = t.staticShape!.reduce(1, *)
    let p = pointers[inputCount + k]!.assumingMemoryBound(to: Float.self)
    return Array(UnsafeBufferPointer(start: p, count: n))
  }
}

func withBytes<R>(_ s: ArrayStorage, _ body: (UnsafeRawBufferPointer) -> R) -> R {
  switch s {
  case .f32(let v): return v.withUnsafeBytes(body)
  case .f64(let v): return v.withUnsafeBytes(body)
  case .i32(let v): return v.withUnsafeBytes(body)
  case .i64(let v): return v.withUnsafeBytes(body)
  case .bool(let v): return v.withUnsafeBytes(body)
  }
}

/// The largest |a - b| over the elements (inf when the shapes differ).
func maxAbsDiff(_ a: [Float], _ b: NDArray) -> Double {
  guard case .f32(let e) = b.storage, e.count == a.count else { return .infinity }
  var m = 0.0
  for i in 0..<a.count {
    if a[i].isNaN && e[i].isNaN { continue }
    let d = Double(abs(a[i] - e[i]))
    if d.isNaN { return .nan }
    m = max(m, d)
  }
  return m
}

/// The largest |expected| (for relative error).
func maxAbs(_ b: NDArray) -> Double {
  guard case .f32(let e) = b.storage else { return 0 }
  return Double(e.reduce(Float(0)) { max($0, abs($1)) })
}

// MARK: - Traffic

/// Bytes the graph reads from its inputs and writes to its outputs.
func graphTraffic(_ f: Function, _ bindings: [String: Int]) -> Int {
  (f.parameterTypes + f.resultTypes).reduce(0) { $0 + bytes($1, bindings) }
}

/// Bytes every kernel reads and writes when each instruction is its own kernel (one full
/// read of each operand and one full write of each result; constants count their result).
func kernelTraffic(_ f: Function, _ bindings: [String: Int]) -> Int {
  var total = 0
  f.forEachInstruction { inst in
    for v in inst.operands + inst.results { total += bytes(f.type(of: v)!, bindings) }
  }
  return total
}

func bytes(_ t: TensorType, _ bindings: [String: Int]) -> Int {
  (t.resolved(bindings).staticShape ?? []).reduce(1, *) * t.dtype.byteSize
}

// MARK: - Assembly

/// Per function in the assembly: packed and scalar single-precision instruction counts.
struct KernelAsm {
  var name: String
  var packed = 0  // f32 vector instructions that compute (not moves/shuffles): ..ps
  var scalar = 0  // the same on one element: ..ss
  var widest = ""  // xmm / ymm / zmm of the packed instructions
  var gathers = 0  // vgather.. / vscatter.. (strided or indexed vector memory access)
  var instructions = 0
}

/// Splits `asm` into functions (labels at column 0 that are not local `.L` labels) and counts
/// the f32 instructions in each: mnemonics ending in `ps` (packed) or `ss` (scalar), leaving out
/// moves, broadcasts, shuffles and the xor zeroing idiom.
func analyzeAssembly(_ asm: String) -> [KernelAsm] {
  var out: [KernelAsm] = []
  var current: KernelAsm?
  let notCompute = ["mov", "broadcast", "shuf", "perm", "unpck", "extract", "insert", "xor", "gather", "scatter", "expand", "compress", "cvt"]
  for raw in asm.split(separator: "\n", omittingEmptySubsequences: true) {
    let line = String(raw)
    if let first = line.first, first != " ", first != "\t", first != ".", first != "#", line.hasSuffix(":") {
      if let c = current { out.append(c) }
      var name = String(line.dropLast())
      if name.hasPrefix("\"") && name.hasSuffix("\"") { name = String(name.dropFirst().dropLast()) }
      current = KernelAsm(name: name)
      continue
    }
    guard current != nil, let first = line.first, first == " " || first == "\t" else { continue }
    let trimmed = line.drop { $0 == " " || $0 == "\t" }
    if trimmed.hasPrefix(".") || trimmed.hasPrefix("#") { continue }
    current!.instructions += 1
    let mnemonic = String(trimmed.prefix { $0 != " " && $0 != "\t" })
    if mnemonic.hasPrefix("vgather") || mnemonic.hasPrefix("vscatter") { current!.gathers += 1 }
    if notCompute.contains(where: { mnemonic.contains($0) }) { continue }
    if mnemonic.hasSuffix("ps") {
      current!.packed += 1
      for r in ["zmm", "ymm", "xmm"] where trimmed.contains(r) {
        if rank(r) > rank(current!.widest) { current!.widest = r }
        break
      }
    } else if mnemonic.hasSuffix("ss") {
      current!.scalar += 1
    }
  }
  if let c = current { out.append(c) }
  return out
}

private func rank(_ r: String) -> Int { ["xmm": 1, "ymm": 2, "zmm": 3][r] ?? 0 }
