// A content-addressed on-disk cache of compiled shared libraries, so a graph compiled once (by
// any process of the same user) is only verified and loaded the next time.
//
// Key. SHA-256 of a key text that holds everything the library's bytes depend on: the cache
// format, `codegenVersion`, the LLVM target triple, the resolved CPU name and feature string
// (a nil `TargetOptions.cpu`/`features` is replaced by the host's before hashing, so a library
// built for one machine is never reused on a different one), the preferred vector width, and
// the canonical IR text of the graph. The IR text is printed without `loc(...)` attributes:
// source locations do not reach generated code (guard messages and locations live on the Swift
// side, in `CompiledEntry`), so the same program traced from another line shares its library.
// `emitAssembly`/`emitLLVMIR` do not change the object and are not part of the key.
//
// Layout. One flat directory, private to the user (mode 0700):
//   <key>.so                         the linked library
//   <key>.json                       its manifest: format, key, SHA-256 and size of the .so bytes,
//                                    codegen version, triple, CPU, features, vector width
//   .lock                            flock(2)ed while an entry's two files are read or replaced
//   .tmp-<pid>-<random>.{o,so,json}  files being written (renamed into place when complete)
//   .load-<pid>-<random>.so          a verified private copy handed to dlopen (see below)
// Temporaries left by a process that died are removed when a cache is opened.
//
// Writes are atomic: every file is written under a fresh temporary name (O_EXCL) in the same
// directory and rename(2)d into place; the .so is renamed before the manifest, both under an
// exclusive flock of `.lock`, and readers hold a shared lock while reading the pair, so a reader
// never sees a manifest with another writer's library. Two processes compiling the same graph at
// once both compile and both publish; the last rename wins and both libraries are valid, so one
// valid entry remains. No fsync: after a crash an entry may be torn, which verification detects.
//
// Verification. A lookup reads the manifest and the library bytes into memory and treats the
// entry as a miss (rebuilt and overwritten atomically) when the manifest is missing, does not
// parse, or is for another key, codegen version, CPU or features (a foreign entry), or when the
// bytes' size or SHA-256 differ from the manifest (a corrupt, truncated or replaced library).
// An unverified file is never handed out for loading.
//
// Loading. `dlopen` caches by path and the cache path is replaced by rename, so the verified
// bytes (the ones hashed, from memory) are written to a private `.load-<pid>-<random>.so` that
// exists only for this load: the caller dlopens it and then discards it (`discardLoadFile`;
// the mapping stays valid on Linux after unlink). Each load therefore gets its own handle and
// no file can change between verification and dlopen. Hard links were rejected because a
// hard link shares the inode with the cache entry, so verifying it and loading it are two reads
// of a file someone else could still write through.
//
// Directory. `$NNC_CACHE_DIR`, else `$XDG_CACHE_HOME/nnc`, else `$HOME/.cache/nnc` (or the
// home directory from the password database). It is created with mode 0700. When it exists
// and belongs to another user, opening the cache throws (files there could be planted by that
// user). When it is ours but other users may read it, the mode is set back to 0700; when others
// could also write to it, its entries may have been planted, so they are deleted as well.

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
  /// The manifest does not parse or lacks fields.
  case badManifest
  /// The manifest is for another key, codegen version, CPU or features.
  case foreign
  /// The library is missing, or its size or SHA-256 differs from the manifest.
  case corrupt
}

/// What a cache did, for tests and diagnostics.
public enum CacheEvent: Sendable, Equatable {
  case hit(key: String)
  case miss(key: String, reason: CacheMissReason)
  /// A library was compiled and linked for the key.
  case compiled(key: String)
  /// A new entry was renamed into place.
  case stored(key: String)
}

/// Counters of one `CompileCache` (this process only).
public struct CacheStatistics: Sendable, Equatable {
  public var hits = 0
  public var misses = 0
  /// Libraries compiled and linked (one per miss unless the compile failed).
  public var compiles = 0
  public var missReasons: [CacheMissReason: Int] = [:]
  public init() {}
}

/// The cache key of one graph under one set of options, with the text it hashes.
public struct CacheKey: Sendable, Equatable {
  /// 64 hex digits: SHA-256 of `text`.
  public var hash: String
  /// Everything the library depends on, one field a line, then the IR.
  public var text: String
  public var triple: String
  public var cpu: String
  public var features: String
  public var vectorWidth: Int?
}

