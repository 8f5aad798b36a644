// A content-addressed on-disk cache of compiled shared libraries, so a graph compiled once (by
// any process of the same user) is only verified and loaded the next time.
//
// Key. SHA-256 (swift-crypto) of a key text that holds everything the library's bytes depend
// on: the cache format, `codegenVersion`, the LLVM target triple, the resolved CPU name and
// feature string (a nil `TargetOptions.cpu`/`features` is replaced by the host's before hashing,
// so a library built for one machine is never reused on a different one), the preferred vector
// width, the canonical IR text of the graph with its `loc(...)` attributes, and the source
// positions the object's debug line table is made of (`debugProvenanceText`: each function's
// and instruction's provenance, the parsed file's positions included). Locations reach the
// object as DWARF lines, so a graph that differs from another only in where it came from (the
// same program traced from another line, the same file with a line added) gets its own entry:
// a shared one would show the other graph's lines in a profiler or debugger.
// `emitAssembly`/`emitLLVMIR` do not change the object and are not part of the key.
//
// Layout. One flat directory, private to the user (owned by them, mode 0700):
//   <key>.so                         the linked library
//   <key>.json                       its manifest (JSON, Codable): format, key, SHA-256 and size
//                                    of the .so bytes, codegen version, triple, CPU, features,
//                                    vector width; its modification time is the entry's last use
//   .lock                            flock(2)ed while an entry's two files are read or replaced
//   .tmp-<pid>-<random>.{so,json}    files being written (renamed into place when complete)
//   .load-<pid>-<random>.so          a verified private copy handed to dlopen (see below)
// Temporaries left by a process that died are removed when a cache is opened. Nothing else in
// the directory is ever touched, and only regular files of this user are read, replaced or
// removed.
//
// The directory, once. It is `$NNC_CACHE_DIR`, else `$XDG_CACHE_HOME/nnc`, else
// `$HOME/.cache/nnc` (or the home directory from the password database); missing components
// are created with mode 0700. It is opened once, with O_NOFOLLOW | O_DIRECTORY, and checked on
// that descriptor (fstat): it must be a directory (not a symlink to one), owned by this user,
// and not writable by group or others. When group or others may read or search it, its mode is
// set to 0700 (fchmod on the descriptor). Every later operation is relative to the descriptor
// (openat, renameat, unlinkat, fstatat), so replacing the directory or a path component after
// the check (possible when a parent is writable by someone else) cannot redirect anything. An
// unsafe directory is refused, never repaired by deleting files: `CompileCache(directory:)`
// throws, and the library's `compile()` compiles without the cache (a private temporary
// directory) after a one-line warning on stderr, once per process (`lookupThroughSharedCache`).
//
// Files. Every file is opened with O_NOFOLLOW | O_NONBLOCK and used only when fstat says it is
// a regular file owned by this user: a symlink, directory, FIFO, socket or device in an entry's
// place is a miss (`unusable`) and is left alone (the entry is then not stored; the library is
// still compiled and loaded), and opening a FIFO cannot hang. New files are created with
// O_CREAT | O_EXCL | O_NOFOLLOW. The lock file is opened with O_NOFOLLOW (a planted symlink,
// dangling or not, is never followed and creates nothing at its target) and used only when it
// is a regular file of ours; otherwise the cache works without the lock (see below: the lock
// only narrows races that verification already handles).
//
// Writes are atomic: every file is written under a fresh temporary name (O_EXCL) in the same
// directory and renamed into place; the .so is renamed before the manifest, both under an
// exclusive flock of `.lock`, and readers hold a shared lock while reading the pair, so a reader
// never sees a manifest with another writer's library. Two processes compiling the same graph at
// once both compile and both publish; the last rename wins and both libraries are valid, so one
// valid entry remains. No fsync: after a crash an entry may be torn, which verification detects.
//
// Verification. A lookup reads the manifest and the library bytes into memory and treats the
// entry as a miss (rebuilt and replaced atomically) when the manifest is missing, does not
// decode, or is for another key, codegen version, CPU or features (a foreign entry), when a file
// is not a regular file of ours, or when the bytes' size or SHA-256 differ from the manifest (a
// corrupt, truncated or replaced library). An unverified file is never handed out for loading.
//
// Building. On a miss the object is written and linked (`cc -shared`) in a fresh private
// temporary directory (mkdtemp), whose library bytes are read into memory; those bytes are
// stored as the entry and loaded, so the linker never works on paths in the cache directory.
//
// Loading. `dlopen` caches by path and the cache path is replaced by rename, so the verified
// bytes (the ones hashed, from memory) are written to a private `.load-<pid>-<random>.so`
// (O_EXCL) that exists only for this load, and handed out as `/proc/self/fd/<dirfd>/<name>`, a
// path that reaches the file through the descriptor: the caller dlopens it and then discards it
// (`discardLoadFile`; the mapping stays valid on Linux after unlink). Each load therefore gets
// its own handle and no file can change between verification and dlopen. (Without procfs the
// load file goes to a private temporary directory instead.) Hard links were rejected because a
// hard link shares the inode with the cache entry, so verifying it and loading it are two reads
// of a file someone else could still write through.
//
// Size. The cache holds at most `maxBytes` bytes of entries (`NNC_CACHE_MAX_BYTES`, default
// 1 GiB). A verified hit sets the manifest's modification time to now (utimensat relative to the
// descriptor); after every store, under the exclusive lock, whole entries (manifest and library
// together) are removed oldest use first until the total fits, never the entry just stored.

