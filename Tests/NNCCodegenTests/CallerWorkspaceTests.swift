// The caller-provided workspace (docs/abi.md): the header declares the workspace entries (and a
// C program calls them), the size functions return the plan's bytes, results in a caller's
// workspace full of garbage are the interpreter's exactly, a null or misaligned workspace is
// refused with status -1, the verifier refuses clashing symbols, the kept workspace of
// `CompiledEntry.run` grows and is never shared between threads, and warm calls in a
// preallocated or kept workspace (C entries, `CompiledEntry.run`, `CompiledFunction`) add no
// page faults.

import Dispatch
import Foundation
import NNC
import NNCCache
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Compiles `graph` into a shared library and loads it, with an entry per function.
private func loadLibrary(_ graph: Graph) throws -> (SharedLibrary, [String: CompiledEntry]) {
  try compileAndLoadLibrary(graph)
}

/// A 64-byte-aligned block of `bytes` bytes (at least 1) filled with `fill`; free it with `free`.
private func alignedBlock(_ bytes: Int, fill: UInt8) -> UnsafeMutableRawPointer {
  var p: UnsafeMutableRawPointer?
  precondition(posix_memalign(&p, 64, max(1, bytes)) == 0)
  memset(p!, Int32(fill), max(1, bytes))
  return p!
}

/// Minor page faults of the calling thread so far. Per thread (`RUSAGE_THREAD`, 1 on Linux):
/// other tests run in parallel in this process, and their faults are not this call's.
private func threadMinorFaults() -> Int {
  var u = rusage()
  getrusage(__rusage_who_t(1), &u)
  return u.ru_minflt
}

/// The minor faults of each of `calls` calls of `body`: of the first window of `calls` calls
/// in which no call faulted, else of the window of `windows` whose worst call faulted least. Other tests in this
/// process allocate and free hundreds of MiB at the same time, and under that pressure the
/// kernel now and then takes back pages of a warm buffer (bursts of thousands of faults in a
/// few calls, never when this test runs alone); faults of the workspace itself would come in
/// every call of every window.
private func faultsPerCall(calls: Int = 20, windows: Int = 6, _ body: () -> Void) -> [Int] {
  var best: [Int]? = nil
  for _ in 0..<windows {
    var faults = [Int](repeating: -1, count: calls)
    for k in 0..<calls {
      let before = threadMinorFaults()
      body()
      faults[k] = threadMinorFaults() - before
    }
    if best == nil || faults.max()! < best!.max()! { best = faults }
    if faults.allSatisfy({ $0 == 0 }) { break }
  }
  return best!
}

/// Whether faults per call of a Swift-level call (`CompiledEntry.run`, `CompiledFunction.run`)
/// show a kept workspace: no call faults 1% of the workspace's pages (an allocated one faults
/// every page of it in every call). The C entries are held to zero in every call; these calls
/// also allocate their result arrays with malloc, whose arenas other tests of the process
/// trim and grow at the same time: with the whole suite running, about half the calls fault
/// one page (never when run alone).
private func noWorkspaceFaults(_ faults: [Int], workspaceBytes: Int) -> Bool {
  faults.max()! < workspaceBytes / 4096 / 100
}

/// The size symbols of `f` bound as the interpreter binds them for `inputs`.
private func sizes(_ f: Function, _ inputs: [NDArray]) throws -> (sizes: [Int64], bindings: [String: Int]) {
  let bindings = try Interpreter.bindInputs(f, inputs)
  return (f.sizeSymbols.map { Int64(bindings[$0] ?? 0) }, bindings)
}