/// The result of a lookup: a verified library file to load, private to this load.
public struct CachedLibrary: Sendable {
  public var key: CacheKey
  /// True when the entry was found and verified; false when it was (re)built.
  public var hit: Bool
  /// The verified library bytes in a file of their own: dlopen it, then `discardLoadFile()`.
  public var loadPath: String
  /// The entry's library in the cache directory (not to be loaded directly).
  public var entryPath: String

  /// Removes the private load file (after dlopen, or when it is not going to be loaded).
  public func discardLoadFile() { unlink(loadPath) }
}

/// The parsed manifest of one entry.
struct CacheManifest: Equatable {
  static let format = 1
  var key: String
  var librarySHA256: String
  var librarySize: Int
  var codegenVersion: String
  var triple: String
  var cpu: String
  var features: String
  var vectorWidth: Int?

  var json: String {
    """
    {
      "format": \(CacheManifest.format),
      "key": \(jsonString(key)),
      "library_sha256": \(jsonString(librarySHA256)),
      "library_size": \(librarySize),
      "codegen_version": \(jsonString(codegenVersion)),
      "triple": \(jsonString(triple)),
      "cpu": \(jsonString(cpu)),
      "features": \(jsonString(features)),
      "vector_width": \(vectorWidth.map(String.init) ?? "null")
    }

    """
  }

  /// Parses what `json` writes; nil for anything else (unknown format, missing or mistyped field).
  init?(json bytes: [UInt8]) {
    guard let object = parseFlatJSONObject(bytes), case .int(CacheManifest.format)? = object["format"],
      case .string(let key)? = object["key"], case .string(let sha)? = object["library_sha256"],
      case .int(let size)? = object["library_size"], case .string(let version)? = object["codegen_version"],
      case .string(let triple)? = object["triple"], case .string(let cpu)? = object["cpu"],
      case .string(let features)? = object["features"], let width = object["vector_width"]
    else { return nil }
    switch width {
    case .null: vectorWidth = nil
    case .int(let w): vectorWidth = w
    case .string: return nil
    }
    guard sha.count == 64, sha.allSatisfy(\.isHexDigit), size >= 0 else { return nil }
    self.key = key
    librarySHA256 = sha
    librarySize = size
    codegenVersion = version
    self.triple = triple
    self.cpu = cpu
    self.features = features
  }

  init(
    key: String, librarySHA256: String, librarySize: Int, codegenVersion: String, triple: String, cpu: String,
    features: String, vectorWidth: Int?
  ) {
    self.key = key
    self.librarySHA256 = librarySHA256
    self.librarySize = librarySize
    self.codegenVersion = codegenVersion
    self.triple = triple
    self.cpu = cpu
    self.features = features
    self.vectorWidth = vectorWidth
  }
}

/// A content-addressed on-disk cache of compiled shared libraries (see the top of Cache.swift
/// for the key, layout, atomicity, verification and loading rules). Safe to use from several
/// threads and several processes at once.
public final class CompileCache: Sendable {
  /// The cache directory (absolute or as given).
  public let directory: String
  private let state = Mutex(CacheStatistics())
  private let observers = Mutex<[@Sendable (CacheEvent) -> Void]>([])

  /// Opens (creating when needed) the cache in `directory`, or in `CompileCache.defaultDirectory()`.
  /// Throws when the directory cannot be made private to this user (for example when it belongs
  /// to another user).
  public init(directory: String? = nil) throws(CodegenError) {
    guard let dir = directory ?? CompileCache.defaultDirectory() else {
      throw CodegenError("compile cache: no directory (set NNC_CACHE_DIR, XDG_CACHE_HOME or HOME)")
    }
    self.directory = dir
    try CompileCache.preparePrivateDirectory(dir)
    sweepStaleTemporaries()
  }

  private static let sharedCache = Mutex<CompileCache?>(nil)

  /// The process-wide cache in the default directory, opened on first use.
  public static func shared() throws(CodegenError) -> CompileCache {
    try sharedCache.withLock { (c: inout CompileCache?) throws(CodegenError) -> CompileCache in
      if let c { return c }
      let made = try CompileCache()
      c = made
      return made
    }
  }

