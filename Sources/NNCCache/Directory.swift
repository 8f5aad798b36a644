// An open directory and the file operations the cache does relative to its descriptor: once a
// directory is opened (without following a symlink) and checked, no path through its name is
// used again, so swapping the directory for another (or for a symlink) afterwards changes
// nothing. Every file is opened with O_NOFOLLOW | O_NONBLOCK and accepted only when fstat says
// it is a regular file owned by this user, so a symlink, FIFO, device or directory planted as an
// entry is refused without ever blocking.

import NNCCodegen

#if canImport(Glibc)
  import Glibc
#endif

/// Why a directory cannot hold the cache.
enum DirectoryProblem: Error, Equatable {
  case symlink
  case notDirectory
  case ownedBy(uid: uid_t, me: uid_t)
  case writableByOthers(mode: mode_t)
  case system(what: String, errno: Int32)

  /// What is wrong, as a phrase after the directory's path ("… is a symbolic link").
  var phrase: String {
    switch self {
    case .symlink: return "is a symbolic link"
    case .notDirectory: return "is not a directory"
    case .ownedBy(let uid, let me): return "belongs to uid \(uid), not to this user (uid \(me))"
    case .writableByOthers(let mode): return "is writable by others (mode 0\(String(mode & 0o7777, radix: 8)))"
    case .system(let what, let e): return "\(what): \(String(cString: strerror(e)))"
    }
  }
}

/// The text of `errno`.
func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

