// Temporary directories for tests that write files.

import Foundation

/// A fresh, empty temporary directory.
public func temporaryDirectory() -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("nnc-tests-\(UUID().uuidString)")
  try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// A fresh temporary directory for the files one test writes, removed with everything in it
/// when the object goes away (at the end of the test).
public final class ScratchDirectory {
  /// The directory.
  public let url: URL

  /// Creates the directory.
  public init() { url = temporaryDirectory() }

  /// The path of `name` in the directory.
  public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  /// Writes `text` as UTF-8 to `name` in the directory.
  public func write(_ name: String, _ text: String) throws {
    try text.write(toFile: path(name), atomically: true, encoding: .utf8)
  }

  /// The bytes of `name` in the directory.
  public func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

  /// Whether `name` exists in the directory.
  public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

  deinit { try? FileManager.default.removeItem(at: url) }
}