  /// `$NNC_CACHE_DIR`, else `$XDG_CACHE_HOME/nnc`, else `~/.cache/nnc`; nil without a home.
  public static func defaultDirectory() -> String? {
    var env: [String: String] = [:]
    for name in ["NNC_CACHE_DIR", "XDG_CACHE_HOME", "HOME"] {
      if let p = getenv(name), let s = String(validatingCString: p) { env[name] = s }
    }
    if let d = defaultDirectory(environment: env) { return d }
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
      case .stored: break
      }
    }
    for o in observers.withLock({ $0 }) { o(event) }
  }

  // MARK: Keys and paths

  /// The key of `graph` compiled with `options` (the host CPU and features filled in).
  public func key(for graph: Graph, options: CompileOptions = CompileOptions()) throws(CodegenError) -> CacheKey {
    try CompileCache.key(for: graph, options: options)
  }

  /// The key of `graph` compiled with `options` (the host CPU and features filled in).
  public static func key(for graph: Graph, options: CompileOptions = CompileOptions()) throws(CodegenError) -> CacheKey {
    let host = try hostTarget()
    let triple = defaultTargetTriple()
    let cpu = options.target.cpu ?? host.cpu
    let features = options.target.features ?? host.features
    let width = options.target.vectorWidth
    var text = "nnc compile cache \(CacheManifest.format)\n"
    text += "codegen: \(codegenVersion)\n"
    text += "triple: \(triple)\n"
    text += "cpu: \(cpu)\n"
    text += "features: \(features)\n"
    text += "vector-width: \(width.map(String.init) ?? "default")\n"
    text += "ir:\n"
    text += graph.text(PrintOptions(locations: false))
    return CacheKey(hash: SHA256.hex(text), text: text, triple: triple, cpu: cpu, features: features, vectorWidth: width)
  }

  /// Where the library of `key` lives in the cache.
  public func libraryPath(for key: CacheKey) -> String { directory + "/" + key.hash + ".so" }
  /// Where the manifest of `key` lives in the cache.
  public func manifestPath(for key: CacheKey) -> String { directory + "/" + key.hash + ".json" }
  private var lockPath: String { directory + "/.lock" }

  // MARK: Lookup

  /// The library for `graph` under `options`: the cached one when its entry verifies, else a
  /// freshly compiled and linked one that replaces the entry. The returned `loadPath` holds
  /// verified bytes and is private to this call: dlopen it, then `discardLoadFile()`.
  public func lookup(_ graph: Graph, options: CompileOptions = CompileOptions()) throws(CodegenError) -> CachedLibrary {
    let key = try key(for: graph, options: options)
    switch readVerified(key) {
    case .verified(let bytes):
      record(.hit(key: key.hash))
      let load = try writeLoadFile(bytes)
      return CachedLibrary(key: key, hit: true, loadPath: load, entryPath: libraryPath(for: key))
    case .rejected(let reason):
      record(.miss(key: key.hash, reason: reason))
    }
    var buildOptions = options
    buildOptions.target.cpu = key.cpu
    buildOptions.target.features = key.features
    buildOptions.emitAssembly = false
    buildOptions.emitLLVMIR = false
    let module = try compile(graph, options: buildOptions)
    let bytes = try build(module.object)
    record(.compiled(key: key.hash))
    let load = try writeLoadFile(bytes)
    do {
      try store(bytes, key: key)
    } catch {
      unlink(load)
      throw error
    }
    return CachedLibrary(key: key, hit: false, loadPath: load, entryPath: libraryPath(for: key))
  }

  /// The library bytes of `key`'s entry when the entry verifies.
  private func readVerified(_ key: CacheKey) -> Verification {
    let pair: (manifest: [UInt8]?, library: [UInt8]?, size: Int?) = withLock(LOCK_SH) {
      guard let m = readFile(manifestPath(for: key), limit: 1 << 20) else { return (nil, nil, nil) }
      guard let manifest = CacheManifest(json: m) else { return (m, nil, nil) }
      return (m, readFile(libraryPath(for: key), limit: manifest.librarySize), manifest.librarySize)
    }
    guard let m = pair.manifest else { return .rejected(.absent) }
    guard let manifest = CacheManifest(json: m) else { return .rejected(.badManifest) }
    guard manifest.key == key.hash, manifest.codegenVersion == codegenVersion, manifest.triple == key.triple,
      manifest.cpu == key.cpu, manifest.features == key.features, manifest.vectorWidth == key.vectorWidth
    else { return .rejected(.foreign) }
    guard let lib = pair.library, lib.count == manifest.librarySize, SHA256.hex(lib) == manifest.librarySHA256 else {
      return .rejected(.corrupt)
    }
    return .verified(lib)
  }

  private enum Verification {
    case verified([UInt8])
    case rejected(CacheMissReason)
  }

  /// Links `object` into a library in the cache directory and returns the library's bytes.
  private func build(_ object: [UInt8]) throws(CodegenError) -> [UInt8] {
    let obj = temporaryName("o")
    let lib = temporaryName("so")
    defer {
      unlink(obj)
      unlink(lib)
    }
    try writeNewFile(obj, object)
    try linkSharedLibrary(object: obj, output: lib)
    guard let bytes = readFile(lib, limit: Int.max) else { throw CodegenError("compile cache: cannot read \(lib)") }
    return bytes
  }

  /// Publishes `bytes` as `key`'s entry: both files written under temporary names, then renamed
  /// (library first) while holding the exclusive lock.
  private func store(_ bytes: [UInt8], key: CacheKey) throws(CodegenError) {
    let manifest = CacheManifest(
      key: key.hash, librarySHA256: SHA256.hex(bytes), librarySize: bytes.count, codegenVersion: codegenVersion,
      triple: key.triple, cpu: key.cpu, features: key.features, vectorWidth: key.vectorWidth)
    let lib = temporaryName("so")
    let man = temporaryName("json")
    defer {
      unlink(lib)
      unlink(man)
    }
    try writeNewFile(lib, bytes)
    try writeNewFile(man, Array(manifest.json.utf8))
    let failure: String? = withLock(LOCK_EX) {
      if rename(lib, libraryPath(for: key)) != 0 { return "rename to \(libraryPath(for: key)): \(errnoText())" }
      if rename(man, manifestPath(for: key)) != 0 { return "rename to \(manifestPath(for: key)): \(errnoText())" }
      return nil
    }
    if let failure { throw CodegenError("compile cache: \(failure)") }
    record(.stored(key: key.hash))
  }

  /// Writes verified bytes to a fresh private file for one dlopen.
  private func writeLoadFile(_ bytes: [UInt8]) throws(CodegenError) -> String {
    let path = directory + "/.load-\(getpid())-\(randomSuffix()).so"
    try writeNewFile(path, bytes, mode: 0o700)
    return path
  }

  // MARK: Files

  private func temporaryName(_ ext: String) -> String {
    directory + "/.tmp-\(getpid())-\(randomSuffix()).\(ext)"
  }

  /// Runs `body` holding a flock of `.lock` (without the lock when it cannot be opened: the
  /// lock only narrows a race whose outcome verification already handles).
  private func withLock<R>(_ operation: Int32, _ body: () -> R) -> R {
    let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return body() }
    defer { close(fd) }
    while flock(fd, operation) != 0 && errno == EINTR {}
    defer { flock(fd, LOCK_UN) }
    return body()
  }

  /// Removes temporaries of processes that no longer run (and any older than a day).
  private func sweepStaleTemporaries() {
    guard let d = opendir(directory) else { return }
    var names: [String] = []
    while let e = readdir(d) {
      let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name.hasPrefix(".tmp-") || name.hasPrefix(".load-") { names.append(name) }
    }
    closedir(d)
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    for name in names {
      let path = directory + "/" + name
      var st = stat()
      guard lstat(path, &st) == 0 else { continue }
      let age = now.tv_sec - st.st_mtim.tv_sec
      let pidText = name.drop { $0 != "-" }.dropFirst().prefix { $0 != "-" }
      let dead = Int32(pidText).map { pid in kill(pid, 0) != 0 && errno == ESRCH } ?? true
      if (dead && age > 60) || age > 86_400 { unlink(path) }
    }
  }

  /// Creates `dir` (and missing parents) with mode 0700 and makes sure it is private to us.
  static func preparePrivateDirectory(_ dir: String) throws(CodegenError) {
    var prefix = dir.hasPrefix("/") ? "" : "."
    for part in dir.split(separator: "/") {
      prefix += "/" + part
      var existing = stat()
      if stat(prefix, &existing) == 0 { continue }
      if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
        throw CodegenError("compile cache: cannot create \(prefix): \(errnoText())")
      }
    }
    var st = stat()
    guard stat(dir, &st) == 0 else { throw CodegenError("compile cache: cannot use \(dir): \(errnoText())") }
    guard (st.st_mode & S_IFMT) == S_IFDIR else { throw CodegenError("compile cache: \(dir) is not a directory") }
    guard st.st_uid == geteuid() else {
      throw CodegenError(
        "compile cache: \(dir) belongs to uid \(st.st_uid), not to this user (uid \(geteuid())); "
          + "set NNC_CACHE_DIR to a directory of your own")
    }
    let mode = st.st_mode & 0o777
    if mode == 0o700 { return }
    guard chmod(dir, 0o700) == 0 else {
      throw CodegenError("compile cache: cannot make \(dir) private (mode 0700): \(errnoText())")
    }
    if mode & 0o022 != 0 {
      // Others could write here: any entry may have been planted.
      guard let d = opendir(dir) else { return }
      var victims: [String] = []
      while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.hasSuffix(".so") || name.hasSuffix(".json") || name.hasPrefix(".tmp-") || name.hasPrefix(".load-") {
          victims.append(name)
        }
      }
      closedir(d)
      for v in victims { unlink(dir + "/" + v) }
    }
  }
}

