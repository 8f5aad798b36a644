// `nnc run --interpret`, `nnc --version`, out-of-memory errors, exact integers and messages of
// `nnc run`, end to end with the built binary.

import Foundation
import NNCCodegen
import NNCIR
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct RunEdgeCLITests {
  static let padGraph = """
    swiftgraph 1
    func @f(%x: i64[1], %y: f32[2]) -> (i64[2], f32[2]) {
      %0 = pad %x low=[1] high=[0] value=9007199254740993
      %1 = neg %y
      return %0, %1
    }

    """

  static let bigGraph = """
    swiftgraph 1
    func @f(%x: f32[1]) -> f32[100000,100000,10] {
      %0 = expand %x shape=[100000,100000,10]
      return %0
    }

    """

  /// A directory to use as PATH: it holds no `cc`.
  static func pathWithoutCC() -> ScratchDirectory { ScratchDirectory() }

  static func run(_ arguments: [String], in dir: ScratchDirectory, environment: [String: String] = [:]) throws -> ExecutableResult {
    let exe = try #require(NNCTool.binary, "the nnc executable was not found next to the test bundle; set NNC_BINARY")
    return try runExecutable(exe, arguments, in: dir.url, environment: environment)
  }

  static func writeInputs(_ dir: ScratchDirectory) throws {
    try dir.write("pad.swiftgraph", padGraph)
    try Npy.write(NDArray([5] as [Int64], shape: [1]), to: dir.path("x.npy"))
    try Npy.write(NDArray([0.0, -2.5] as [Float], shape: [2]), to: dir.path("y.npy"))
  }

  static let padOutput = "result 0: i64[2]\n[9007199254740993, 5]\nresult 1: f32[2]\n[-0.0, 2.5]\n"

  @Test func compiledRunAndCheckAreExactForLargeIntegers() throws {
    let dir = ScratchDirectory()
    try Self.writeInputs(dir)
    let r = try Self.run(["run", "pad.swiftgraph", "--input", "x=x.npy", "--input", "y=y.npy", "--check"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == Self.padOutput + "check: result 0 matches the interpreter (exact)\ncheck: result 1 matches the interpreter (exact)\n")
  }

  /// `run` optimizes first (here prune drops a branch and simplify removes `x*1`); `--check`
  /// interprets the function as written, so it checks the passes and the code generator together.
  @Test func runOptimizesAndCheckComparesWithTheUnoptimizedFunction() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "opt.swiftgraph",
      """
      swiftgraph 1
      func @f(%x: f32[3]) -> f32[3] {
        %one = const 1.0 : f32[]
        %m = mul %x, %one
        %t = const true : bool[]
        %r = cond %t -> f32[3] {
          %n = neg %m
          yield %n
        } else {
          yield %x
        }
        return %r
      }
      """)
    try Npy.write(NDArray([Float(1.5), -0.0, .infinity], shape: [3]), to: dir.path("x.npy"))
    let r = try Self.run(["run", "opt.swiftgraph", "--input", "x=x.npy", "--check", "--remarks"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "result 0: f32[3]\n[-1.5, 0.0, -inf]\ncheck: result 0 matches the interpreter (exact)\n")
    #expect(r.stderr.contains("opt.swiftgraph:6:8: remark: prune: cond predicate is the constant true; kept then-branch (1 neg)"))
    #expect(r.stderr.contains("opt.swiftgraph:4:8: remark: simplify: mul-one: replaced 'mul' by its operand"))
    let i = try Self.run(["run", "opt.swiftgraph", "--input", "x=x.npy", "--interpret", "--passes=none"], in: dir)
    #expect(i.status == 0 && i.stdout == "result 0: f32[3]\n[-1.5, 0.0, -inf]\n", "\(i.stderr)")
  }

  @Test func interpretPrintsLikeACompiledRunWithoutACCompiler() throws {
    let dir = ScratchDirectory()
    try Self.writeInputs(dir)
    let noCC = Self.pathWithoutCC()
    let args = ["run", "pad.swiftgraph", "--input", "x=x.npy", "--input", "y=y.npy"]
    let r = try Self.run(args + ["--interpret"], in: dir, environment: ["PATH": noCC.url.path])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr == "")
    #expect(r.stdout == Self.padOutput)
    // The compiled run needs cc to link, so it fails there (and shows the PATH really has no cc).
    let compiled = try Self.run(args, in: dir, environment: ["PATH": noCC.url.path])
    #expect(compiled.status == 1)
    #expect(compiled.stderr.hasPrefix("error: cannot link: "))

    // --output writes the same .npy files.
    let out = try Self.run(args + ["--interpret", "--output", "a.npy", "--output", "b.npy"], in: dir, environment: ["PATH": noCC.url.path])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout == "")
    #expect(try Npy.read(contentsOf: dir.path("a.npy")) == NDArray([9_007_199_254_740_993, 5] as [Int64], shape: [2]))
    #expect(try Npy.read(contentsOf: dir.path("b.npy")) == NDArray([-0.0, 2.5] as [Float], shape: [2]))

    // The same input errors as a compiled run.
    let missing = try Self.run(["run", "pad.swiftgraph", "--input", "x=x.npy", "--interpret"], in: dir)
    #expect(missing.status == 1)
    #expect(missing.stderr == "error: missing input for @f: %y (f32[2]); give each as --input NAME=FILE.npy\n")
  }

  @Test func interpretAndCheckAreAUsageError() throws {
    let dir = ScratchDirectory()
    try Self.writeInputs(dir)
    let r = try Self.run(["run", "pad.swiftgraph", "--input", "x=x.npy", "--input", "y=y.npy", "--interpret", "--check"], in: dir)
    #expect(r.status == 64)
    #expect(r.stdout == "")
    #expect(r.stderr.hasPrefix("Error: --interpret and --check cannot be used together: --check compares compiled code with the interpreter\n"))
    let cpu = try Self.run(["run", "pad.swiftgraph", "--input", "x=x.npy", "--input", "y=y.npy", "--interpret", "--cpu", "x86-64"], in: dir)
    #expect(cpu.status == 64)
    #expect(cpu.stderr.hasPrefix("Error: --cpu, --features and --vector-width choose the code generator's target; --interpret generates no code\n"))
  }

  @Test func interpretRunsFailedGuardsToo() throws {
    let dir = ScratchDirectory()
    try dir.write("guarded.swiftgraph", CompileCLITests.guarded)
    try Npy.write(NDArray([Float(1), -4, 9], shape: [3]), to: dir.path("neg.npy"))
    let r = try Self.run(["run", "guarded.swiftgraph", "--input", "x=neg.npy", "--interpret"], in: dir)
    #expect(r.status == 1)
    #expect(r.stderr == "error: @nonneg: guard failed at model.swift:40: x must not be negative\n")
  }

  @Test func versionNamesEveryComponent() throws {
    let dir = ScratchDirectory()
    let r = try Self.run(["--version"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    let lines = r.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 5)
    #expect(lines.first == "nnc 0.1.0")
    // The constant the compile cache keys on.
    #expect(lines.dropFirst(1).first == "code generator: \(codegenVersion)")
    #expect(codegenVersion.hasPrefix("nnc-codegen-"))
    #expect(lines.dropFirst(3).first == "swiftgraph format: 1")
    // LLVM's own tool says which LLVM and which default triple this is.
    if let config = ["/usr/bin/llvm-config-14", "/usr/lib/llvm-14/bin/llvm-config"].first(where: FileManager.default.isExecutableFile) {
      let llvm = try runExecutable(URL(fileURLWithPath: config), ["--version", "--host-target"], in: dir.url)
      let parts = llvm.stdout.split(separator: "\n").map(String.init)
      #expect(lines.dropFirst(2).first == "LLVM: \(parts.first ?? "?")")
      let cpu = try hostTarget().cpu
      #expect(lines.last == "default target: \(parts.last ?? "?") (CPU \(cpu))")
    } else {
      #expect(lines.dropFirst(2).first?.hasPrefix("LLVM: 14.") == true)
    }
  }

  @Test func resultsTooLargeForMemoryAreAnErrorNotAnAbort() throws {
    let dir = ScratchDirectory()
    try dir.write("big.swiftgraph", Self.bigGraph)
    try Npy.write(NDArray([Float(1)], shape: [1]), to: dir.path("x.npy"))
    let compiled = try Self.run(["run", "big.swiftgraph", "--input", "x=x.npy"], in: dir)
    #expect(compiled.status == 1)
    #expect(compiled.stdout == "")
    #expect(compiled.stderr.hasPrefix("error: result 0 of @f: f32[100000,100000,10] needs 400 GB: out of memory (at most "))
    #expect(compiled.stderr.hasSuffix(" can be allocated)\n"))

    let interpreted = try Self.run(["run", "big.swiftgraph", "--input", "x=x.npy", "--interpret"], in: dir)
    #expect(interpreted.status == 1)
    #expect(interpreted.stdout == "")
    #expect(
      interpreted.stderr.hasPrefix("error: @f: expand at big.swiftgraph:3:8: f32[100000,100000,10] needs 400 GB: out of memory (at most "))
  }

  /// An intermediate too large for memory is named before the compiled code runs.
  @Test func intermediatesTooLargeForMemoryAreNamed() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "mid.swiftgraph",
      "swiftgraph 1\nfunc @f(%x: f32[1]) -> f32[] {\n  %0 = expand %x shape=[100000,100000,10]\n  %1 = reduce_sum %0 axes=[0,1,2]\n  return %1\n}\n")
    try Npy.write(NDArray([Float(1)], shape: [1]), to: dir.path("x.npy"))
    for extra in [[], ["--interpret"]] {
      let r = try Self.run(["run", "mid.swiftgraph", "--input", "x=x.npy"] + extra, in: dir)
      #expect(r.status == 1)
      #expect(r.stderr.hasPrefix("error: @f: expand at mid.swiftgraph:3:8: f32[100000,100000,10] needs 400 GB: out of memory (at most "), "\(r.stderr)")
    }
  }

  @Test func unwritableOutputNamesThePathOnce() throws {
    let dir = ScratchDirectory()
    try Self.writeInputs(dir)
    let r = try Self.run(
      ["run", "pad.swiftgraph", "--input", "x=x.npy", "--input", "y=y.npy", "--interpret", "--output", "no/such/a.npy", "--output", "b.npy"],
      in: dir)
    #expect(r.status == 1)
    #expect(r.stderr == "error: cannot write no/such/a.npy: No such file or directory\n")
  }
}

