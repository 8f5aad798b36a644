// The on-disk compile cache: hits and misses by key, verification of every entry before it is
// loaded (corrupt, foreign, garbage), private directories, atomic publication under concurrent
// compiles from several threads and from several processes. (Planted files, symlinks, unsafe
// directories, the size limit and `nnc cache` are in CacheSafetyTests.swift.)
//
// The two-process test re-runs this test binary (`/proc/self/exe`, the `.xctest` executable
// `swift test` runs) twice at once with `--filter CacheChildProcess` and the environment variable
// NNC_CACHE_CHILD_DIR set: the suite `CacheChildProcess` then compiles the test graph into that
// directory (it does nothing when the variable is unset, as in ordinary test runs). The children
// wait for a common start signal so their compiles overlap.

import Foundation
import NNC
import NNCCache
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// A small graph with one constant `c`, so tests can make graphs that differ in one constant.
func testGraph(_ c: Double = 2) throws -> Graph {
  try loadGraph(
    """
    swiftgraph 1
    func @f(%x: f32[N], %y: f32[N]) -> f32[N] {
      %c = const \(c) : f32[]
      %0 = mul %x, %y
      %1 = mul %0, %c
      %2 = add %1, %x
      return %2
    }
    """)
}

let cacheTestInputs = [NDArray([1, 2, 3, 4] as [Float], shape: [4]), NDArray([0.5, -1, 2, 0] as [Float], shape: [4])]

/// Loads `graph`'s library from `cache` and runs @f on `inputs`; checks it against the interpreter.
@discardableResult
func runCached(
  _ cache: CompileCache, _ graph: Graph, options: CompileOptions = CompileOptions(),
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> Bool {
  let (library, hit) = try cache.library(for: graph, options: options)
  let f = graph.functions[0]
  let entry = try CompiledEntry(function: f, library: library, symbol: EntryNames(f.name).packed)
  let got = try entry.run(cacheTestInputs)
  let expected = try Interpreter.run(f, cacheTestInputs)
  #expect(got == expected, sourceLocation: sourceLocation)
  return hit
}

/// A fresh cache directory holding the entry of `testGraph()` (made by `runCached`), with the
/// entry's key, its manifest's path and the manifest's text.
func cachedTestGraph(sourceLocation: SourceLocation = #_sourceLocation) throws -> (
  dir: URL, graph: Graph, key: CacheKey, manifest: String, good: String
) {
  let dir = temporaryDirectory()
  let graph = try testGraph()
  let cache = try CompileCache(directory: dir.path)
  try runCached(cache, graph, sourceLocation: sourceLocation)
  let key = try cache.key(for: graph)
  let manifest = cache.manifestPath(for: key)
  let good = try String(contentsOfFile: manifest, encoding: .utf8)
  return (dir, graph, key, manifest, good)
}

/// The manifest `text` as a JSON object.
func manifestObject(_ text: String) throws -> [String: Any] {
  try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// Names in `dir`, sorted.
func listing(_ dir: URL) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
}

/// Every entry file (`.so`/`.json`) and temporary in `dir`.
func entryFiles(_ dir: URL) throws -> [String] {
  try listing(dir).filter { $0 != ".lock" }
}

func mode(_ path: String) -> mode_t {
  var st = stat()
  guard stat(path, &st) == 0 else { return 0 }
  return st.st_mode & 0o777
}

/// Collects a cache's events.
final class EventLog: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [CacheEvent] = []
  var events: [CacheEvent] { lock.withLock { list } }
  func append(_ e: CacheEvent) { lock.withLock { list.append(e) } }
}