/// Runs `entry` on `inputs` in a caller's workspace of exactly `workspaceSize` bytes that holds
/// 0xFF bytes, and in the kept workspace; nil when both agree with the interpreter exactly (or
/// fail as it does).
private func garbageWorkspaceDisagreement(_ entry: CompiledEntry, _ inputs: [NDArray]) throws -> String? {
  let f = entry.function
  let bytes = entry.workspaceSize(sizes: try sizes(f, inputs).sizes)
  let workspace = alignedBlock(bytes, fill: 0xFF)
  defer { free(workspace) }
  let want: Result<[NDArray], RuntimeError> = Result { () throws(RuntimeError) in try Interpreter.run(f, inputs) }
  for (how, got) in [
    ("caller's workspace", Result { () throws(RuntimeError) in try entry.run(inputs, workspace: workspace) }),
    ("kept workspace", Result { () throws(RuntimeError) in try entry.run(inputs) }),
  ] {
    switch (want, got) {
    case (.success(let w), .success(let a)):
      for (k, (x, y)) in zip(a, w).enumerated() {
        if let m = exactMismatch(x, y) { return "@\(f.name) (\(how)) result \(k): \(m)" }
      }
    case (.failure(let e), .failure(let a)):
      if e != a { return "@\(f.name) (\(how)): interpreter \(e), compiled \(a)" }
    default:
      return "@\(f.name) (\(how)): interpreter \(want), compiled \(got)"
    }
  }
  return nil
}

/// Random functions (every op, conds, guards, symbols), compiled in one module.
private let randomGraph: Graph = {
  var g = Graph()
  for k in 0..<60 {
    var gen = RandomGraphGenerator(seed: UInt64(7000 + k))
    g.functions.append(gen.function(name: "w\(k)"))
  }
  return g
}()
private let randomLibrary = Result { try loadLibrary(randomGraph) }

/// The sample models, compiled in one module.
private let sampleGraph: Result<Graph, Error> = Result {
  var g = Graph()
  for name in ["mlp", "lenet", "select_branch", "select_branch_const"] {
    let url = sampleModelURL(name)
    g.functions += try loadGraph(Array(try Data(contentsOf: url)), file: url.path).functions
  }
  return g
}
private let sampleLibrary = Result { try loadLibrary(try sampleGraph.get()) }

/// `%a = mul %x, 1.5; %b = tanh %a; %r = add %b, %x` on f32[16M]: two 64 MiB intermediates,
/// alive at once at `tanh` (a 128 MiB workspace); `sum` adds a reduction to a scalar, so the
/// only large buffers are the input and the workspace.
private func chainText(sum: Bool) -> String {
  let n = 16 * 1024 * 1024
  return """
    swiftgraph 1
    func @chain(%x: f32[\(n)]) -> \(sum ? "f32[]" : "f32[\(n)]") {
      %c = const 1.5 : f32[]
      %a = mul %x, %c
      %b = tanh %a
      %r = add %b, %x
    \(sum ? "  %s = reduce_sum %r axes=[0]\n  return %s" : "  return %r")
    }

    """
}