import Foundation
import NNCCodegen
import NNCIR
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Why a lookup did not use an existing entry.
public enum CacheMissReason: String, Sendable, Hashable, CaseIterable {
  /// No manifest for the key.
  case absent
  /// The manifest does not decode, lacks fields or is too large.
  case badManifest
  /// The manifest is for another key, codegen version, CPU or features.
  case foreign
  /// The library is missing, or its size or SHA-256 differs from the manifest.
  case corrupt
  /// The manifest or the library is not a regular file of this user (a symlink, directory,
  /// FIFO, socket, device, or another user's file). Such a file is left where it is.
  case unusable
}

/// What a cache did, for tests and diagnostics.
public enum CacheEvent: Sendable, Equatable {
  /// An entry verified and was loaded.
  case hit(key: String)
  /// No usable entry; the library is compiled.
  case miss(key: String, reason: CacheMissReason)
  /// A library was compiled and linked for the key.
  case compiled(key: String)
  /// A new entry was renamed into place.
  case stored(key: String)
  /// The compiled library was used but not stored (`reason` says why, e.g. something that is
  /// not a regular file of ours is in the entry's place, or the disk is full).
  case notStored(key: String, reason: String)
  /// An entry was removed to keep the cache within its size limit.
  case evicted(key: String)
}

/// Counters of one `CompileCache` (this process only).
public struct CacheStatistics: Sendable, Equatable {
  /// Lookups that loaded a verified entry.
  public var hits = 0
  /// Lookups that found no usable entry.
  public var misses = 0
  /// Libraries compiled and linked (one per miss unless the compile failed).
  public var compiles = 0
  /// Entries removed by the size limit.
  public var evictions = 0
  /// Misses by reason.
  public var missReasons: [CacheMissReason: Int] = [:]
  /// No events yet.
  public init() {}
}

/// How much a cache directory holds.
public struct CacheUsage: Sendable, Equatable {
  /// Entries (keys with a library or a manifest).
  public var entries: Int
  /// The bytes of their files (libraries and manifests).
  public var bytes: Int
  /// A count of `entries` entries holding `bytes` bytes.
  public init(entries: Int, bytes: Int) {
    self.entries = entries
    self.bytes = bytes
  }
}

