// Running a program as a subprocess and collecting its exit status, stdout and stderr.

import Foundation

/// What one run of a program did.
public struct ExecutableResult: Sendable {
  /// The exit status.
  public var status: Int32
  /// Everything written to standard output, decoded as UTF-8.
  public var stdout: String
  /// Everything written to standard error, decoded as UTF-8.
  public var stderr: String
}

/// Runs `executable` with `arguments` in `directory` and waits for it to exit. Standard input
/// is `stdin` (nil: nothing, as /dev/null); `environment` is added to this process's own.
public func runExecutable(
  _ executable: URL, _ arguments: [String], in directory: URL, stdin: String? = nil,
  environment: [String: String] = [:]
) throws -> ExecutableResult {
  let fm = FileManager.default
  let scratch = temporaryDirectory()
  defer { try? fm.removeItem(at: scratch) }
  // Files rather than pipes: nothing can block on a full pipe buffer.
  let outURL = scratch.appendingPathComponent("stdout")
  let errURL = scratch.appendingPathComponent("stderr")
  for u in [outURL, errURL] { _ = fm.createFile(atPath: u.path, contents: nil) }
  let out = try FileHandle(forWritingTo: outURL)
  let err = try FileHandle(forWritingTo: errURL)
  var input = FileHandle.nullDevice
  if let stdin {
    let inURL = scratch.appendingPathComponent("stdin")
    _ = fm.createFile(atPath: inURL.path, contents: Data(stdin.utf8))
    input = try FileHandle(forReadingFrom: inURL)
  }
  defer {
    try? out.close()
    try? err.close()
    if stdin != nil { try? input.close() }
  }
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  process.currentDirectoryURL = directory
  process.standardOutput = out
  process.standardError = err
  process.standardInput = input
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  try process.run()
  process.waitUntilExit()
  return ExecutableResult(
    status: process.terminationStatus,
    stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
    stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}