@Suite(.serialized) struct CallerWorkspaceTests {
  /// The header declares the six entry points of each function, the typed workspace forms with
  /// the workspace pointer between the buffers and the sizes.
  @Test func headerDeclaresTheWorkspaceEntries() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[N,4], %y: f32[M]) -> f32[N,4] {
        %0 = exp %x
        %1 = neg %0
        return %1
      }
      func @g(%workspace: f32[2]) -> f32[2] {
        %0 = neg %workspace
        return %0
      }
      """)
    let h = cHeader(g)
    for line in [
      "int32_t nnc_f(const float *x, const float *y, float *result0, int64_t N, int64_t M);",
      "int32_t nnc_f_packed(void *const *buffers, const int64_t *sizes);",
      "int64_t nnc_f_workspace_size(int64_t N, int64_t M);",
      "int64_t nnc_f_packed_workspace_size(const int64_t *sizes);",
      "int32_t nnc_f_with_workspace(const float *x, const float *y, float *result0, void *workspace, int64_t N, int64_t M);",
      "int32_t nnc_f_packed_with_workspace(void *const *buffers, const int64_t *sizes, void *workspace);",
      "int64_t nnc_g_workspace_size(void);",
      // A parameter called `workspace` keeps its name; the pointer takes another.
      "int32_t nnc_g_with_workspace(const float *workspace, float *result0, void *workspace_);",
    ] {
      #expect(h.contains(line + "\n"), "missing: \(line)\n\(h)")
    }
    #expect(h.contains("-1 when the caller's workspace is NULL or not 64-byte aligned"))
  }

  /// A C program using the header compiles without warnings and gets, through the workspace
  /// entries, what the allocating entry gives.
  @Test func cCallerUsesTheWorkspaceEntries() throws {
    let text = """
      swiftgraph 1
      func @f(%x: f32[N]) -> f32[N] {
        %0 = exp %x
        %1 = neg %0
        %2 = mul %1, %0
        return %2
      }
      """
    let g = try loadGraph(text)
    let dir = ScratchDirectory()
    try Data(try compile(g).object).write(to: URL(fileURLWithPath: dir.path("f.o")))
    try dir.write("f.h", cHeader(g))
    try dir.write(
      "main.c",
      """
      #include <stdio.h>
      #include <stdlib.h>
      #include "f.h"
      int main(void) {
        enum { N = 1000 };
        float x[N], a[N], b[N];
        for (int i = 0; i < N; i++) x[i] = (float)(i % 17) * 0.1f - 0.8f;
        int64_t bytes = nnc_f_workspace_size(N);
        void *ws = aligned_alloc(64, bytes > 0 ? (size_t)(bytes + 63) / 64 * 64 : 64);
        if (!ws) return 9;
        if (nnc_f(x, a, N) != 0) return 2;
        if (nnc_f_with_workspace(x, b, ws, N) != 0) return 3;
        for (int i = 0; i < N; i++) if (a[i] != b[i]) return 4;
        if (nnc_f_with_workspace(x, b, (char *)ws + 4, N) != -1) return 5;
        if (nnc_f_with_workspace(x, b, NULL, N) != -1) return 6;
        void *buffers[2] = {x, b};
        int64_t sizes[1] = {N};
        if (nnc_f_packed_workspace_size(sizes) != bytes) return 7;
        if (nnc_f_packed_with_workspace(buffers, sizes, ws) != 0) return 8;
        printf("%lld\\n", (long long)bytes);
        free(ws);
        return 0;
      }
      """)
    let build = try runExecutable(
      URL(fileURLWithPath: "/usr/bin/env"), [systemCC, "-std=c11", "-Wall", "-Wextra", "-o", "main", "main.c", "f.o", "-lm"],
      in: dir.url)
    #expect(build.status == 0 && !build.stderr.contains("warning"), "\(build.stderr)")
    let r = try runExecutable(URL(fileURLWithPath: dir.path("main")), [], in: dir.url)
    #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
    #expect(r.stdout == "\(WorkspacePlan(g.functions[0]).plannedBytes(symbols: ["N": 1000]))\n")
  }

  /// `workspace_size` (typed and packed) is the plan's `plannedBytes` at every binding tried,
  /// for static and symbolic functions, and 0 for a function without intermediates.
  @Test func workspaceSizeIsThePlans() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @sym(%x: f32[N,M], %y: f32[M]) -> f32[N] {
        %0 = add %x, %y
        %1 = tanh %0
        %2 = mul %1, %0
        %3 = reduce_sum %2 axes=[1]
        %4 = exp %3
        return %4
      }
      func @stat(%x: f32[100,7]) -> f32[7] {
        %0 = exp %x
        %1 = reduce_max %0 axes=[0]
        %2 = neg %1
        return %2
      }
      func @none(%x: f32[3]) -> f32[3] {
        %0 = neg %x
        return %0
      }
      """)
    let (library, entries) = try loadLibrary(g)
    typealias TwoSizes = @convention(c) (Int64, Int64) -> Int64
    typealias NoSizes = @convention(c) () -> Int64
    let typedSym = unsafeBitCast(try #require(library.symbol("nnc_sym_workspace_size")), to: TwoSizes.self)
    let sym = try #require(entries["sym"])
    let symPlan = WorkspacePlan(sym.function)
    #expect(!symPlan.isStatic)
    for (n, m) in [(0, 0), (1, 1), (3, 5), (17, 64), (1000, 3), (5, 100_000)] {
      let want = symPlan.plannedBytes(symbols: ["N": n, "M": m])
      #expect(sym.workspaceSize(sizes: [Int64(n), Int64(m)]) == want, "N=\(n) M=\(m)")
      #expect(Int(typedSym(Int64(n), Int64(m))) == want, "N=\(n) M=\(m)")
    }
    let stat = try #require(entries["stat"])
    #expect(stat.workspaceSize(sizes: []) == WorkspacePlan(stat.function).plannedBytes())
    #expect(stat.workspaceSize(sizes: []) > 0)
    let typedStat = unsafeBitCast(try #require(library.symbol("nnc_stat_workspace_size")), to: NoSizes.self)
    #expect(Int(typedStat()) == stat.workspaceSize(sizes: []))
    #expect(try #require(entries["none"]).workspaceSize(sizes: []) == 0)
  }

  /// The same on random functions and the samples, at two bindings.
  @Test func workspaceSizeIsThePlansOnRandomFunctionsAndSamples() throws {
    let entries = try randomLibrary.get().1.merging(try sampleLibrary.get().1) { a, _ in a }
    for (_, entry) in entries {
      let f = entry.function
      let plan = WorkspacePlan(f)
      for n in [1, 3, 40] {
        let bindings = Dictionary(uniqueKeysWithValues: f.sizeSymbols.map { ($0, n) })
        #expect(entry.workspaceSize(sizes: f.sizeSymbols.map { _ in Int64(n) }) == plan.plannedBytes(symbols: bindings), "@\(f.name) n=\(n)")
      }
    }
  }

  /// Through the workspace entry, in a workspace full of 0xFF bytes, the samples give the
  /// interpreter's results exactly (and the kept workspace too).
  @Test func samplesMatchTheInterpreterInAGarbageWorkspace() throws {
    let (_, entries) = try sampleLibrary.get()
    for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
      for (n, seed) in [(1, 1), (4, 2)] {
        let d = try garbageWorkspaceDisagreement(entry, randomInputs(entry.function, n: n, seed: UInt64(seed)))
        #expect(d == nil, "\(name) n=\(n): \(d ?? "")")
      }
    }
  }

  /// The same on random functions (conds, guards, symbols).
  @Test(arguments: 0..<60)
  func randomFunctionsMatchTheInterpreterInAGarbageWorkspace(_ k: Int) throws {
    let entry = try #require(try randomLibrary.get().1["w\(k)"])
    for (n, seed) in [(1, 1), (3, 2)] {
      let d = try garbageWorkspaceDisagreement(entry, randomInputs(entry.function, n: n, seed: UInt64(k * 10 + seed)))
      #expect(d == nil, "n=\(n): \(d ?? "")\n\(Graph(functions: [entry.function]).text())")
    }
  }

  /// A null or misaligned workspace is refused with -1 (results untouched) when the call needs
  /// workspace; a call that needs none takes null.
  @Test func nullOrMisalignedWorkspaceIsRefused() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[N]) -> f32[N] {
        %0 = exp %x
        %1 = neg %0
        return %1
      }
      func @none(%x: f32[3]) -> f32[3] {
        %0 = neg %x
        return %0
      }
      """)
    let (_, entries) = try loadLibrary(g)
    let f = try #require(entries["f"])
    var x: [Float] = [1, 2, 3, 4]
    var out: [Float] = [7, 7, 7, 7]
    let bytes = f.workspaceSize(sizes: [4])
    #expect(bytes == 64)
    let block = alignedBlock(bytes + 64, fill: 0)
    defer { free(block) }
    func call(_ ws: UnsafeMutableRawPointer?, n: Int64 = 4) -> Int32 {
      x.withUnsafeMutableBytes { xb in out.withUnsafeMutableBytes { ob in f.callUnchecked([xb.baseAddress, ob.baseAddress], sizes: [n], workspace: ws) } }
    }
    for offset in [1, 4, 8, 16, 32, 63] {
      #expect(call(block + offset) == WorkspaceABI.invalidWorkspaceStatus, "offset \(offset)")
    }
    #expect(call(nil) == -1)
    #expect(out == [7, 7, 7, 7])
    #expect(call(block + 64) == 0)
    #expect(out == x.map { -VectorMath.exp(ScalarMath(), $0) })
    // At N = 0 the call needs no workspace: null is fine.
    #expect(f.workspaceSize(sizes: [0]) == 0)
    #expect(call(nil, n: 0) == 0)
    #expect(call(block + 3, n: 0) == 0)
    // A function without intermediates never reads the pointer.
    let none = try #require(entries["none"])
    var y: [Float] = [0, 0, 0]
    let status = x.withUnsafeMutableBytes { xb in
      y.withUnsafeMutableBytes { yb in none.callUnchecked([xb.baseAddress, yb.baseAddress], sizes: [], workspace: nil) }
    }
    #expect(status == 0 && y == [-1, -2, -3])
    // Through `run`, the status is an error naming it.
    #expect(throws: RuntimeError.self) { try f.run([NDArray(x, shape: [4])], workspace: block + 8) }
  }

  /// The kept workspace of `run` is allocated by the first call, grows for larger symbol
  /// sizes, is reused for smaller ones; concurrent calls on one entry all get right results.
  @Test func keptWorkspaceGrowsAndIsNotSharedBetweenThreads() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[N]) -> f32[N] {
        %0 = exp %x
        %1 = neg %0
        %2 = mul %1, %0
        return %2
      }
      """)
    let (_, entries) = try loadLibrary(g)
    let f = try #require(entries["f"])
    #expect(f.workspace.capacity == 0)
    @Sendable func input(_ n: Int, _ seed: Int) -> NDArray { NDArray((0..<n).map { Float(($0 * 7 + seed) % 23) * 0.1 - 1 }, shape: [n]) }
    // Two slots (exp's and neg's results are live at once), each N * 4 bytes rounded up to 64.
    let plan = WorkspacePlan(f.function)
    for (n, largest) in [(10, 10), (1000, 1000), (10, 1000), (3000, 3000)] {
      let x = input(n, n)
      #expect(try f.run([x]) == Interpreter.run(f.function, [x]))
      #expect(f.workspace.capacity == plan.plannedBytes(symbols: ["N": largest]), "N=\(n)")
    }
    #expect(plan.plannedBytes(symbols: ["N": 3000]) == 2 * 12032)
    // Many threads on one entry: each call's intermediates are its own (a shared workspace
    // would mix the values of different inputs).
    let failures = Mutex(0)
    DispatchQueue.concurrentPerform(iterations: 64) { k in
      let x = input(2000 + k, k)
      let ok = (try? f.run([x])) == (try? Interpreter.run(f.function, [x]))
      if !ok { failures.withLock { $0 += 1 } }
    }
    #expect(failures.withLock { $0 } == 0)
  }

  /// After one warm-up call, 20 calls in a preallocated workspace (typed and packed entries)
  /// add no minor page faults at all; the allocating entry faults its 128 MiB workspace in on
  /// every call.
  @Test func callsInAPreallocatedWorkspaceDoNotPageFault() throws {
    let g = try loadGraph(chainText(sum: false))
    let (library, entries) = try loadLibrary(g)
    let entry = try #require(entries["chain"])
    let n = 16 * 1024 * 1024
    let bytes = entry.workspaceSize(sizes: [])
    #expect(bytes == 2 * n * 4)
    let x = alignedBlock(n * 4, fill: 0)
    let out = alignedBlock(n * 4, fill: 0)
    let workspace = alignedBlock(bytes, fill: 0xFF)
    defer { for p in [x, out, workspace] { free(p) } }
    let xs = x.assumingMemoryBound(to: Float.self)
    for i in 0..<n { xs[i] = Float(i % 1000) * 0.002 - 1 }
    typealias Typed = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
    let typed = unsafeBitCast(try #require(library.symbol("nnc_chain_with_workspace")), to: Typed.self)
    let buffers: [UnsafeMutableRawPointer?] = [x, out]

    #expect(typed(x, out, workspace) == 0)  // warm-up
    var status: Int32 = 0
    let typedFaults = faultsPerCall { status |= typed(x, out, workspace) }
    let packedFaults = faultsPerCall { status |= entry.callUnchecked(buffers, sizes: [], workspace: workspace) }
    #expect(status == 0)
    #expect(typedFaults.allSatisfy { $0 == 0 }, "minor faults per call: \(typedFaults)")
    #expect(packedFaults.allSatisfy { $0 == 0 }, "minor faults per call: \(packedFaults)")

    // The results are right (the interpreter on a slice: each element depends on its own).
    let slice = 4096
    let small = try loadGraph(chainText(sum: false).replacingOccurrences(of: "\(n)", with: "\(slice)")).functions[0]
    let expected = try Interpreter.run(small, [NDArray(Array(UnsafeBufferPointer(start: xs, count: slice)), shape: [slice])])[0]
    let got = NDArray(Array(UnsafeBufferPointer(start: out.assumingMemoryBound(to: Float.self), count: slice)), shape: [slice])
    #expect(exactMismatch(got, expected) == nil)

    // The allocating entry, for contrast: fresh pages for the workspace on every call.
    let before = threadMinorFaults()
    for _ in 0..<3 { #expect(entry.callUnchecked(buffers, sizes: []) == 0) }
    let allocatingFaults = (threadMinorFaults() - before) / 3
    #expect(allocatingFaults >= bytes / 4096 / 2, "\(allocatingFaults) minor faults per call")
  }

  /// `CompiledEntry.run` (what `CompiledFunction` and `nnc run` call) keeps its workspace: once
  /// warm, 20 calls of a graph with 64 MiB intermediates and a scalar result fault in no
  /// workspace pages.
  @Test func keptWorkspaceDoesNotPageFaultOnceWarm() throws {
    let g = try loadGraph(chainText(sum: true))
    let (_, entries) = try loadLibrary(g)
    let entry = try #require(entries["chain"])
    let n = 16 * 1024 * 1024
    let x = NDArray((0..<n).map { Float($0 % 1000) * 0.002 - 1 }, shape: [n])
    let first = try entry.run([x])
    #expect(entry.workspace.capacity == 2 * n * 4)
    var same = true
    let faults = faultsPerCall { same = same && (try? entry.run([x])) == first }
    #expect(same)
    // The workspace is 32768 pages; a call allocates only small arrays (the result, the
    // bindings), which malloc serves from pages it already has.
    #expect(noWorkspaceFaults(faults, workspaceBytes: 2 * n * 4), "minor faults per call: \(faults)")
  }

  /// `CompiledFunction` likewise: once warm, its calls fault in no pages (before the kept
  /// workspace, every call faulted its 32768 pages in afresh).
  @Test func compiledFunctionDoesNotPageFaultOnceWarm() throws {
    let cache = try CompileCache(directory: temporaryDirectory().path)
    // Without fusion, so the chain keeps its two 64 MiB intermediates in the workspace (fused,
    // it is one kernel with no workspace at all).
    let f = try NNC.compile(
      try loadGraph(chainText(sum: true)).functions[0], cache: cache, passes: [Passes.cse, Passes.dce])
    #expect(f.workspaceBytes == 0)
    let n = 16 * 1024 * 1024
    let x = NDArray((0..<n).map { Float($0 % 1000) * 0.002 - 1 }, shape: [n])
    let first = try f.run([x])  // warm-up: allocates and touches the workspace
    #expect(f.workspaceBytes == 2 * n * 4)
    var same = true
    let faults = faultsPerCall { same = same && (try? f.run([x])) == first }
    #expect(same)
    #expect(noWorkspaceFaults(faults, workspaceBytes: 2 * n * 4), "minor faults per call: \(faults)")
  }

  /// Two functions whose workspace entries would export one C symbol are refused by the
  /// verifier, naming both and the symbol.
  @Test(arguments: [
    ("f", "f_with_workspace", "nnc_f_with_workspace"), ("f_with_workspace", "f", "nnc_f_with_workspace"),
    ("f", "f_workspace_size", "nnc_f_workspace_size"), ("f", "f_packed_with_workspace", "nnc_f_packed_with_workspace"),
    ("f", "f_packed_workspace_size", "nnc_f_packed_workspace_size"), ("a.b", "a_b_with_workspace", "nnc_a_b_with_workspace"),
  ])
  func clashingWorkspaceSymbolsAreRejected(_ names: (String, String, String)) throws {
    let text = """
      swiftgraph 1
      func @\(names.0)(%x: f32[2]) -> f32[2] {
        %0 = neg %x
        return %0
      }
      func @\(names.1)(%x: f32[2]) -> f32[2] {
        %0 = exp %x
        return %0
      }
      """
    do {
      _ = try loadGraph(text)
      Issue.record("the graph loaded")
    } catch {
      #expect(
        "\(error)" == "<input>:6:1: error: functions @\(names.0) and @\(names.1) both export the C symbol \(names.2); rename one of them")
    }
    // Names that only look alike are fine.
    _ = try loadGraph(text.replacingOccurrences(of: "@\(names.1)(", with: "@\(names.1)x("))
  }
}