@Suite struct CacheTests {
  @Test func missThenHit() throws {
    let dir = temporaryDirectory().appendingPathComponent("cache")
    let graph = try testGraph()
    let first = try CompileCache(directory: dir.path)
    let log = EventLog()
    first.observe { log.append($0) }
    #expect(try runCached(first, graph) == false)
    let key = try first.key(for: graph)
    #expect(log.events == [.miss(key: key.hash, reason: .absent), .compiled(key: key.hash), .stored(key: key.hash)])
    #expect(first.statistics.compiles == 1)
    #expect(try entryFiles(dir) == [key.hash + ".json", key.hash + ".so"])

    // A second lookup, in this cache or another opened on the directory, compiles nothing.
    #expect(try runCached(first, graph) == true)
    #expect(first.statistics.compiles == 1)
    #expect(first.statistics.hits == 1)
    let second = try CompileCache(directory: dir.path)
    #expect(try runCached(second, graph) == true)
    #expect(second.statistics == { var s = CacheStatistics(); s.hits = 1; return s }())
    // The private load copies are gone; only the entry remains.
    #expect(try entryFiles(dir) == [key.hash + ".json", key.hash + ".so"])
  }

  /// One constant changes the key, and so does a location alone: locations reach the object
  /// as its debug line table.
  @Test func keyFollowsTheIR() throws {
    let a = try CompileCache.key(for: testGraph(2))
    let b = try CompileCache.key(for: testGraph(3))
    #expect(a.hash != b.hash)
    #expect(a.hash.count == 64)
    #expect(a.text.contains(codegenVersion))
    #expect(a.text.contains("cpu: \(try hostTarget().cpu)\n"))
    var located = try testGraph(2)
    located.functions[0].body.instructions[0].loc = Location(file: "Elsewhere.swift", line: 7)
    let locatedKey = try CompileCache.key(for: located)
    #expect(locatedKey.hash != a.hash)
    #expect(locatedKey.text.contains("Elsewhere.swift:7"))
    var movedLine = located
    movedLine.functions[0].body.instructions[0].loc = Location(file: "Elsewhere.swift", line: 8)
    #expect(try CompileCache.key(for: movedLine).hash != locatedKey.hash)
  }

  /// Without `loc`, an instruction's provenance is its position in the parsed file: the same
  /// text parsed as another file, or one line further down, gets another key.
  @Test func keyFollowsTheParsedPositions() throws {
    let text = """
      swiftgraph 1
      func @f(%x: f32[4]) -> f32[4] {
        %0 = tanh %x
        return %0
      }
      """
    let a = try CompileCache.key(for: loadGraph(text, file: "a.swiftgraph"))
    #expect(try CompileCache.key(for: loadGraph(text, file: "a.swiftgraph")) == a)
    #expect(try CompileCache.key(for: loadGraph(text, file: "b.swiftgraph")).hash != a.hash)
    let shifted = text.replacingOccurrences(of: "swiftgraph 1\n", with: "swiftgraph 1\n// a comment\n")
    #expect(try CompileCache.key(for: loadGraph(shifted, file: "a.swiftgraph")).hash != a.hash)
  }

  @Test func changedConstantMisses() throws {
    let dir = temporaryDirectory()
    let cache = try CompileCache(directory: dir.path)
    #expect(try runCached(cache, testGraph(2)) == false)
    #expect(try runCached(cache, testGraph(2.5)) == false)
    #expect(try runCached(cache, testGraph(2)) == true)
    #expect(try runCached(cache, testGraph(2.5)) == true)
    #expect(cache.statistics.compiles == 2)
    #expect(try entryFiles(dir).count == 4)
  }

  @Test func changedCPUMisses() throws {
    let dir = temporaryDirectory()
    let cache = try CompileCache(directory: dir.path)
    let host = try hostTarget().cpu
    let other = CompileOptions(target: TargetOptions(cpu: host == "x86-64" ? "nehalem" : "x86-64"))
    let graph = try testGraph()
    #expect(try runCached(cache, graph) == false)
    #expect(try runCached(cache, graph, options: other) == false)
    #expect(try cache.key(for: graph) != cache.key(for: graph, options: other))
    // Naming the host CPU explicitly is the same key as the default.
    #expect(try cache.key(for: graph) == cache.key(for: graph, options: CompileOptions(target: TargetOptions(cpu: host))))
    #expect(try runCached(cache, graph, options: other) == true)
    #expect(try runCached(cache, graph) == true)
    // Another vector width is another key too.
    #expect(try runCached(cache, graph, options: CompileOptions(target: TargetOptions(vectorWidth: 128))) == false)
  }

