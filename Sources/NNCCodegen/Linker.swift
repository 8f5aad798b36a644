// Linking emitted objects with the system toolchain (`cc`), run through posix_spawn.

#if canImport(Glibc)
  import Glibc
#endif

/// Runs `executable` (looked up in PATH unless it holds a '/') with `arguments` and waits for
/// it; returns waitpid's status and what it wrote on stdout, and on stderr too when
/// `captureStderr` (else stderr is inherited). Throws when it cannot start. (posix_spawn:
/// Foundation's Process costs ~5x more here.)
public func runProcess(
  _ executable: String, _ arguments: [String], captureStderr: Bool = true
) throws(CodegenError) -> (status: Int32, output: String) {
  var fds: [Int32] = [0, 0]
  guard pipe(&fds) == 0 else { throw CodegenError("pipe() failed") }
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
  if captureStderr { posix_spawn_file_actions_adddup2(&actions, fds[1], 2) }
  posix_spawn_file_actions_addclose(&actions, fds[0])
  var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
  defer { for a in argv { free(a) } }
  var pid: pid_t = 0
  let rc = posix_spawnp(&pid, executable, &actions, nil, &argv, environ)
  close(fds[1])
  guard rc == 0 else {
    close(fds[0])
    throw CodegenError("cannot run \(executable): \(String(cString: strerror(rc)))")
  }
  var output: [UInt8] = []
  var buf = [UInt8](repeating: 0, count: 4096)
  while true {
    let k = read(fds[0], &buf, buf.count)
    if k <= 0 { break }
    output += buf[0..<k]
  }
  close(fds[0])
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  return (status, String(decoding: output, as: UTF8.self))
}

/// Runs `executable` with `arguments`; returns its combined stdout and stderr, throwing when
/// it cannot start or exits non-zero.
@discardableResult
public func runTool(_ executable: String, _ arguments: [String]) throws(CodegenError) -> String {
  let (status, text) = try runProcess(executable, arguments)
  let exited = (status & 0x7f) == 0
  let code = (status >> 8) & 0xff
  if !exited || code != 0 {
    throw CodegenError("\(executable) \(arguments.joined(separator: " ")) failed (exit \(code)): \(text)")
  }
  return text
}

/// The C compiler driver used to link (`$CC`, else `cc`).
public var systemCC: String {
  if let cc = getenv("CC"), let s = String(validatingCString: cc), !s.isEmpty { return s }
  return "cc"
}

/// Links `object` into the shared library `output` (with libm).
public func linkSharedLibrary(object: String, output: String) throws(CodegenError) {
  try runTool(systemCC, ["-shared", "-o", output, object, "-lm"])
}
