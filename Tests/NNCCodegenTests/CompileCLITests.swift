// `nnc compile` and `nnc run` end to end: the built `nnc` binary runs as a subprocess on the
// samples and on files the tests write; objects, assembly, IR and headers are checked, results
// are compared with the reference interpreter, and every bad input must give one clear error.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// The built `nnc` executable and the sample it compiles most.
enum NNCTool {
  static let mlp = sampleModelURL("mlp").path

  /// The `nnc` executable (see `builtExecutable`).
  static let binary: URL? = builtExecutable("nnc")

  /// Runs `nnc arguments` in `directory`.
  static func nnc(_ arguments: [String], in directory: URL = packageRoot) throws -> ExecutableResult {
    let exe = try #require(binary, "the nnc executable was not found next to the test bundle; set NNC_BINARY")
    return try runExecutable(exe, arguments, in: directory)
  }
}

@Suite struct CompileCLITests {
  /// MLP inputs for batch 2 (deterministic, with negative hidden activations so relu matters).
  static func mlpInputs() -> [(String, NDArray)] {
    func pattern(_ count: Int, _ scale: Float, _ mod: Int) -> [Float] {
      (0..<count).map { Float($0 % mod - mod / 2) * scale }
    }
    return [
      ("x", NDArray(pattern(2 * 784, 0.05, 17), shape: [2, 784])),
      ("w1", NDArray(pattern(784 * 256, 0.002, 13), shape: [784, 256])),
      ("b1", NDArray(pattern(256, 0.01, 5), shape: [256])),
      ("w2", NDArray(pattern(256 * 10, 0.01, 11), shape: [256, 10])),
      ("b2", NDArray(pattern(10, 0.1, 3), shape: [10])),
    ]
  }

  /// Writes the MLP inputs to NAME.npy in `dir`; returns the `--input` arguments.
  static func writeMLPInputs(_ dir: ScratchDirectory) throws -> [String] {
    var args: [String] = []
    for (name, a) in mlpInputs() {
      try Npy.write(a, to: dir.path("\(name).npy"))
      args += ["--input", "\(name)=\(dir.path("\(name).npy"))"]
    }
    return args
  }

  static let guarded = """
    swiftgraph 1
    func @nonneg(%x: f32[N]) -> f32[N] {
      %zero = const 0.0 : f32[]
      %m = reduce_min %x axes=[0]
      %ok = ge %m, %zero
      guard %ok message="x must not be negative" loc("model.swift":40)
      %y = sqrt %x
      return %y
    }

    """

  @Test func helpDescribesCompileAndRun() throws {
    let top = try NNCTool.nnc(["--help"])
    #expect(top.status == 0)
    #expect(top.stdout.contains("compile ") && top.stdout.contains("run "))
    #expect(top.stdout.contains("--version"))
    let compile = try NNCTool.nnc(["compile", "--help"])
    #expect(compile.status == 0)
    for flag in ["<file>", "-o, --output <path>", "--emit <obj,asm,llvm,header>", "--cpu <name>", "--features <features>",
      "--vector-width <bits>", "--function <name>", "docs/abi.md"] {
      #expect(compile.stdout.contains(flag), "nnc compile --help does not mention \(flag)")
    }
    let run = try NNCTool.nnc(["run", "--help"])
    #expect(run.status == 0)
    for flag in ["<file>", "--input <name=path.npy>", "--output <path.npy>", "--function <name>", "--check", "--interpret",
      "--cpu <name>", "--features <features>", "--vector-width <bits>"] {
      #expect(run.stdout.contains(flag), "nnc run --help does not mention \(flag)")
    }
  }

  // MARK: - compile