/// The cache key of one graph under one set of options, with the text it hashes.
public struct CacheKey: Sendable, Equatable {
  /// 64 hex digits: SHA-256 of `text`.
  public var hash: String
  /// Everything the library depends on, one field a line, then the IR.
  public var text: String
  /// The LLVM target triple.
  public var triple: String
  /// The CPU name (the host's when the options named none).
  public var cpu: String
  /// The feature string (the host's when the options named none).
  public var features: String
  /// The preferred vector width in bits, nil for the target's default.
  public var vectorWidth: Int?
}

/// The result of a lookup: a verified library file to load, private to this load.
public struct CachedLibrary: Sendable {
  /// The key the library was found or built under.
  public var key: CacheKey
  /// True when the entry was found and verified; false when it was (re)built.
  public var hit: Bool
  /// The verified library bytes in a file of their own: dlopen it, then `discardLoadFile()`.
  /// Valid in this process only, while the cache that made it is alive.
  public var loadPath: String
  /// The entry's library in the cache directory (for messages; never to be loaded directly);
  /// nil when the library was compiled without a cache.
  public var entryPath: String?
  let discard: @Sendable () -> Void

  /// Removes the private load file (after dlopen, or when it is not going to be loaded).
  public func discardLoadFile() { discard() }
}

/// A content-addressed on-disk cache of compiled shared libraries (see the top of Cache.swift
/// for the key, layout, directory checks, atomicity, verification, loading and size rules). Safe
/// to use from several threads and several processes at once.
public final class CompileCache: Sendable {
  /// The cache directory, as given without trailing slashes (for messages: the cache works
  /// through a descriptor).
  public let directory: String
  /// The most bytes of entries kept; older entries are evicted after a store beyond it.
  public let maxBytes: Int
  let handle: DirectoryHandle
  private let state = Mutex(CacheStatistics())
  private let observers = Mutex<[@Sendable (CacheEvent) -> Void]>([])
  private let lockWarned = Mutex(false)

  /// The size limit when neither `maxBytes` nor `NNC_CACHE_MAX_BYTES` gives one: 1 GiB.
  public static let defaultMaxBytes = 1 << 30

  /// Opens (creating when needed, mode 0700) the cache in `directory`, or in
  /// `CompileCache.defaultDirectory()`, holding at most `maxBytes` bytes (else
  /// `NNC_CACHE_MAX_BYTES`, else `defaultMaxBytes`).
  ///
  /// Throws `CodegenError` when there is no directory, when it cannot be created or opened, and
  /// when it is unsafe: a symbolic link, not a directory, owned by another user, or writable by
  /// group or others. Nothing in an unsafe directory is changed or deleted.
  public convenience init(directory: String? = nil, maxBytes: Int? = nil) throws(CodegenError) {
    switch CompileCache.openDirectory(directory) {
    case .success(let (dir, handle)): self.init(directory: dir, handle: handle, maxBytes: maxBytes)
    case .failure(let f): throw f.error
    }
  }

  private init(directory: String, handle: DirectoryHandle, maxBytes: Int?) {
    self.directory = directory
    self.handle = handle
    self.maxBytes = max(0, maxBytes ?? CompileCache.maxBytes(environment: ProcessInfo.processInfo.environment))
    sweepStaleTemporaries(all: false)
  }

  /// Why a cache directory could not be opened.
  private struct OpenFailure: Error {
    /// The directory, nil when the environment names none.
    var directory: String?
    var problem: DirectoryProblem?

    /// The error `init(directory:maxBytes:)` throws.
    var error: CodegenError {
      guard let directory, let problem else {
        return CodegenError("compile cache: no directory (set NNC_CACHE_DIR, XDG_CACHE_HOME or HOME)")
      }
      return CodegenError(
        "compile cache: \(directory) \(problem.phrase); set NNC_CACHE_DIR to a private directory of your own")
    }