  /// Flipped bytes or a truncated library fail verification: the entry is rebuilt and replaced,
  /// and the rebuilt library works.
  @Test(arguments: ["flip", "truncate", "empty", "delete"])
  func corruptLibraryIsRebuilt(_ damage: String) throws {
    let dir = temporaryDirectory()
    let graph = try testGraph()
    let cache = try CompileCache(directory: dir.path)
    try runCached(cache, graph)
    let key = try cache.key(for: graph)
    let so = URL(fileURLWithPath: cache.libraryPath(for: key))
    let good = try Data(contentsOf: so)
    var bad = good
    switch damage {
    case "flip":
      for i in stride(from: 64, to: bad.count, by: 97) { bad[i] ^= 0x5a }
    case "truncate": bad = bad.prefix(bad.count / 2)
    case "empty": bad = Data()
    default: break
    }
    if damage == "delete" { try FileManager.default.removeItem(at: so) } else { try bad.write(to: so) }

    let fresh = try CompileCache(directory: dir.path)
    #expect(try runCached(fresh, graph) == false)
    #expect(fresh.statistics.missReasons == [.corrupt: 1])
    #expect(fresh.statistics.compiles == 1)
    #expect(try Data(contentsOf: so) == good)  // the code generator is deterministic
    #expect(try runCached(fresh, graph) == true)
  }

  /// A valid library and manifest of another graph, copied to this graph's key, are rejected.
  @Test func foreignEntryIsRejected() throws {
    let dir = temporaryDirectory()
    let cache = try CompileCache(directory: dir.path)
    let mine = try testGraph(2)
    let theirs = try testGraph(7)
    try runCached(cache, mine)
    try runCached(cache, theirs)
    let (k1, k2) = (try cache.key(for: mine), try cache.key(for: theirs))
    let fm = FileManager.default
    for (from, to) in [(cache.libraryPath(for: k2), cache.libraryPath(for: k1)), (cache.manifestPath(for: k2), cache.manifestPath(for: k1))] {
      try fm.removeItem(atPath: to)
      try fm.copyItem(atPath: from, toPath: to)
    }
    let fresh = try CompileCache(directory: dir.path)
    #expect(try runCached(fresh, mine) == false)  // runCached checks the results are mine
    #expect(fresh.statistics.missReasons == [.foreign: 1])
    #expect(try runCached(fresh, mine) == true)

    // Their library under my (intact) manifest fails the hash.
    try fm.removeItem(atPath: cache.libraryPath(for: k1))
    try fm.copyItem(atPath: cache.libraryPath(for: k2), toPath: cache.libraryPath(for: k1))
    #expect(try runCached(fresh, mine) == false)
    #expect(fresh.statistics.missReasons == [.foreign: 1, .corrupt: 1])
  }

  /// A manifest that is not what the cache writes is a miss, then overwritten.
  @Test(arguments: [
    "garbage \u{0}\u{1}\u{2}", "", "{}", "{\"format\": 1}", "[1, 2]",
    "{\"format\": 1, \"key\": \"x\", \"key\": \"y\"}",
  ])
  func garbageManifestIsRejected(_ text: String) throws {
    let (dir, graph, _, manifest, good) = try cachedTestGraph()
    #expect(try manifestObject(good)["library_sha256"] is String)
    try Data(text.utf8).write(to: URL(fileURLWithPath: manifest))
    let fresh = try CompileCache(directory: dir.path)
    #expect(try runCached(fresh, graph) == false)
    #expect(fresh.statistics.missReasons == [.badManifest: 1])
    #expect(try String(contentsOfFile: manifest, encoding: .utf8) == good)
    #expect(try runCached(fresh, graph) == true)
  }

