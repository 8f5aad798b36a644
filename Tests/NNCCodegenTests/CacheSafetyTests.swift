// The compile cache against files, symlinks and directories someone else could plant: a symlink
// at the cache path, the directory swapped for a symlink after it was opened, a planted `.lock`
// symlink, a directory or FIFO in an entry's place, entries owned by another user, a directory
// others can write to (refused; compile() falls back to compiling without the cache). Then the
// size limit (least recently used entries evicted) and `nnc cache stats|clear`.
//
// "Another user" is simulated with files, modes and symlinks the tests create themselves (and,
// when the tests run as root, with chown to uid 65534, which needs no such user to exist). The
// fallback test re-runs this test binary as a child (as CacheTests' two-process test does) with
// NNC_CACHE_FALLBACK_RESULT set, so that its process-wide shared cache reads NNC_CACHE_DIR.

import Dispatch
import Foundation
import NNC
import NNCCache
import NNCCodegen
import NNCIR
import NNCRuntime
import NNCTestSupport
import Testing

/// A value set from another thread.
private final class Box<T>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: T?
  func set(_ v: T) { lock.withLock { value = v } }
  var get: T? { lock.withLock { value } }
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it: nil when it did not
/// finish in time (the thread is left behind), else its result.
private func withTimeout<T: Sendable>(
  _ seconds: Double, _ body: @escaping @Sendable () throws -> T
) -> Result<T, any Error>? {
  let box = Box<Result<T, any Error>>()
  let done = DispatchSemaphore(value: 0)
  Thread.detachNewThread {
    box.set(Result { try body() })
    done.signal()
  }
  guard done.wait(timeout: .now() + seconds) == .success else { return nil }
  return box.get
}

private func write(_ text: String, to url: URL) throws { try Data(text.utf8).write(to: url) }

private func isSymlink(_ path: String) -> Bool {
  var st = stat()
  return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
}

private func exists(_ path: String) -> Bool {
  var st = stat()
  return lstat(path, &st) == 0
}

/// Every name under `dir` (recursively, relative, sorted) with its bytes ("" for directories).
private func snapshot(_ dir: URL) throws -> [String: Data] {
  var out: [String: Data] = [:]
  let fm = FileManager.default
  for name in try fm.subpathsOfDirectory(atPath: dir.path) {
    let path = dir.appendingPathComponent(name).path
    var isDir: ObjCBool = false
    _ = fm.fileExists(atPath: path, isDirectory: &isDir)
    out[name] = isDir.boolValue ? Data() : try Data(contentsOf: URL(fileURLWithPath: path))
  }
  return out
}

@Suite struct CacheSafetyTests {
  /// A symlink at the cache path (say NNC_CACHE_DIR under /tmp, planted by another user) is
  /// refused: the directory it points to is neither made private nor emptied. A dangling one
  /// creates nothing at its target.
  @Test func symlinkAtTheCachePathIsRefused() throws {
    let base = temporaryDirectory()
    let victim = base.appendingPathComponent("victim")
    try FileManager.default.createDirectory(at: victim, withIntermediateDirectories: false)
    let hex = String(repeating: "ab", count: 32)
    for name in ["\(hex).so", "\(hex).json", ".tmp-999999999-0000000000000000.so", "notes.txt"] {
      try write("theirs", to: victim.appendingPathComponent(name))
    }
    chmod(victim.path, 0o755)
    let before = try snapshot(victim)
    let link = base.appendingPathComponent("cache")
    try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: victim.path)
    for path in [link.path, link.path + "/", link.path + "//"] {
      let error = #expect(throws: CodegenError.self) { try CompileCache(directory: path) }
      #expect(error?.description.contains("is a symbolic link") == true, "\(path)")
    }
    #expect(mode(victim.path) == 0o755)
    #expect(try snapshot(victim) == before)