    /// The line `lookupThroughSharedCache` writes to stderr.
    var warning: String {
      guard let directory, let problem else {
        return "nnc: warning: no compile cache directory (NNC_CACHE_DIR, XDG_CACHE_HOME and HOME are unset); "
          + "compiling without the cache\n"
      }
      return "nnc: warning: compile cache \(directory) \(problem.phrase); compiling without the cache "
        + "(set NNC_CACHE_DIR to a private directory)\n"
    }
  }

  private static func openDirectory(_ directory: String?) -> Result<(String, DirectoryHandle), OpenFailure> {
    guard let dir = directory ?? defaultDirectory() else { return .failure(OpenFailure()) }
    return DirectoryHandle.openPrivate(dir).map { ($0.path, $0) }.mapError { OpenFailure(directory: dir, problem: $0) }
  }

  // MARK: The shared cache, and compiling without one

  private enum Shared {
    case unopened
    case open(CompileCache)
    case unusable(OpenFailure, warned: Bool)
  }
  private static let sharedState = Mutex(Shared.unopened)

  /// The process-wide cache in the default directory, opened on first use. Throws (every time)
  /// the `CodegenError` that opening it threw the first time.
  public static func shared() throws(CodegenError) -> CompileCache {
    switch openShared() {
    case .open(let c): return c
    case .unusable(let f, _): throw f.error
    case .unopened: throw CodegenError("compile cache: the shared cache was not opened")  // openShared opens it
    }
  }

  private static func openShared() -> Shared {
    sharedState.withLock { s in
      if case .unopened = s {
        switch openDirectory(nil) {
        case .success(let (dir, handle)): s = .open(CompileCache(directory: dir, handle: handle, maxBytes: nil))
        case .failure(let f): s = .unusable(f, warned: false)
        }
      }
      return s
    }
  }

  /// The library for `graph` through the shared cache; when the shared cache cannot be used
  /// (see `init(directory:maxBytes:)`), compiled without a cache instead, after a one-line
  /// warning on stderr (the first time in the process) that names the directory and why.
  /// Throws `CodegenError` when compiling or linking fails.
  public static func lookupThroughSharedCache(
    _ graph: Graph, options: CompileOptions = CompileOptions()
  ) throws(CodegenError) -> CachedLibrary {
    if case .open(let cache) = openShared() { return try cache.lookup(graph, options: options) }
    let warning: String? = sharedState.withLock { s in
      guard case .unusable(let f, false) = s else { return nil }
      s = .unusable(f, warned: true)
      return f.warning
    }
    if let warning { writeToStandardError(warning) }
    return try compileWithoutCache(graph, options: options)
  }

  /// Compiles and links `graph` in a private temporary directory, without reading or writing
  /// any cache; `discardLoadFile()` removes the directory. Throws `CodegenError` when
  /// compiling or linking fails.
  public static func compileWithoutCache(
    _ graph: Graph, options: CompileOptions = CompileOptions()
  ) throws(CodegenError) -> CachedLibrary {
    let key = try key(for: graph, options: options)
    let temp = try DirectoryHandle.makeTemporary()
    do {
      try link(try compile(graph, options: buildOptions(options, key)).object, in: temp)
    } catch {
      temp.removeTemporary()
      throw error
    }
    return CachedLibrary(
      key: key, hit: false, loadPath: temp.path + "/entry.so", entryPath: nil, discard: { temp.removeTemporary() })
  }

  // MARK: Environment

  /// `$NNC_CACHE_DIR`, else `$XDG_CACHE_HOME/nnc`, else `~/.cache/nnc`; nil without a home.
  public static func defaultDirectory() -> String? {
    if let d = defaultDirectory(environment: ProcessInfo.processInfo.environment) { return d }
    if let pw = getpwuid(geteuid()), let h = pw.pointee.pw_dir, let s = String(validatingCString: h), !s.isEmpty {
      return s + "/.cache/nnc"
    }
    return nil
  }