  /// A manifest for this key but a different CPU or codegen version is foreign.
  @Test func manifestForAnotherTargetIsForeign() throws {
    let (dir, graph, key, manifest, good) = try cachedTestGraph()
    let object = try manifestObject(good)
    #expect(object["cpu"] as? String == key.cpu)
    #expect(object["codegen_version"] as? String == codegenVersion)
    // Control: the same fields written by another JSON writer still verify.
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: manifest))
    #expect(try runCached(CompileCache(directory: dir.path), graph) == true)
    for (field, value) in [("cpu", "pentium"), ("codegen_version", "nnc-codegen-0")] {
      var edited = object
      edited[field] = value
      try JSONSerialization.data(withJSONObject: edited).write(to: URL(fileURLWithPath: manifest))
      let fresh = try CompileCache(directory: dir.path)
      #expect(try runCached(fresh, graph) == false)
      #expect(fresh.statistics.missReasons == [.foreign: 1])
    }
  }

  @Test func directoryIsPrivate() throws {
    let base = temporaryDirectory()
    // Created with missing parents, mode 0700.
    let nested = base.appendingPathComponent("a/b/nnc")
    _ = try CompileCache(directory: nested.path)
    #expect(mode(nested.path) == 0o700)
    #expect(mode(base.appendingPathComponent("a").path) == 0o700)

    // Ours but readable by others: made private, entries kept.
    let graph = try testGraph()
    let readable = base.appendingPathComponent("readable")
    try runCached(CompileCache(directory: readable.path), graph)
    chmod(readable.path, 0o755)
    let reopened = try CompileCache(directory: readable.path)
    #expect(mode(readable.path) == 0o700)
    #expect(try runCached(reopened, graph) == true)

    // Writable by others: refused, and left exactly as it is (nothing made private, nothing
    // deleted; CacheSafetyTests checks that compile() still works through its fallback).
    let before = try entryFiles(readable)
    chmod(readable.path, 0o777)
    let error = #expect(throws: CodegenError.self) { try CompileCache(directory: readable.path) }
    #expect(error?.description.contains("is writable by others (mode 0777)") == true)
    #expect(mode(readable.path) == 0o777)
    #expect(try entryFiles(readable) == before && before.count == 2)
    chmod(readable.path, 0o770)
    #expect(throws: CodegenError.self) { try CompileCache(directory: readable.path) }
    #expect(mode(readable.path) == 0o770)

    // Not a directory.
    let file = base.appendingPathComponent("file")
    try Data("x".utf8).write(to: file)
    #expect(throws: CodegenError.self) { try CompileCache(directory: file.path) }
  }

  /// A cache directory that belongs to another user is refused with a clear error (needs root to
  /// give a directory away; skipped otherwise).
  @Test(.enabled(if: geteuid() == 0)) func foreignOwnedDirectoryIsRefused() throws {
    let dir = temporaryDirectory().appendingPathComponent("theirs")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
    #expect(chown(dir.path, 65534, 65534) == 0)
    let error = #expect(throws: CodegenError.self) { try CompileCache(directory: dir.path) }
    #expect(error?.description.contains("belongs to uid 65534") == true)
    #expect(error?.description.contains("NNC_CACHE_DIR") == true)
  }

  @Test func defaultDirectoryFollowsTheEnvironment() {
    #expect(CompileCache.defaultDirectory(environment: ["NNC_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"]) == "/c")
    #expect(CompileCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]) == "/x/nnc")
    #expect(CompileCache.defaultDirectory(environment: ["NNC_CACHE_DIR": "", "XDG_CACHE_HOME": "rel", "HOME": "/h"]) == "/h/.cache/nnc")
    #expect(CompileCache.defaultDirectory(environment: [:]) == nil)
  }

  /// Temporaries of a process that died long ago are removed when a cache is opened; those of
  /// live processes are left alone.
  @Test func staleTemporariesAreSwept() throws {
    let dir = temporaryDirectory()
    _ = try CompileCache(directory: dir.path)
    let dead = dir.appendingPathComponent(".tmp-999999999-0123456789abcdef.so")
    let live = dir.appendingPathComponent(".tmp-\(getpid())-0123456789abcdef.so")
    for u in [dead, live] {
      try Data("partial".utf8).write(to: u)
      var times = [timeval(tv_sec: 1_000_000, tv_usec: 0), timeval(tv_sec: 1_000_000, tv_usec: 0)]
      _ = utimes(u.path, &times)
    }
    _ = try CompileCache(directory: dir.path)
    #expect(!FileManager.default.fileExists(atPath: dead.path))
    // Older than a day: removed even though the pid is alive (it may be a reused pid).
    #expect(!FileManager.default.fileExists(atPath: live.path))
    let recent = dir.appendingPathComponent(".tmp-999999999-fedcba9876543210.so")
    try Data("partial".utf8).write(to: recent)
    _ = try CompileCache(directory: dir.path)
    #expect(FileManager.default.fileExists(atPath: recent.path))  // too young to judge
  }

  /// Threads with their own caches on one directory, compiling the same graph at once: every
  /// one gets a working library and one valid entry remains.
  @Test func concurrentThreadsLeaveOneValidEntry() async throws {
    let dir = temporaryDirectory()
    let graph = try testGraph(4)
    try await withThrowingTaskGroup(of: Bool.self) { group in
      for _ in 0..<4 {
        group.addTask { try runCached(CompileCache(directory: dir.path), graph) }
      }
      for try await _ in group {}
    }
    let key = try CompileCache.key(for: graph)
    #expect(try entryFiles(dir) == [key.hash + ".json", key.hash + ".so"])
    let check = try CompileCache(directory: dir.path)
    #expect(try runCached(check, graph) == true)
  }

  /// Two processes compiling the same graph at once (this test binary re-run as children; see
  /// the top of the file) leave one valid entry, and both get a working library.
  @Test func concurrentProcessesLeaveOneValidEntry() throws {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let dir = temporaryDirectory().appendingPathComponent("shared")
    var children: [(Process, Pipe)] = []
    for _ in 0..<2 {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: exe)
      p.arguments = ["--testing-library", "swift-testing", "--filter", "CacheChildProcess"]
      var env = ProcessInfo.processInfo.environment
      env["NNC_CACHE_CHILD_DIR"] = dir.path
      p.environment = env
      let pipe = Pipe()
      p.standardOutput = pipe
      p.standardError = pipe
      try p.run()
      children.append((p, pipe))
    }
    // Start both compiles together once both children are ready.
    let deadline = Date().addingTimeInterval(120)
    func readyCount() -> Int {
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasPrefix("ready-") }.count
    }
    while readyCount() < 2 && Date() < deadline && children.allSatisfy({ $0.0.isRunning }) { usleep(10_000) }
    FileManager.default.createFile(atPath: dir.appendingPathComponent("go").path, contents: Data())
    var results: [String] = []
    for (p, pipe) in children {
      let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      #expect(p.terminationStatus == 0, "child failed:\n\(output)")
      results.append(output)
    }
    let graph = try testGraph(5)
    let key = try CompileCache.key(for: graph)
    let names = try listing(dir).filter { !$0.hasPrefix("ready-") && !$0.hasPrefix("result-") && $0 != "go" && $0 != ".lock" }
    #expect(names == [key.hash + ".json", key.hash + ".so"])
    // Each child reports whether it hit; both ran the library and checked it.
    let reports = try listing(dir).filter { $0.hasPrefix("result-") }.map {
      try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)
    }
    #expect(reports.count == 2, "\(results)")
    #expect(reports.allSatisfy { $0 == "hit" || $0 == "miss" })
    let check = try CompileCache(directory: dir.path)
    #expect(try runCached(check, graph) == true)
    #expect(check.statistics.missReasons.isEmpty)
  }
}

/// The child half of `concurrentProcessesLeaveOneValidEntry`; does nothing unless
/// NNC_CACHE_CHILD_DIR is set.
@Suite struct CacheChildProcess {
  @Test func compileInChild() throws {
    guard let path = ProcessInfo.processInfo.environment["NNC_CACHE_CHILD_DIR"] else { return }
    let dir = URL(fileURLWithPath: path)
    let cache = try CompileCache(directory: dir.path)
    let graph = try testGraph(5)
    let key = try cache.key(for: graph)  // before the signal: only the compile should overlap
    _ = key
    FileManager.default.createFile(atPath: dir.appendingPathComponent("ready-\(getpid())").path, contents: Data())
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("go").path) && Date() < deadline {
      usleep(1_000)
    }
    let hit = try runCached(cache, graph)
    try Data((hit ? "hit" : "miss").utf8).write(to: dir.appendingPathComponent("result-\(getpid())"))
  }
}
