// The package root directory, for tests that read files of the package (samples, fixtures,
// sources) or run the CLI from there.

import Foundation

/// The package root: two directories above this file (Tests/Support/PackageRoot.swift), where
/// Package.swift is. Stops the test run if Package.swift is not there.
public let packageRoot: URL = {
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  precondition(
    FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path),
    "no Package.swift at \(root.path), the presumed package root")
  return root
}()