@Suite struct ReadmeCommandTests {
  /// The README's main command writes its object and header inside `.build/`, which git
  /// ignores, so running it leaves the checkout clean.
  @Test func mainCommandWritesIntoTheIgnoredBuildFolder() throws {
    let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let line = try #require(readme.split(separator: "\n").first { $0.hasPrefix("swift run nnc compile ") })
    let arguments = line.dropFirst("swift run nnc ".count).split(separator: " ").map(String.init)
    let output = try #require(arguments.firstIndex(of: "-o").map { arguments[$0 + 1] })
    #expect(output == ".build/lenet.o")
    let gitignore = try String(contentsOf: packageRoot.appendingPathComponent(".gitignore"), encoding: .utf8)
    #expect(gitignore.split(separator: "\n").contains(".build*/"))

    let r = try NNCTool.nnc(arguments)
    #expect(r.status == 0, "\(r.stderr)")
    for written in [".build/lenet.o", ".build/lenet.h"] {
      #expect(FileManager.default.fileExists(atPath: packageRoot.appendingPathComponent(written).path), "\(written)")
    }
  }
}

@Suite struct NpyMemoryTests {
  /// A sparse .npy file whose header says f32[100000,100000,10] and which really is that long
  /// (400 GB of holes): reading it must fail cleanly before anything is allocated.
  @Test func hugeInputFileIsAnErrorNotAnAbort() throws {
    let dir = ScratchDirectory()
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 10), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    bytes += [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
    bytes += Array(header.utf8)
    let path = dir.path("big.npy")
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: UInt64(bytes.count) + 400_000_000_000)
    try handle.close()