  @Test func compileWritesAnELFObject() throws {
    let dir = ScratchDirectory()
    let r = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("mlp.o")])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "" && r.stderr == "")
    let obj = try dir.bytes("mlp.o")
    #expect(obj.count > 1000)
    #expect(Array(obj.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46])  // \x7fELF
    #expect(obj[4] == 2)  // 64-bit
    #expect(obj[16] == 1 && obj[17] == 0)  // ET_REL: a relocatable object
    // Only the object: nothing else is written unless asked for.
    #expect(!dir.exists("mlp.h") && !dir.exists("mlp.s") && !dir.exists("mlp.ll"))

    // Without -o: the input's base name with .o, in the current directory.
    let d = try NNCTool.nnc(["compile", NNCTool.mlp], in: dir.url)
    #expect(d.status == 0, "\(d.stderr)")
    #expect(try dir.bytes("mlp.o") == obj)
  }

  @Test func emitWritesAssemblyIRAndHeaderNextToTheObject() throws {
    let dir = ScratchDirectory()
    let r = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("model.o"), "--emit", "obj,asm,llvm,header"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(Array(try dir.bytes("model.o").prefix(4)) == [0x7F, 0x45, 0x4C, 0x46])
    let asm = String(decoding: try dir.bytes("model.s"), as: UTF8.self)
    #expect(asm.contains("\nnnc_mlp:"))
    #expect(asm.contains("\nnnc_mlp_packed:"))
    #expect(asm.contains(".globl\tnnc_mlp"))
    let ir = String(decoding: try dir.bytes("model.ll"), as: UTF8.self)
    #expect(ir.hasPrefix("; ModuleID"))
    #expect(ir.contains("define i32 @nnc_mlp("))
    let header = String(decoding: try dir.bytes("model.h"), as: UTF8.self)
    #expect(
      header.contains(
        "int32_t nnc_mlp(const float *x, const float *w1, const float *b1, const float *w2, const float *b2, float *result0, int64_t N);"
      ))
    #expect(header.contains("int32_t nnc_mlp_packed(void *const *buffers, const int64_t *sizes);"))
    #expect(header.contains("#include <stdint.h>"))
    #expect(header.contains(" *   x: f32[N,784]\n"))

    // Only what --emit names is written; OUTPUT without an extension still names the siblings.
    let only = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("bare"), "--emit", "header, asm"])
    #expect(only.status == 0, "\(only.stderr)")
    #expect(dir.exists("bare.h") && dir.exists("bare.s"))
    #expect(!dir.exists("bare") && !dir.exists("bare.ll"))
    #expect(try dir.bytes("bare.h") == dir.bytes("model.h"))
  }

  /// Two headers of different graphs can be included in one C file.
  @Test func headersOfDifferentGraphsHaveDifferentIncludeGuards() throws {
    let dir = ScratchDirectory()
    let a = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("a.o"), "--emit", "header"])
    let b = try NNCTool.nnc([
      "compile", sampleModelURL("select_branch").path,
      "-o", dir.path("b.o"), "--emit", "header",
    ])
    #expect(a.status == 0 && b.status == 0)
    let ha = String(decoding: try dir.bytes("a.h"), as: UTF8.self)
    let hb = String(decoding: try dir.bytes("b.h"), as: UTF8.self)
    #expect(ha.contains("#ifndef NNC_GENERATED_MLP_H"))
    #expect(hb.contains("#ifndef NNC_GENERATED_SELECT_BRANCH_H"))
  }

  @Test func outputIsDeterministic() throws {
    let dir = ScratchDirectory()
    for name in ["one", "two"] {
      let r = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("\(name).o"), "--emit", "obj,asm,llvm,header"])
      #expect(r.status == 0, "\(r.stderr)")
    }
    for ext in ["o", "s", "ll", "h"] {
      #expect(try dir.bytes("one.\(ext)") == dir.bytes("two.\(ext)"), "\(ext) differs between two compiles")
    }
  }

  @Test func otherCPUsGiveOtherCode() throws {
    let host = try hostTarget()
    let dir = ScratchDirectory()
    let native = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("host.o"), "--emit", "obj,asm"])
    let generic = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("generic.o"), "--emit", "obj,asm", "--cpu", "x86-64"])
    #expect(native.status == 0 && generic.status == 0, "\(native.stderr)\(generic.stderr)")
    // x86-64 without --features has only baseline SSE2: no AVX registers.
    let genericAsm = String(decoding: try dir.bytes("generic.s"), as: UTF8.self)
    #expect(!genericAsm.contains("%ymm") && !genericAsm.contains("%zmm"))
    if host.cpu != "x86-64" {
      #expect(try dir.bytes("host.o") != dir.bytes("generic.o"))
    }
    let widths = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("w.o"), "--cpu", "x86-64-v3", "--features", "+avx2,+fma", "--vector-width", "128"])
    #expect(widths.status == 0, "\(widths.stderr)")

    let bad = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("bad.o"), "--cpu", "no-such-cpu"])
    #expect(bad.status == 1)
    #expect(bad.stderr.hasPrefix("error: --cpu: unknown CPU 'no-such-cpu'"))
    #expect(!dir.exists("bad.o"))
  }

  @Test func compileReportsBadInputClearly() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "bad.swiftgraph", "swiftgraph 1\nfunc @f(%a: f32[3,4], %b: f32[5,6]) -> f32[3,6] {\n  %0 = matmul %a, %b\n  return %0\n}\n")
    let parse = try NNCTool.nnc(["compile", "bad.swiftgraph"], in: dir.url)
    #expect(parse.status == 1)
    #expect(parse.stderr == "bad.swiftgraph:3:8: error: matmul: inner dims differ: f32[3,4] x f32[5,6]\n  %0 = matmul %a, %b\n       ^\n")
    #expect(!dir.exists("bad.o"))

    let emit = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("m.o"), "--emit", "obj,exe"])
    #expect(emit.status == 64)
    #expect(emit.stderr.hasPrefix("Error: --emit: unknown artifact 'exe' (expected a comma-separated list of: obj, asm, llvm, header)\n"))

    let clash = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("m.h"), "--emit", "obj,header"])
    #expect(clash.status == 1)
    #expect(clash.stderr == "error: --emit: obj and header would both be written to \(dir.path("m.h"))\n")

    let missing = try NNCTool.nnc(["compile", "nope.swiftgraph"], in: dir.url)
    #expect(missing.status == 1)
    #expect(missing.stderr == "nope.swiftgraph: error: no such file\n")

    let unwritable = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("no/such/dir/m.o")])
    #expect(unwritable.status == 1)
    #expect(unwritable.stderr == "error: cannot write \(dir.path("no/such/dir/m.o")): No such file or directory\n")

    let function = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("m.o"), "--function", "lenet"])
    #expect(function.status == 1)
    #expect(function.stderr == "error: \(NNCTool.mlp) has no function @lenet; it has @mlp\n")

    let width = try NNCTool.nnc(["compile", NNCTool.mlp, "--vector-width", "100"])
    #expect(width.status == 64)
    #expect(width.stderr.hasPrefix("Error: --vector-width: 100 is not a power of two"))

    for bad in ["-1", "64MiB", "1e9"] {
      let threshold = try NNCTool.nnc(["compile", NNCTool.mlp, "--streaming-threshold=\(bad)"])
      #expect(threshold.status == 64, "--streaming-threshold '\(bad)'")
      #expect(threshold.stderr.hasPrefix("Error: --streaming-threshold: '\(bad)' is not a byte count"))
    }
  }

  /// `--streaming-threshold`: 0 makes the memory-bound kernel writing the result stream, 'never'
  /// keeps plain stores (the MLP's epilogues never stream; an elementwise chain does).
  @Test func streamingThresholdChoosesTheStores() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "axpy.swiftgraph",
      """
      swiftgraph 1
      func @axpy(%x: f32[N], %y: f32[N]) -> f32[N] {
        %a = const 1.5 : f32[]
        %0 = mul %x, %a
        %1 = add %0, %y
        return %1
      }
      """)
    for (flag, streams) in [("0", true), ("never", false)] {
      let r = try NNCTool.nnc(
        ["compile", "axpy.swiftgraph", "-o", "a.s", "--emit", "asm", "--streaming-threshold", flag], in: dir.url)
      #expect(r.status == 0, "\(r.stderr)")
      let text = try String(contentsOfFile: dir.path("a.s"), encoding: .utf8)
      #expect(text.contains("movnt") == streams, "--streaming-threshold \(flag)")
    }
  }

  @Test func functionPicksOneFunction() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "two.swiftgraph",
      """
      swiftgraph 1
      func @double(%x: f32[N]) -> f32[N] {
        %y = add %x, %x
        return %y
      }
      func @negate(%x: i32[3]) -> i32[3] {
        %y = neg %x
        return %y
      }

      """)
    let r = try NNCTool.nnc(["compile", "two.swiftgraph", "--function", "negate", "--emit", "obj,header"], in: dir.url)
    #expect(r.status == 0, "\(r.stderr)")
    let header = String(decoding: try dir.bytes("two.h"), as: UTF8.self)
    #expect(header.contains("nnc_negate(") && !header.contains("nnc_double("))

    try Npy.write(NDArray([Int32(1), -2, 3], shape: [3]), to: dir.path("x.npy"))
    let ambiguous = try NNCTool.nnc(["run", "two.swiftgraph", "--input", "x=x.npy"], in: dir.url)
    #expect(ambiguous.status == 1)
    #expect(ambiguous.stderr == "error: two.swiftgraph has 2 functions; choose one with --function: double, negate\n")
    let run = try NNCTool.nnc(["run", "two.swiftgraph", "--function", "@negate", "--input", "%x=x.npy", "--check"], in: dir.url)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout == "result 0: i32[3]\n[-1, 2, -3]\ncheck: result 0 matches the interpreter (exact)\n")
  }

  // MARK: - run

  @Test func runGivesTheInterpretersValues() throws {
    let dir = ScratchDirectory()
    let inputs = try Self.writeMLPInputs(dir)
    let r = try NNCTool.nnc(["run", NNCTool.mlp] + inputs + ["--output", dir.path("y.npy")])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "" && r.stderr == "")
    let actual = try Npy.read(contentsOf: dir.path("y.npy"))
    let f = try loadGraph(Array(try Data(contentsOf: URL(fileURLWithPath: NNCTool.mlp))), file: NNCTool.mlp).functions[0]
    let expected = try Interpreter.run(f, Self.mlpInputs().map(\.1))[0]
    #expect(actual.shape == [2, 10])
    #expect(mismatch(actual, expected, rtol: 1e-5, atol: 1e-6) == nil)
    // relu mattered: some outputs are negative, some positive.
    #expect((0..<20).contains { expected.storage.double($0) < 0 } && (0..<20).contains { expected.storage.double($0) > 0 })

    // Printed: the type, then the rows.
    let printed = try NNCTool.nnc(["run", NNCTool.mlp] + inputs)
    #expect(printed.status == 0, "\(printed.stderr)")
    let lines = printed.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    #expect(lines.first == "result 0: f32[2,10]")
    let numbers = lines.dropFirst().joined().filter { !"[]".contains($0) }.split(separator: ",").map {
      Float($0.trimmingCharacters(in: .whitespaces))
    }
    #expect(numbers.count == 20)
    guard case .f32(let values) = actual.storage else { return }
    #expect(numbers == values.map { Optional($0) })
  }

  @Test func checkPassesOnTheSample() throws {
    let dir = ScratchDirectory()
    let inputs = try Self.writeMLPInputs(dir)
    let r = try NNCTool.nnc(["run", NNCTool.mlp, "--check", "--output", dir.path("y.npy")] + inputs)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "check: result 0 matches the interpreter (exact)\n")
    #expect(r.stderr == "")

    // The generic CPU too.
    let g = try NNCTool.nnc(["run", NNCTool.mlp, "--check", "--cpu", "x86-64", "--output", dir.path("y2.npy")] + inputs)
    #expect(g.status == 0, "\(g.stderr)")
  }

  @Test func runReportsBadInputsClearly() throws {
    let dir = ScratchDirectory()
    let inputs = try Self.writeMLPInputs(dir)
    let withoutB2 = Array(inputs.dropLast(2))

    let missing = try NNCTool.nnc(["run", NNCTool.mlp] + withoutB2)
    #expect(missing.status == 1)
    #expect(missing.stdout == "")
    #expect(missing.stderr == "error: missing input for @mlp: %b2 (f32[10]); give each as --input NAME=FILE.npy\n")

    let unknown = try NNCTool.nnc(["run", NNCTool.mlp] + inputs + ["--input", "bias=\(dir.path("b2.npy"))"])
    #expect(unknown.status == 1)
    #expect(unknown.stderr == "error: @mlp has no parameter %bias; its parameters are %x, %w1, %b1, %w2, %b2\n")

    let twice = try NNCTool.nnc(["run", NNCTool.mlp] + inputs + ["--input", "x=\(dir.path("x.npy"))"])
    #expect(twice.status == 1)
    #expect(twice.stderr == "error: --input x is given more than once\n")

    // w1 given as a 784x255 array.
    try Npy.write(NDArray.zeros(.f32, [784, 255]), to: dir.path("w1bad.npy"))
    var badW1 = inputs
    badW1[3] = "w1=\(dir.path("w1bad.npy"))"
    let wrongShape = try NNCTool.nnc(["run", NNCTool.mlp] + badW1)
    #expect(wrongShape.status == 1)
    #expect(wrongShape.stderr == "error: input %w1 (\(dir.path("w1bad.npy"))) must be f32[784,256], got f32[784,255]\n")

    try Npy.write(NDArray.zeros(.f64, [2, 784]), to: dir.path("x64.npy"))
    var badX = inputs
    badX[1] = "x=\(dir.path("x64.npy"))"
    let wrongType = try NNCTool.nnc(["run", NNCTool.mlp] + badX)
    #expect(wrongType.status == 1)
    #expect(wrongType.stderr == "error: input %x (\(dir.path("x64.npy"))) must be f32[N,784], got f64[2,784]\n")

    try dir.write("junk.npy", "this is not a numpy file\n")
    var junk = inputs
    junk[9] = "b2=\(dir.path("junk.npy"))"
    let malformed = try NNCTool.nnc(["run", NNCTool.mlp] + junk)
    #expect(malformed.status == 1)
    #expect(malformed.stderr == "error: input %b2: \(dir.path("junk.npy")): not a .npy file (it does not start with \\x93NUMPY)\n")

    var half = Npy.encode(NDArray([Float](repeating: 1, count: 10), shape: [10]))
    half.removeLast(5)
    try Data(half).write(to: URL(fileURLWithPath: dir.path("short.npy")))
    junk[9] = "b2=\(dir.path("short.npy"))"
    let truncated = try NNCTool.nnc(["run", NNCTool.mlp] + junk)
    #expect(truncated.status == 1)
    #expect(truncated.stderr == "error: input %b2: \(dir.path("short.npy")): truncated data: shape (10,) of f32 needs 40 bytes, the file has 35\n")

    junk[9] = "b2=\(dir.path("absent.npy"))"
    let absent = try NNCTool.nnc(["run", NNCTool.mlp] + junk)
    #expect(absent.status == 1)
    #expect(absent.stderr == "error: input %b2: cannot read \(dir.path("absent.npy")): No such file or directory\n")

    let syntax = try NNCTool.nnc(["run", NNCTool.mlp, "--input", "x"])
    #expect(syntax.status == 64)
    #expect(syntax.stderr.hasPrefix("Error: --input: 'x' is not NAME=PATH.npy\n"))

    let outputs = try NNCTool.nnc(["run", NNCTool.mlp] + inputs + ["--output", dir.path("a.npy"), "--output", dir.path("b.npy")])
    #expect(outputs.status == 1)
    #expect(outputs.stderr == "error: @mlp has 1 result but 2 --output files were given\n")
    #expect(!FileManager.default.fileExists(atPath: dir.path("a.npy")))
  }

  @Test func runSymbolsMustAgree() throws {
    let dir = ScratchDirectory()
    try dir.write("pair.swiftgraph", "swiftgraph 1\nfunc @pair(%a: f32[N], %b: f32[N]) -> f32[N] {\n  %c = add %a, %b\n  return %c\n}\n")
    try Npy.write(NDArray([Float(1), 2, 3], shape: [3]), to: dir.path("a.npy"))
    try Npy.write(NDArray([Float(1), 2], shape: [2]), to: dir.path("b.npy"))
    let r = try NNCTool.nnc(["run", "pair.swiftgraph", "--input", "a=a.npy", "--input", "b=b.npy"], in: dir.url)
    #expect(r.status == 1)
    #expect(r.stderr == "error: input %b (b.npy): symbol N is 2 here but 3 in an earlier input\n")
    let ok = try NNCTool.nnc(["run", "pair.swiftgraph", "--input", "a=a.npy", "--input", "b=a.npy", "--output", "c.npy", "--check"], in: dir.url)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(try Npy.read(contentsOf: dir.path("c.npy")) == NDArray([Float(2), 4, 6], shape: [3]))
  }

  @Test func failedGuardExitsWithItsMessageAndLocation() throws {
    let dir = ScratchDirectory()
    try dir.write("guarded.swiftgraph", Self.guarded)
    try Npy.write(NDArray([Float(1), 4, 9], shape: [3]), to: dir.path("pos.npy"))
    try Npy.write(NDArray([Float(1), -4, 9], shape: [3]), to: dir.path("neg.npy"))

    let ok = try NNCTool.nnc(["run", "guarded.swiftgraph", "--input", "x=pos.npy", "--check"], in: dir.url)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout == "result 0: f32[3]\n[1.0, 2.0, 3.0]\ncheck: result 0 matches the interpreter (exact)\n")

    let failed = try NNCTool.nnc(["run", "guarded.swiftgraph", "--input", "x=neg.npy"], in: dir.url)
    #expect(failed.status == 1)
    #expect(failed.stdout == "")
    #expect(failed.stderr == "error: @nonneg: guard failed at model.swift:40: x must not be negative\n")

    // Without loc(...), the guard's place in the file.
    try dir.write("bare.swiftgraph", Self.guarded.replacingOccurrences(of: " loc(\"model.swift\":40)", with: ""))
    let bare = try NNCTool.nnc(["run", "bare.swiftgraph", "--input", "x=neg.npy"], in: dir.url)
    #expect(bare.status == 1)
    #expect(bare.stderr == "error: @nonneg: guard failed at bare.swiftgraph:6:3: x must not be negative\n")
  }

  @Test func printedFormOfOtherDTypesAndLargeArrays() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "kinds.swiftgraph",
      """
      swiftgraph 1
      func @kinds(%a: f64[2,2,2], %b: bool[3], %c: i64[], %d: f32[40,40]) -> (f64[2,2,2], bool[3], i64[], f32[40,40]) {
        %x = neg %a
        %y = not %b
        %z = neg %c
        %w = neg %d
        return %x, %y, %z, %w
      }

      """)
    try Npy.write(NDArray([0.5, -1, 2, 3, 4, 5, 6, 7], shape: [2, 2, 2]), to: dir.path("a.npy"))
    try Npy.write(NDArray([true, false, true], shape: [3]), to: dir.path("b.npy"))
    try Npy.write(NDArray([Int64(42)], shape: []), to: dir.path("c.npy"))
    try Npy.write(NDArray((0..<1600).map { Float($0) }, shape: [40, 40]), to: dir.path("d.npy"))
    let r = try NNCTool.nnc(
      ["run", "kinds.swiftgraph", "--input", "a=a.npy", "--input", "b=b.npy", "--input", "c=c.npy", "--input", "d=d.npy"], in: dir.url)
    #expect(r.status == 0, "\(r.stderr)")
    let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(Array(lines.prefix(9)) == [
      "result 0: f64[2,2,2]",
      "[[[-0.5, 1.0],",
      "  [-2.0, -3.0]],",
      "",
      " [[-4.0, -5.0],",
      "  [-6.0, -7.0]]]",
      "result 1: bool[3]",
      "[false, true, false]",
      "result 2: i64[]",
    ])
    #expect(lines[9] == "-42")
    #expect(lines[10] == "result 3: f32[40,40]")
    #expect(lines[11] == "[[-0.0, -1.0, -2.0, ..., -37.0, -38.0, -39.0],")
    #expect(lines.count < 25)
  }
}
