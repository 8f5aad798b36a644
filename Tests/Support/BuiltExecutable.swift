// Finding the executables SwiftPM built for the package (`nnc`, the samples) next to the test
// bundle, so tests can run them as subprocesses.

import Foundation

/// The built executable `name`: for "nnc", `$NNC_BINARY` if set; else the `name` next to the
/// test bundle (SwiftPM builds products and the test bundle into the same directory), looking
/// up to four directories above each place the bundle may be; else the newest `debug/name` in
/// the package's build directories (`.build*`, and their per-triple subdirectories); else nil.
public func builtExecutable(_ name: String) -> URL? {
  if name == "nnc", let path = ProcessInfo.processInfo.environment["NNC_BINARY"] { return URL(fileURLWithPath: path) }
  // Places the test bundle may be: argv[0] on Linux, an `.xctest` argument or loaded bundle on
  // macOS (`.../debug/nncPackageTests.xctest/Contents/MacOS/...`).
  var starts: [URL] = CommandLine.arguments.prefix(1).map { URL(fileURLWithPath: $0) }
  starts += CommandLine.arguments.filter { $0.hasSuffix(".xctest") }.map { URL(fileURLWithPath: $0) }
  starts += Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map(\.bundleURL)
  if let exe = Bundle.main.executableURL { starts.append(exe) }
  for start in starts {
    var dir = start.resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent(name)
      if isExecutableFile(candidate) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
  }
  // Last resort: the newest one in any build directory of the package.
  let fm = FileManager.default
  var found: [(URL, Date)] = []
  for build in (try? fm.contentsOfDirectory(atPath: packageRoot.path)) ?? [] where build.hasPrefix(".build") {
    let base = packageRoot.appendingPathComponent(build)
    let triples = ((try? fm.contentsOfDirectory(atPath: base.path)) ?? []).map { base.appendingPathComponent($0) }
    for dir in [base] + triples {
      let candidate = dir.appendingPathComponent("debug/\(name)")
      if isExecutableFile(candidate),
        let date = (try? fm.attributesOfItem(atPath: candidate.path))?[.modificationDate] as? Date
      {
        found.append((candidate, date))
      }
    }
  }
  return found.max { $0.1 < $1.1 }?.0
}

/// Whether `url` is an executable file (not a directory).
private func isExecutableFile(_ url: URL) -> Bool {
  var isDir: ObjCBool = false
  return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && !isDir.boolValue
    && FileManager.default.isExecutableFile(atPath: url.path)
}