    let dangling = base.appendingPathComponent("dangling")
    let target = base.appendingPathComponent("target")
    try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: target.path)
    #expect(throws: CodegenError.self) { try CompileCache(directory: dangling.path) }
    #expect(!exists(target.path))
    // A symlink further up the path is an ordinary way to lay out a home directory: allowed.
    let viaLink = base.appendingPathComponent("cache/sub")
    let sub = try CompileCache(directory: viaLink.path)
    #expect(mode(victim.appendingPathComponent("sub").path) == 0o700)
    _ = sub
  }

  /// Someone who can write to the cache directory's parent swaps the directory for a symlink to
  /// theirs after the cache opened it. The cache keeps working in the directory it opened (its
  /// descriptor): their library, which would verify there, is never loaded, and nothing is
  /// written to their directory.
  @Test func directorySwappedAfterOpeningIsNotFollowed() throws {
    let base = temporaryDirectory()
    let dir = base.appendingPathComponent("cache")
    let cache = try CompileCache(directory: dir.path)
    let mine = try testGraph(2)
    #expect(try runCached(cache, mine) == false)
    let key = try cache.key(for: mine)

    // Their entry for my key: their library (another constant) with a manifest that matches it.
    let theirDir = base.appendingPathComponent("planted")
    let builder = try CompileCache(directory: base.appendingPathComponent("builder").path)
    let theirs = try testGraph(9)
    try runCached(builder, theirs)
    let theirKey = try builder.key(for: theirs)
    let library = try Data(contentsOf: URL(fileURLWithPath: builder.libraryPath(for: theirKey)))
    var manifest = try manifestObject(String(contentsOfFile: builder.manifestPath(for: theirKey), encoding: .utf8))
    let myManifest = try manifestObject(String(contentsOfFile: cache.manifestPath(for: key), encoding: .utf8))
    manifest["key"] = myManifest["key"]
    try FileManager.default.createDirectory(at: theirDir, withIntermediateDirectories: false)
    chmod(theirDir.path, 0o700)
    try library.write(to: theirDir.appendingPathComponent(key.hash + ".so"))
    try JSONSerialization.data(withJSONObject: manifest).write(to: theirDir.appendingPathComponent(key.hash + ".json"))
    // Control: reached as a directory of its own, the planted entry verifies and would load.
    let reached = try CompileCache(directory: theirDir.path).lookup(mine)
    #expect(reached.hit)
    reached.discardLoadFile()
    let planted = try snapshot(theirDir)

    // The swap.
    try FileManager.default.moveItem(at: dir, to: base.appendingPathComponent("cache.orig"))
    try FileManager.default.createSymbolicLink(atPath: dir.path, withDestinationPath: theirDir.path)

    // runCached checks the results against the interpreter: their library would fail that.
    #expect(try runCached(cache, mine) == true)
    let other = try testGraph(3)
    #expect(try runCached(cache, other) == false)
    let otherKey = try cache.key(for: other)
    let names = try listing(base.appendingPathComponent("cache.orig"))
    #expect(names.contains(otherKey.hash + ".so") && names.contains(otherKey.hash + ".json"))
    #expect(try snapshot(theirDir) == planted)
    #expect(cache.statistics.hits == 1 && cache.statistics.compiles == 2)
  }

  /// A `.lock` symlink planted in the directory is never followed: not to an existing file
  /// (which this test holds locked, so following it would block the lookup), and a dangling one
  /// creates no file at its target. The cache works without the lock.
  @Test func plantedLockSymlinkIsNotFollowed() throws {
    let base = temporaryDirectory()
    let graph = try testGraph(11)

    let dir = base.appendingPathComponent("cache")
    let cache = try CompileCache(directory: dir.path)
    let victim = base.appendingPathComponent("victim")
    try write("precious", to: victim)
    let lock = dir.appendingPathComponent(".lock").path
    try? FileManager.default.removeItem(atPath: lock)
    try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: victim.path)
    let held = open(victim.path, O_RDONLY)
    #expect(held >= 0 && flock(held, LOCK_EX) == 0)
    let outcome = withTimeout(20) { (try runCached(cache, graph), try runCached(cache, graph)) }
    close(held)
    let result = try #require(outcome, "the lookup waited for a lock taken through the planted symlink")
    #expect(try result.get() == (false, true))  // a miss, then a hit
    #expect(cache.statistics.hits == 1 && cache.statistics.compiles == 1)
    #expect(try String(contentsOf: victim, encoding: .utf8) == "precious")
    #expect(isSymlink(lock))

    let dir2 = base.appendingPathComponent("cache2")
    let cache2 = try CompileCache(directory: dir2.path)
    let target = base.appendingPathComponent("created-by-nnc")
    let lock2 = dir2.appendingPathComponent(".lock").path
    try? FileManager.default.removeItem(atPath: lock2)
    try FileManager.default.createSymbolicLink(atPath: lock2, withDestinationPath: target.path)
    #expect(try runCached(cache2, graph) == false)
    #expect(try runCached(cache2, graph) == true)
    #expect(cache2.usage().entries == 1)
    _ = cache2.clear()
    #expect(!exists(target.path))
    #expect(isSymlink(lock2))
  }

  /// A directory named `<key>.so` or `<key>.json` (anyone can compute the key from the graph):
  /// the graph still compiles and runs (a miss, not stored), and the directory and its contents
  /// are left alone.
  @Test(arguments: ["so", "json"]) func directoryInAnEntrysPlace(_ ext: String) throws {
    let dir = temporaryDirectory()
    let graph = try testGraph(12)
    let cache = try CompileCache(directory: dir.path)
    let key = try cache.key(for: graph)
    let squat = dir.appendingPathComponent("\(key.hash).\(ext)")
    try FileManager.default.createDirectory(at: squat, withIntermediateDirectories: false)
    try write("theirs", to: squat.appendingPathComponent("keep"))
    let log = EventLog()
    cache.observe { log.append($0) }
    #expect(try runCached(cache, graph) == false)
    #expect(try runCached(cache, graph) == false)
    #expect(cache.statistics.compiles == 2)
    let reason: CacheMissReason = ext == "so" ? .absent : .unusable
    #expect(cache.statistics.missReasons == [reason: 2])
    #expect(log.events.contains { if case .notStored(key.hash, _) = $0 { true } else { false } })
    #expect(!log.events.contains(.stored(key: key.hash)))
    #expect(try String(contentsOf: squat.appendingPathComponent("keep"), encoding: .utf8) == "theirs")
  }

  /// A FIFO as an entry's library or manifest: the lookup neither hangs (opening it does not
  /// wait for a writer) nor replaces it; it is a miss and the graph still compiles.
  @Test(arguments: ["so", "json"]) func fifoInAnEntrysPlace(_ ext: String) throws {
    let (dir, graph, key, _, _) = try cachedTestGraph()
    let path = dir.appendingPathComponent("\(key.hash).\(ext)").path
    try FileManager.default.removeItem(atPath: path)
    #expect(mkfifo(path, 0o600) == 0)
    let cache = try CompileCache(directory: dir.path)
    let outcome = withTimeout(20) { try runCached(cache, graph) }
    let result = try #require(outcome, "the lookup hung on the FIFO")
    #expect(try result.get() == false)
    #expect(cache.statistics.missReasons == [.unusable: 1])
    var st = stat()
    #expect(lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
  }

  /// An entry whose files belong to another user (a planted library with a manifest that
  /// matches it) is not loaded and not replaced (needs root to give files away).
  @Test(.enabled(if: geteuid() == 0)) func entryOfAnotherUserIsUnusable() throws {
    let (dir, graph, key, manifest, _) = try cachedTestGraph()
    let library = dir.appendingPathComponent(key.hash + ".so").path
    #expect(chown(library, 65534, 65534) == 0)
    let cache = try CompileCache(directory: dir.path)
    #expect(try runCached(cache, graph) == false)
    #expect(cache.statistics.missReasons == [.unusable: 1])
    var st = stat()
    #expect(stat(library, &st) == 0 && st.st_uid == 65534)  // not replaced
    // The manifest given away too: refused before the library is read.
    #expect(chown(manifest, 65534, 65534) == 0)
    #expect(try runCached(cache, graph) == false)
    #expect(cache.statistics.missReasons == [.unusable: 2])
    #expect(stat(manifest, &st) == 0 && st.st_uid == 65534)
  }

  /// Compiling without a cache builds in a private temporary directory that discarding removes.
  @Test func compileWithoutCacheLeavesNothing() throws {
    let graph = try testGraph(13)
    let lib = try CompileCache.compileWithoutCache(graph)
    #expect(!lib.hit && lib.entryPath == nil)
    let loaded = try SharedLibrary(path: lib.loadPath)
    let f = graph.functions[0]
    let entry = try CompiledEntry(function: f, library: loaded, symbol: EntryNames(f.name).packed)
    #expect(try entry.run(cacheTestInputs) == Interpreter.run(f, cacheTestInputs))
    let parent = URL(fileURLWithPath: lib.loadPath).deletingLastPathComponent().path
    #expect(mode(parent) == 0o700)
    lib.discardLoadFile()
    #expect(!exists(parent))
  }

  /// A cache directory others can write to is refused, and left as it is; `compile()` (through
  /// the shared cache, in a child process with NNC_CACHE_DIR pointing there) warns once on
  /// stderr and compiles without the cache.
  @Test func worldWritableDirectoryFallsBackWithAWarning() throws {
    let base = temporaryDirectory()
    let dir = base.appendingPathComponent("shared")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
    let hex = String(repeating: "cd", count: 32)
    try write("theirs", to: dir.appendingPathComponent("\(hex).so"))
    try write("{}", to: dir.appendingPathComponent("\(hex).json"))
    chmod(dir.path, 0o777)
    let before = try snapshot(dir)
    #expect(throws: CodegenError.self) { try CompileCache(directory: dir.path) }

    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let resultFile = base.appendingPathComponent("result")
    let run = try runExecutable(
      URL(fileURLWithPath: exe), ["--testing-library", "swift-testing", "--filter", "CacheFallbackChild"], in: base,
      environment: ["NNC_CACHE_DIR": dir.path, "NNC_CACHE_FALLBACK_RESULT": resultFile.path])
    #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
    #expect(try String(contentsOf: resultFile, encoding: .utf8) == "ok")
    let warning =
      "nnc: warning: compile cache \(dir.path) is writable by others (mode 0777); compiling without the cache "
      + "(set NNC_CACHE_DIR to a private directory)\n"
    #expect(run.stderr.components(separatedBy: warning).count == 2, "stderr: \(run.stderr)")
    #expect(mode(dir.path) == 0o777)
    #expect(try snapshot(dir) == before)
  }

  // MARK: Size

  @Test func sizeLimitFollowsTheEnvironment() {
    let d = CompileCache.defaultMaxBytes
    #expect(d == 1 << 30)
    for (text, bytes) in [
      ("", d), ("1000", 1000), ("64K", 65536), ("3M", 3 << 20), ("2g", 2 << 30), ("0", 0), ("x", d), ("-5", d),
      ("1.5G", d), ("K", d), ("99999999999999999999G", d), ("9999999999G", Int.max),
    ] {
      #expect(CompileCache.maxBytes(environment: ["NNC_CACHE_MAX_BYTES": text]) == bytes, "\(text)")
    }
    #expect(CompileCache.maxBytes(environment: [:]) == d)
  }

  /// With room for two entries, storing a third evicts the least recently used one; a hit
  /// counts as a use. The entry just stored stays even when it alone is over the limit.
  @Test func leastRecentlyUsedEntriesAreEvicted() throws {
    let measure = temporaryDirectory()
    let sizing = try CompileCache(directory: measure.path)
    try runCached(sizing, testGraph(21))
    let entryBytes = sizing.usage().bytes
    #expect(entryBytes > 1000)

    let dir = temporaryDirectory()
    let cache = try CompileCache(directory: dir.path, maxBytes: 2 * entryBytes + entryBytes / 2)
    let log = EventLog()
    cache.observe { log.append($0) }
    let (g1, g2, g3) = (try testGraph(21), try testGraph(22), try testGraph(23))
    let (k1, k2, k3) = (try cache.key(for: g1).hash, try cache.key(for: g2).hash, try cache.key(for: g3).hash)
    func pause() { usleep(30_000) }  // file times are as coarse as the kernel's tick
    #expect(try runCached(cache, g1) == false)
    pause()
    #expect(try runCached(cache, g2) == false)
    pause()
    #expect(try runCached(cache, g1) == true)  // g1 is now the more recently used
    pause()
    #expect(cache.usage().entries == 2)
    #expect(try runCached(cache, g3) == false)
    #expect(log.events.filter { if case .evicted = $0 { true } else { false } } == [.evicted(key: k2)])
    #expect(try entryFiles(dir) == [k1, k3].sorted().flatMap { [$0 + ".json", $0 + ".so"] })
    pause()
    #expect(try runCached(cache, g2) == false)  // evicted: a miss, stored again, evicting g1
    #expect(cache.statistics.missReasons[.absent] == 4)
    #expect(try entryFiles(dir) == [k2, k3].sorted().flatMap { [$0 + ".json", $0 + ".so"] })
    #expect(cache.statistics.evictions == 2)

    let tiny = try CompileCache(directory: dir.path, maxBytes: 0)
    #expect(try runCached(tiny, g1) == false)
    #expect(try entryFiles(dir) == [k1 + ".json", k1 + ".so"])
    #expect(try runCached(tiny, g1) == true)
  }

  // MARK: nnc cache

  @Test func cacheCommandsShowAndClearOnlyEntries() throws {
    let exe = try #require(NNCTool.binary, "the nnc executable was not found")
    let dir = temporaryDirectory().appendingPathComponent("cache")
    let cache = try CompileCache(directory: dir.path)
    try runCached(cache, testGraph(31))
    try runCached(cache, testGraph(32))
    let bytes = cache.usage().bytes
    // Things nnc did not write: kept by `clear`.
    try write("mine", to: dir.appendingPathComponent("notes.txt"))
    try write("x", to: dir.appendingPathComponent(String(repeating: "A", count: 64) + ".so"))
    let squat = dir.appendingPathComponent(String(repeating: "e", count: 64) + ".so")
    try FileManager.default.createDirectory(at: squat, withIntermediateDirectories: false)
    let env = ["NNC_CACHE_DIR": dir.path, "NNC_CACHE_MAX_BYTES": "5M"]

    let stats = try runExecutable(exe, ["cache", "stats"], in: dir, environment: env)
    #expect(stats.status == 0, "\(stats.stderr)")
    #expect(stats.stdout == "directory: \(dir.path)\nentries: 2\nbytes: \(bytes)\nlimit: \(5 << 20)\n")

    let clear = try runExecutable(exe, ["cache", "clear"], in: dir, environment: env)
    #expect(clear.status == 0, "\(clear.stderr)")
    #expect(clear.stdout == "removed 2 entries (\(bytes) bytes) from \(dir.path)\n")
    #expect(try entryFiles(dir) == [String(repeating: "A", count: 64) + ".so", squat.lastPathComponent, "notes.txt"])
    let after = try runExecutable(exe, ["cache", "stats"], in: dir, environment: env)
    #expect(after.stdout.contains("entries: 0\nbytes: 0\n"))

    // An unsafe directory is an error, and is left alone.
    chmod(dir.path, 0o777)
    let refused = try runExecutable(exe, ["cache", "clear"], in: dir, environment: env)
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("error: compile cache: \(dir.path) is writable by others"))
    #expect(try entryFiles(dir).count == 3)

    let help = try runExecutable(exe, ["cache", "--help"], in: dir)
    for text in ["stats", "clear", "NNC_CACHE_DIR", "NNC_CACHE_MAX_BYTES"] {
      #expect(help.stdout.contains(text), "nnc cache --help does not mention \(text)")
    }
  }
}

/// The child half of `worldWritableDirectoryFallsBackWithAWarning`: compiles two functions with
/// the library's `compile()` (the shared cache, from NNC_CACHE_DIR), checks them against the
/// interpreter and writes "ok" to NNC_CACHE_FALLBACK_RESULT. Does nothing when that is unset.
@Suite struct CacheFallbackChild {
  @Test func compileThroughTheSharedCache() throws {
    guard let result = ProcessInfo.processInfo.environment["NNC_CACHE_FALLBACK_RESULT"] else { return }
    for c in [41.0, 42.0] {
      let f = try testGraph(c).functions[0]
      let compiled = try compile(f)
      #expect(!compiled.cacheHit)
      let got = try compiled.run(cacheTestInputs)
      #expect(got == (try Interpreter.run(f, cacheTestInputs)))
    }
    try Data("ok".utf8).write(to: URL(fileURLWithPath: result))
  }
}