/// Writes `text` to file descriptor 2 in one write(2).
func writeToStandardError(_ text: String) {
  let bytes = Array(text.utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// What reading one file of a directory gave.
enum FileRead {
  case bytes([UInt8])
  /// No such file.
  case absent
  /// A directory, FIFO, socket, device or symlink, or a file of another user.
  case unusable
  /// Larger than the limit.
  case tooLarge
  /// Opened but not read completely (an I/O error, or it shrank while reading).
  case failed
}

/// A directory opened once, owned by this handle (closed when it goes away).
final class DirectoryHandle: Sendable {
  /// The descriptor every operation is relative to.
  let fd: Int32
  /// The path it was opened by (for messages; never used to reach files).
  let path: String

  private init(fd: Int32, path: String) {
    self.fd = fd
    self.path = path
  }

  deinit { close(fd) }

  /// Opens `path` as a directory private to `owner`, creating it (mode 0700) and any missing
  /// parents. Refuses (without changing anything) a path whose last component is a symbolic
  /// link or not a directory, a directory owned by another user, and one that group or others
  /// may write to; when group or others may only read or search it, its mode is set to 0700
  /// through the descriptor.
  static func openPrivate(_ path: String, owner: uid_t = geteuid()) -> Result<DirectoryHandle, DirectoryProblem> {
    // A trailing slash would make open() follow a symlink despite O_NOFOLLOW.
    var path = path
    while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
    var prefix = path.hasPrefix("/") ? "" : "."
    let parts = path.split(separator: "/")
    for (i, part) in parts.enumerated() {
      prefix += "/" + part
      var st = stat()
      if i < parts.count - 1 && stat(prefix, &st) == 0 { continue }  // an existing parent (symlinks allowed)
      // mkdir never follows a symlink in the last component: a dangling one gives EEXIST.
      if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
        return .failure(.system(what: "cannot create \(prefix)", errno: errno))
      }
    }
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else {
      let e = errno
      var st = stat()
      if lstat(path, &st) == 0 {
        if (st.st_mode & S_IFMT) == S_IFLNK { return .failure(.symlink) }
        if (st.st_mode & S_IFMT) != S_IFDIR { return .failure(.notDirectory) }
      }
      return .failure(.system(what: "cannot open it", errno: e))
    }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      let e = errno
      close(fd)
      return .failure(.system(what: "cannot stat it", errno: e))
    }
    func refuse(_ p: DirectoryProblem) -> Result<DirectoryHandle, DirectoryProblem> {
      close(fd)
      return .failure(p)
    }
    guard (st.st_mode & S_IFMT) == S_IFDIR else { return refuse(.notDirectory) }
    guard st.st_uid == owner else { return refuse(.ownedBy(uid: st.st_uid, me: owner)) }
    guard st.st_mode & 0o022 == 0 else { return refuse(.writableByOthers(mode: st.st_mode)) }
    if st.st_mode & 0o077 != 0 && fchmod(fd, 0o700) != 0 {
      return refuse(.system(what: "cannot make it private (mode 0700)", errno: errno))
    }
    return .success(DirectoryHandle(fd: fd, path: path))
  }

  /// Creates a fresh private directory (mkdtemp, mode 0700) under `$TMPDIR` (else /tmp).
  static func makeTemporary() throws(CodegenError) -> DirectoryHandle {
    var base = "/tmp"
    if let t = getenv("TMPDIR"), let s = String(validatingCString: t), s.hasPrefix("/") { base = s }
    var template = Array((base + "/nnc-XXXXXX").utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw CodegenError("cannot create a temporary directory in \(base): \(errnoText())")
    }
    let path = String(cString: made)
    switch openPrivate(path) {
    case .success(let h): return h
    case .failure(let p):
      rmdir(path)
      throw CodegenError("temporary directory \(path) \(p.phrase)")
    }
  }

  /// Removes every file in a directory made by `makeTemporary`, then the directory.
  func removeTemporary() {
    for name in names() { unlinkat(fd, name, 0) }
    rmdir(path)
  }

  /// A path that reaches `name` in this directory through the descriptor
  /// (`/proc/self/fd/<fd>/name`), valid in this process while the handle lives.
  func descriptorPath(_ name: String) -> String { "/proc/self/fd/\(fd)/\(name)" }

  /// True when `descriptorPath` works here (procfs is mounted).
  var hasDescriptorPaths: Bool {
    var st = stat()
    return stat("/proc/self/fd/\(fd)", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }

  /// The names in the directory (without `.` and `..`).
  func names() -> [String] {
    let dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dup >= 0 else { return [] }
    guard let d = fdopendir(dup) else {
      close(dup)
      return []
    }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
      let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      if name != "." && name != ".." { out.append(name) }
    }
    return out
  }

  /// The status of `name` itself (a symlink is not followed); nil when it does not exist.
  func status(_ name: String) -> stat? {
    var st = stat()
    return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
  }

  /// True when `name` is a regular file owned by this user.
  func isOwnRegularFile(_ name: String) -> Bool {
    guard let st = status(name) else { return false }
    return (st.st_mode & S_IFMT) == S_IFREG && st.st_uid == geteuid()
  }

  /// Reads `name` (a regular file of ours, at most `limit` bytes). Never blocks: O_NONBLOCK
  /// makes opening a FIFO return at once, and fstat then refuses it.
  func read(_ name: String, limit: Int) -> FileRead {
    let f = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard f >= 0 else { return errno == ENOENT ? .absent : .unusable }
    defer { close(f) }
    var st = stat()
    guard fstat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid() else { return .unusable }
    let size = Int(st.st_size)
    guard size <= limit else { return .tooLarge }
    var out = [UInt8](repeating: 0, count: size)
    var done = 0
    while done < size {
      let n = out.withUnsafeMutableBytes { Glibc.read(f, $0.baseAddress! + done, $0.count - done) }
      if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
      if n <= 0 { return .failed }  // an error, or the file shrank while reading
      done += n
    }
    return .bytes(out)
  }

  /// Sets the access and modification times of `name` (never through a symlink) to now.
  func touch(_ name: String) { utimensat(fd, name, nil, AT_SYMLINK_NOFOLLOW) }

  /// Creates `name`, which must not exist (O_EXCL, never through a symlink), holding `bytes`.
  func createNew(_ name: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws(CodegenError) {
    let f = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    guard f >= 0 else { throw CodegenError("cannot create \(path)/\(name): \(errnoText())") }
    var done = 0
    while done < bytes.count {
      let n = bytes.withUnsafeBytes { write(f, $0.baseAddress! + done, $0.count - done) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        let why = errnoText()
        close(f)
        unlinkat(fd, name, 0)
        throw CodegenError("cannot write \(path)/\(name): \(why)")
      }
      done += n
    }
    if close(f) != 0 {
      let why = errnoText()
      unlinkat(fd, name, 0)
      throw CodegenError("cannot write \(path)/\(name): \(why)")
    }
  }

  /// Renames `from` to `to` within the directory; nil on success, else the reason.
  func rename(_ from: String, to: String) -> String? {
    renameat(fd, from, fd, to) == 0 ? nil : errnoText()
  }

  /// Removes the file `name` (never a directory).
  @discardableResult
  func unlink(_ name: String) -> Bool { unlinkat(fd, name, 0) == 0 }

  /// Runs `body` holding a flock(2) of `.lock` (`LOCK_SH` or `LOCK_EX`). The lock file is opened
  /// without following a symlink and used only when it is a regular file of ours; otherwise
  /// `body` runs without the lock and `unlocked` is told why (the lock only narrows races whose
  /// outcome verification already handles, so it is never worth failing for).
  func withLock<R>(_ operation: Int32, unlocked: (String) -> Void = { _ in }, _ body: () -> R) -> R {
    let f = openat(fd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
    guard f >= 0 else {
      unlocked("cannot open \(path)/.lock: \(errnoText())")
      return body()
    }
    defer { close(f) }
    var st = stat()
    guard fstat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid() else {
      unlocked("\(path)/.lock is not a regular file of this user")
      return body()
    }
    while flock(f, operation) != 0 && errno == EINTR {}
    defer { flock(f, LOCK_UN) }
    return body()
  }
}