  /// The cache directory `environment` selects: `NNC_CACHE_DIR`, else `XDG_CACHE_HOME/nnc`
  /// (only when absolute, as the XDG spec requires), else `HOME/.cache/nnc`. Empty values count
  /// as unset.
  public static func defaultDirectory(environment: [String: String]) -> String? {
    func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
    if let d = env("NNC_CACHE_DIR") { return d }
    if let x = env("XDG_CACHE_HOME"), x.hasPrefix("/") { return x + "/nnc" }
    if let h = env("HOME") { return h + "/.cache/nnc" }
    return nil
  }

  /// The size limit `environment` selects, in bytes: `NNC_CACHE_MAX_BYTES` as a decimal number
  /// of bytes, optionally followed by `K`, `M` or `G` (binary: 1024, 1024², 1024³); else (unset,
  /// empty or not such a number) `defaultMaxBytes`.
  public static func maxBytes(environment: [String: String]) -> Int {
    guard var text = environment["NNC_CACHE_MAX_BYTES"], !text.isEmpty else { return defaultMaxBytes }
    var scale = 1
    switch text.last {
    case "K", "k": scale = 1 << 10
    case "M", "m": scale = 1 << 20
    case "G", "g": scale = 1 << 30
    default: break
    }
    if scale != 1 { text.removeLast() }
    guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = Int(text) else { return defaultMaxBytes }
    let (product, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? Int.max : product
  }

  // MARK: Events

  /// What this cache has done so far in this process.
  public var statistics: CacheStatistics { state.withLock { $0 } }

  /// Calls `observer` on every later event of this cache (from the thread doing the lookup).
  public func observe(_ observer: @escaping @Sendable (CacheEvent) -> Void) {
    observers.withLock { $0.append(observer) }
  }

  private func record(_ event: CacheEvent) {
    state.withLock { s in
      switch event {
      case .hit: s.hits += 1
      case .miss(_, let reason):
        s.misses += 1
        s.missReasons[reason, default: 0] += 1
      case .compiled: s.compiles += 1
      case .evicted: s.evictions += 1
      case .stored, .notStored: break
      }
    }
    for o in observers.withLock({ $0 }) { o(event) }
  }

  // MARK: Keys and paths

  /// The key of `graph` compiled with `options` (the host CPU and features filled in). Throws
  /// `CodegenError` when LLVM cannot describe the host.
  public func key(for graph: Graph, options: CompileOptions = CompileOptions()) throws(CodegenError) -> CacheKey {
    try CompileCache.key(for: graph, options: options)
  }

  /// The key of `graph` compiled with `options` (the host CPU and features filled in). Throws
  /// `CodegenError` when LLVM cannot describe the host.
  public static func key(for graph: Graph, options: CompileOptions = CompileOptions()) throws(CodegenError) -> CacheKey {
    let host = try hostTarget()
    let triple = defaultTargetTriple()
    let cpu = options.target.cpu ?? host.cpu
    let features = options.target.features ?? host.features
    let width = options.target.vectorWidth
    var text = "nnc compile cache \(CacheManifest.currentFormat)\n"
    text += "codegen: \(codegenVersion)\n"
    text += "triple: \(triple)\n"
    text += "cpu: \(cpu)\n"
    text += "features: \(features)\n"
    text += "vector-width: \(width.map(String.init) ?? "default")\n"
    text += "streaming-threshold: \(options.target.streamingThresholdBytes.map(String.init) ?? "default")\n"
    text += "ir:\n"
    text += graph.text(PrintOptions(locations: true))
    text += "provenance:\n"
    text += debugProvenanceText(graph)
    return CacheKey(hash: sha256Hex(text), text: text, triple: triple, cpu: cpu, features: features, vectorWidth: width)
  }

  /// Where the library of `key` lives in the cache (a path for messages and tests; the cache
  /// itself reaches it through its directory descriptor).
  public func libraryPath(for key: CacheKey) -> String { directory + "/" + key.hash + ".so" }
  /// Where the manifest of `key` lives in the cache (a path for messages and tests).
  public func manifestPath(for key: CacheKey) -> String { directory + "/" + key.hash + ".json" }

  // MARK: Lookup

  /// The library for `graph` under `options`: the cached one when its entry verifies, else a
  /// freshly compiled and linked one, stored as the entry when the entry's place holds nothing
  /// but our own files. The returned `loadPath` holds verified bytes and is private to this
  /// call: dlopen it, then `discardLoadFile()`. Throws `CodegenError` when compiling or linking
  /// fails or the load file cannot be written; failing to store is not an error (`notStored`).
  public func lookup(_ graph: Graph, options: CompileOptions = CompileOptions()) throws(CodegenError) -> CachedLibrary {
    let key = try key(for: graph, options: options)
    switch readVerified(key) {
    case .verified(let bytes):
      record(.hit(key: key.hash))
      return try loadable(bytes, key: key, hit: true)
    case .rejected(let reason):
      record(.miss(key: key.hash, reason: reason))
    }
    let module = try compile(graph, options: CompileCache.buildOptions(options, key))
    let temp = try DirectoryHandle.makeTemporary()
    defer { temp.removeTemporary() }
    let bytes = try CompileCache.link(module.object, in: temp)
    record(.compiled(key: key.hash))
    let library = try loadable(bytes, key: key, hit: false)
    store(bytes, key: key)
    return library
  }

  /// `options` with the key's CPU and features filled in and nothing but the object emitted.
  private static func buildOptions(_ options: CompileOptions, _ key: CacheKey) -> CompileOptions {
    var o = options
    o.target.cpu = key.cpu
    o.target.features = key.features
    o.emitAssembly = false
    o.emitLLVMIR = false
    return o
  }

  /// Links `object` into `entry.so` in the private directory `temp`; returns the library bytes.
  @discardableResult
  private static func link(_ object: [UInt8], in temp: DirectoryHandle) throws(CodegenError) -> [UInt8] {
    try temp.createNew("entry.o", object)
    try linkSharedLibrary(object: temp.path + "/entry.o", output: temp.path + "/entry.so")
    guard case .bytes(let bytes) = temp.read("entry.so", limit: Int.max) else {
      throw CodegenError("compile cache: cannot read the linked library \(temp.path)/entry.so")
    }
    return bytes
  }

  /// The library bytes of `key`'s entry when the entry verifies; a hit sets the manifest's
  /// modification time to now (the entry's last use).
  private func readVerified(_ key: CacheKey) -> Verification {
    let pair: (manifest: FileRead, library: FileRead?) = handle.withLock(LOCK_SH, unlocked: warnUnlocked) {
      let m = handle.read(key.hash + ".json", limit: 1 << 20)
      guard case .bytes(let text) = m, let manifest = CacheManifest(json: text) else { return (m, nil) }
      return (m, handle.read(key.hash + ".so", limit: manifest.librarySize))
    }
    let text: [UInt8]
    switch pair.manifest {
    case .bytes(let t): text = t
    case .absent: return .rejected(.absent)
    case .unusable: return .rejected(.unusable)
    case .tooLarge, .failed: return .rejected(.badManifest)
    }
    guard let manifest = CacheManifest(json: text) else { return .rejected(.badManifest) }
    guard manifest.key == key.hash, manifest.codegenVersion == codegenVersion, manifest.triple == key.triple,
      manifest.cpu == key.cpu, manifest.features == key.features, manifest.vectorWidth == key.vectorWidth
    else { return .rejected(.foreign) }
    switch pair.library {
    case .bytes(let lib)? where lib.count == manifest.librarySize && sha256Hex(lib) == manifest.librarySHA256:
      handle.touch(key.hash + ".json")  // the entry's last use, for eviction
      return .verified(lib)
    case .unusable?: return .rejected(.unusable)
    default: return .rejected(.corrupt)
    }
  }

  private enum Verification {
    case verified([UInt8])
    case rejected(CacheMissReason)
  }

  /// Writes verified bytes to a fresh private file for one dlopen.
  private func loadable(_ bytes: [UInt8], key: CacheKey, hit: Bool) throws(CodegenError) -> CachedLibrary {
    let entry = libraryPath(for: key)
    if handle.hasDescriptorPaths {
      let name = ".load-\(getpid())-\(randomSuffix()).so"
      try handle.createNew(name, bytes, mode: 0o700)
      let h = handle
      return CachedLibrary(
        key: key, hit: hit, loadPath: h.descriptorPath(name), entryPath: entry, discard: { h.unlink(name) })
    }
    let temp = try DirectoryHandle.makeTemporary()
    do {
      try temp.createNew("entry.so", bytes, mode: 0o700)
    } catch {
      temp.removeTemporary()
      throw error
    }
    return CachedLibrary(
      key: key, hit: hit, loadPath: temp.path + "/entry.so", entryPath: entry, discard: { temp.removeTemporary() })
  }

  /// Publishes `bytes` as `key`'s entry: both files written under temporary names, then renamed
  /// (library first) while holding the exclusive lock, unless something that is not a regular
  /// file of ours holds an entry name; then evicts entries beyond the size limit.
  private func store(_ bytes: [UInt8], key: CacheKey) {
    let manifest = CacheManifest(
      key: key.hash, librarySHA256: sha256Hex(bytes), librarySize: bytes.count, codegenVersion: codegenVersion,
      triple: key.triple, cpu: key.cpu, features: key.features, vectorWidth: key.vectorWidth)
    let lib = temporaryName("so")
    let man = temporaryName("json")
    defer {
      handle.unlink(lib)
      handle.unlink(man)
    }
    do {
      try handle.createNew(lib, bytes)
      try handle.createNew(man, manifest.json)
    } catch {
      record(.notStored(key: key.hash, reason: error.description))
      return
    }
    let outcome: Result<[String], StoreFailure> = handle.withLock(LOCK_EX, unlocked: warnUnlocked) {
      for name in [key.hash + ".so", key.hash + ".json"] where handle.status(name) != nil {
        // Replace only what we wrote before; leave anything else where it is.
        guard handle.isOwnRegularFile(name) else {
          return .failure(StoreFailure(reason: "\(directory)/\(name) is not a regular file of this user"))
        }
      }
      if let e = handle.rename(lib, to: key.hash + ".so") {
        return .failure(StoreFailure(reason: "rename to \(key.hash).so: \(e)"))
      }
      if let e = handle.rename(man, to: key.hash + ".json") {
        return .failure(StoreFailure(reason: "rename to \(key.hash).json: \(e)"))
      }
      return .success(evict(keeping: key.hash))
    }
    switch outcome {
    case .success(let evicted):
      record(.stored(key: key.hash))
      for k in evicted { record(.evicted(key: k)) }
    case .failure(let f):
      record(.notStored(key: key.hash, reason: f.reason))
    }
  }

  private struct StoreFailure: Error {
    var reason: String
  }

  private func warnUnlocked(_ why: String) {
    let first = lockWarned.withLock { w in
      defer { w = true }
      return !w
    }
    if first { writeToStandardError("nnc: warning: compile cache: \(why); working without the lock\n") }
  }

  // MARK: Size

  /// One entry's files as found in the directory.
  private struct EntryFiles {
    var bytes = 0
    var names: [String] = []
    /// The manifest's modification time (else the library's), in nanoseconds.
    var lastUse = Int64.min
    var hasManifest = false
  }

  /// The entries in the directory: regular files of ours named `<64 hex>.so` or `.json`.
  private func scanEntries() -> [String: EntryFiles] {
    var entries: [String: EntryFiles] = [:]
    for name in handle.names() {
      guard let hash = entryHash(name), let st = handle.status(name), (st.st_mode & S_IFMT) == S_IFREG,
        st.st_uid == geteuid()
      else { continue }
      let time = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
      let isManifest = name.hasSuffix(".json")
      var e = entries[hash, default: EntryFiles()]
      e.bytes += Int(st.st_size)
      e.names.append(name)
      if isManifest {
        e.lastUse = time
        e.hasManifest = true
      } else if !e.hasManifest {
        e.lastUse = max(e.lastUse, time)
      }
      entries[hash] = e
    }
    return entries
  }

  /// Removes whole entries, least recently used first, until the cache fits in `maxBytes`
  /// (never `keeping`); returns the keys removed. Called under the exclusive lock.
  private func evict(keeping: String) -> [String] {
    let entries = scanEntries()
    var total = entries.values.reduce(0) { $0 + $1.bytes }
    guard total > maxBytes else { return [] }
    var removed: [String] = []
    let order = entries.filter { $0.key != keeping }.sorted { ($0.value.lastUse, $0.key) < ($1.value.lastUse, $1.key) }
    for (hash, files) in order where total > maxBytes {
      // The manifest first: a library without one is an absent entry, never a wrong one.
      for name in files.names.sorted(by: { $0.hasSuffix(".json") && !$1.hasSuffix(".json") }) { handle.unlink(name) }
      total -= files.bytes
      removed.append(hash)
    }
    return removed
  }

  /// The entries in the cache and their bytes.
  public func usage() -> CacheUsage {
    let entries = handle.withLock(LOCK_SH, unlocked: warnUnlocked) { scanEntries() }
    return CacheUsage(entries: entries.count, bytes: entries.values.reduce(0) { $0 + $1.bytes })
  }

  /// Removes every entry (regular files of ours named `<64 hex>.so`/`.json`) and the temporaries
  /// of processes that no longer run; leaves everything else. Returns what was removed.
  @discardableResult
  public func clear() -> CacheUsage {
    let entries = handle.withLock(LOCK_EX, unlocked: warnUnlocked) {
      let entries = scanEntries()
      for files in entries.values {
        for name in files.names { handle.unlink(name) }
      }
      return entries
    }
    sweepStaleTemporaries(all: true)
    return CacheUsage(entries: entries.count, bytes: entries.values.reduce(0) { $0 + $1.bytes })
  }

  // MARK: Temporaries

  private func temporaryName(_ ext: String) -> String { ".tmp-\(getpid())-\(randomSuffix()).\(ext)" }

  /// Removes temporaries (regular files of ours) of processes that no longer run: those older
  /// than a minute (or any age with `all`), and any older than a day (the pid may be reused).
  private func sweepStaleTemporaries(all: Bool) {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    for name in handle.names() where name.hasPrefix(".tmp-") || name.hasPrefix(".load-") {
      guard let st = handle.status(name), (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid() else { continue }
      let age = now.tv_sec - st.st_mtim.tv_sec
      let pidText = name.drop { $0 != "-" }.dropFirst().prefix { $0 != "-" }
      let dead = Int32(pidText).map { pid in kill(pid, 0) != 0 && errno == ESRCH } ?? true
      if (dead && (all || age > 60)) || age > 86_400 { handle.unlink(name) }
    }
  }
}

// MARK: - Helpers

/// The key of an entry file name (`<64 lowercase hex>.so` or `.json`), else nil.
private func entryHash(_ name: String) -> String? {
  let stem: Substring
  if name.hasSuffix(".so") {
    stem = name.dropLast(3)
  } else if name.hasSuffix(".json") {
    stem = name.dropLast(5)
  } else {
    return nil
  }
  guard stem.utf8.count == 64, stem.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
  else { return nil }
  return String(stem)
}

private func randomSuffix() -> String {
  var g = SystemRandomNumberGenerator()
  let v = g.next() as UInt64
  let s = String(v, radix: 16)
  return String(repeating: "0", count: 16 - s.count) + s
}