// MARK: - Helpers

private func errnoText() -> String { String(cString: strerror(errno)) }

private func randomSuffix() -> String {
  var g = SystemRandomNumberGenerator()
  let v = g.next() as UInt64
  let s = String(v, radix: 16)
  return String(repeating: "0", count: 16 - s.count) + s
}

/// The contents of `path`, or nil when it is not a regular file, cannot be read, or is larger
/// than `limit` bytes.
func readFile(_ path: String, limit: Int) -> [UInt8]? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var st = stat()
  guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= limit else { return nil }
  var out = [UInt8](repeating: 0, count: Int(st.st_size))
  var done = 0
  while done < out.count {
    let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { return nil }  // shrank while reading
    done += n
  }
  return out
}

/// Writes `bytes` to `path`, which must not exist yet.
func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws(CodegenError) {
  let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
  guard fd >= 0 else { throw CodegenError("compile cache: cannot create \(path): \(errnoText())") }
  var done = 0
  while done < bytes.count {
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 {
      let why = errnoText()
      close(fd)
      unlink(path)
      throw CodegenError("compile cache: cannot write \(path): \(why)")
    }
    done += n
  }
  if close(fd) != 0 {
    let why = errnoText()
    unlink(path)
    throw CodegenError("compile cache: cannot write \(path): \(why)")
  }
}

