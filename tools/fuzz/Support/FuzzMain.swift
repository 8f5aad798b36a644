// What the fuzz targets share. Each target defines libFuzzer's entry point
// `LLVMFuzzerTestOneInput` and a Swift `main` calling `fuzzMain`. Built by tools/fuzz/run.sh
// (-sanitize=fuzzer,address -DNNC_LIBFUZZER), `fuzzMain` hands the target to libFuzzer's driver,
// which takes libFuzzer's usual arguments. (SwiftPM links an executable's Swift `main` in place
// of libFuzzer's, so the driver is called explicitly.) A plain `swift build` makes a replay
// tool instead: it runs the target once on each file (or each file in each directory) named on
// the command line, so a crash file reproduces without libFuzzer.

import CLibFuzzer
import Foundation

nonisolated(unsafe) private var target: ([UInt8]) -> Void = { _ in }

/// Runs `body` under libFuzzer (a fuzz build) or on the files named on the command line (a plain
/// build), then exits.
public func fuzzMain(_ body: @escaping ([UInt8]) -> Void) -> Never {
  #if NNC_LIBFUZZER
    target = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
      target(fuzzInput(data, size))
      return 0
    }
    exit(status)
  #else
    replayMain(body)
  #endif
}

/// The bytes libFuzzer passes.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
  guard let data, size > 0 else { return [] }
  return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Runs `body` once on each input file named on the command line, then exits 0. `body`
/// reports a finding by trapping (`fuzzFailure`).
public func replayMain(_ body: ([UInt8]) -> Void) -> Never {
  let args = CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("-") }
  if args.isEmpty {
    let me = (CommandLine.arguments.first ?? "fuzz-target").split(separator: "/").last ?? ""
    print("""
      usage: \(me) FILE|DIR...
      Runs the fuzz target once on each file, e.g. a crash file (this build has no libFuzzer;
      tools/fuzz/run.sh builds and runs the libFuzzer version in .build-fuzz).
      """)
    exit(2)
  }
  var files: [String] = []
  for a in args {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: a, isDirectory: &isDir), isDir.boolValue {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: a)) ?? []
      files += names.sorted().map { a + "/" + $0 }
    } else {
      files.append(a)
    }
  }
  for f in files {
    guard let data = FileManager.default.contents(atPath: f) else {
      print("cannot read \(f)")
      exit(2)
    }
    body(Array(data))
    print("ok \(f)")
  }
  exit(0)
}

/// Reports a finding: prints `message` to stderr and traps, which libFuzzer records as a crash
/// (and the replay tool dies of the signal).
public func fuzzFailure(_ message: String) -> Never {
  FileHandle.standardError.write(Data(("FUZZ FINDING: " + message + "\n").utf8))
  fatalError("fuzz finding (see above)")
}