    #expect(throws: NpyError.self) { try Npy.read(contentsOf: path) }
    try dir.write("f.swiftgraph", "swiftgraph 1\nfunc @f(%x: f32[100000,100000,10]) -> f32[] {\n  %0 = reduce_sum %x axes=[0,1,2]\n  return %0\n}\n")
    for extra in [[], ["--interpret"]] {
      let r = try RunEdgeCLITests.run(["run", "f.swiftgraph", "--input", "x=big.npy"] + extra, in: dir)
      #expect(r.status == 1)
      #expect(r.stderr.hasPrefix("error: input %x: big.npy: the array of f32[100000,100000,10] needs 400 GB: out of memory (at most "), "\(r.stderr)")
    }
  }

  /// The reader reads the header, then exactly the bytes it announces: a valid 2x3 header in
  /// front of 8 GB (of holes) is a size mismatch found after reading 24 data bytes and one more,
  /// and files that are not regular files (/dev/zero, a FIFO that no one writes) are refused
  /// before any read, so nothing exhausts memory or blocks.
  @Test func readingIsBoundedByTheHeader() throws {
    let dir = ScratchDirectory()
    try Npy.write(NDArray([Float](repeating: 1, count: 6), shape: [2, 3]), to: dir.path("small.npy"))
    let path = dir.path("small.npy")
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: size + 8_000_000_000)
    try handle.close()
    #expect(throws: NpyError.sizeMismatch(shape: [2, 3], dtype: .f32, expectedBytes: 24, gotBytes: 8_000_000_024)) {
      try Npy.read(contentsOf: path)
    }

    #expect(throws: NpyError.io(path: "/dev/zero", message: "is not a regular file")) { try Npy.read(contentsOf: "/dev/zero") }
    let fifo = dir.path("fifo.npy")
    #expect(mkfifo(fifo, 0o600) == 0)
    #expect(throws: NpyError.io(path: fifo, message: "is not a regular file")) { try Npy.read(contentsOf: fifo) }

    try dir.write("f.swiftgraph", "swiftgraph 1\nfunc @f(%x: f32[2,3]) -> f32[2,3] {\n  return %x\n}\n")
    let r = try RunEdgeCLITests.run(["run", "f.swiftgraph", "--input", "x=/dev/zero", "--interpret"], in: dir)
    #expect(r.status == 1)
    #expect(r.stderr == "error: input %x: cannot read /dev/zero: is not a regular file\n", "\(r.stderr)")
  }
}

@Suite struct MemoryLimitTests {
  /// Under `ulimit -v 4000000` (4,096,000,000 bytes of address space) an 8 GB result is refused
  /// with that limit named, although the machine may have more physical memory.
  @Test func addressSpaceLimitIsHonoured() throws {
    let exe = try #require(NNCTool.binary, "the nnc executable was not found next to the test bundle; set NNC_BINARY")
    let dir = ScratchDirectory()
    try dir.write(
      "f.swiftgraph", "swiftgraph 1\nfunc @f(%x: f32[1]) -> f32[2000000000] {\n  %0 = expand %x shape=[2000000000]\n  return %0\n}\n")
    try Npy.write(NDArray([Float(1)], shape: [1]), to: dir.path("x.npy"))
    let script = "ulimit -v 4000000 && exec \"$0\" run f.swiftgraph --input x=x.npy --interpret"
    let r = try runExecutable(URL(fileURLWithPath: "/bin/sh"), ["-c", script, exe.path], in: dir.url)
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stderr == "error: @f: expand at f.swiftgraph:3:8: f32[2000000000] needs 8 GB: out of memory (at most 4.1 GB can be allocated)\n")
  }
}