// MARK: - A flat JSON object reader (the manifest's format)

enum FlatJSONValue: Equatable {
  case string(String)
  case int(Int)
  case null
}

private func jsonString(_ s: String) -> String {
  var out = "\""
  for u in s.unicodeScalars {
    switch u {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    default:
      if u.value < 0x20 {
        let h = String(u.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
      } else {
        out.unicodeScalars.append(u)
      }
    }
  }
  return out + "\""
}

/// Parses one JSON object whose values are strings, integers or null; nil for anything else
/// (nesting, floats, duplicate keys, trailing garbage, invalid UTF-8).
func parseFlatJSONObject(_ bytes: [UInt8]) -> [String: FlatJSONValue]? {
  var i = 0
  func skipSpace() { while i < bytes.count, [0x20, 0x0a, 0x0d, 0x09].contains(bytes[i]) { i += 1 } }
  func eat(_ c: UInt8) -> Bool {
    skipSpace()
    guard i < bytes.count, bytes[i] == c else { return false }
    i += 1
    return true
  }
  func string() -> String? {
    guard eat(0x22) else { return nil }
    var out: [UInt8] = []
    while i < bytes.count {
      let c = bytes[i]
      i += 1
      switch c {
      case 0x22: return String(validating: out, as: UTF8.self)
      case 0x5c:
        guard i < bytes.count else { return nil }
        let e = bytes[i]
        i += 1
        switch e {
        case 0x22, 0x5c, 0x2f: out.append(e)
        case UInt8(ascii: "b"): out.append(8)
        case UInt8(ascii: "f"): out.append(12)
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "t"): out.append(9)
        case UInt8(ascii: "u"):
          guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16),
            let u = Unicode.Scalar(v)
          else { return nil }
          i += 4
          out += Array(String(Character(u)).utf8)
        default: return nil
        }
      default:
        if c < 0x20 { return nil }
        out.append(c)
      }
    }
    return nil
  }
  func value() -> FlatJSONValue? {
    skipSpace()
    guard i < bytes.count else { return nil }
    if bytes[i] == 0x22 { return string().map(FlatJSONValue.string) }
    if bytes[i...].starts(with: Array("null".utf8)) {
      i += 4
      return .null
    }
    let start = i
    if bytes[i] == UInt8(ascii: "-") { i += 1 }
    while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
    guard i > start, i - start <= 19 else { return nil }
    return Int(String(decoding: bytes[start..<i], as: UTF8.self)).map(FlatJSONValue.int)
  }
  guard eat(0x7b) else { return nil }
  var out: [String: FlatJSONValue] = [:]
  if !eat(0x7d) {
    repeat {
      guard let k = string(), out[k] == nil, eat(0x3a), let v = value() else { return nil }
      out[k] = v
    } while eat(0x2c)
    guard eat(0x7d) else { return nil }
  }
  skipSpace()
  return i == bytes.count ? out : nil
}
