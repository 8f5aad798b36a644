// Properties of the generated code: vectorized loops, deterministic objects, dependencies only
// on libc/libm, symbolic sizes at edge values, and no JIT anywhere.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

private let elementwise = """
  swiftgraph 1
  func @chain(%x: f32[N], %y: f32[N]) -> f32[N] {
    %0 = mul %x, %y
    %1 = add %0, %x
    return %1
  }
  func @total(%x: f32[N]) -> f32[] {
    %0 = reduce_sum %x axes=[0]
    return %0
  }
  """

/// A graph exercising symbolic sizes in every kind of kernel.
private let symbolic = """
  swiftgraph 1
  func @f(%x: f32[N,3], %w: f32[3,N], %v: f32[N]) -> (f32[N,N], f32[N], f32[3], i64[N], f32[N,3], f32[N,6]) {
    %0 = matmul %x, %w
    %1 = reduce_max %x axes=[1]
    %2 = reduce_sum %x axes=[0]
    %3 = argmax %x axis=1
    %4 = reshape %v shape=[N,1]
    %5 = add %x, %4
    %6 = exp %5
    %7 = concat %x, %6 axis=1
    %8 = add %1, %v
    return %0, %8, %2, %3, %6, %7
  }
  """

@Suite struct CodegenTests {
  @Test func loopsAreVectorized() throws {
    let g = try loadGraph(elementwise)
    let m = try compile(g, options: CompileOptions(emitAssembly: true))
    let asm = try #require(m.assembly)
    let wide = m.features.contains("+avx2") || m.features.contains("+avx512f")
    // The code of every function whose label starts with `prefix` (the entry and its kernels,
    // which are functions of their own named `nnc_NAME.kN.op`).
    func body(_ prefix: String) -> String {
      var out = ""
      var rest = asm[...]
      while let start = rest.range(of: "\n\(prefix)") {
        let afterLabel = rest[start.upperBound...]
        guard let colon = afterLabel.range(of: ":\n") else { break }
        let code = afterLabel[colon.upperBound...]
        let end = code.range(of: ".Lfunc_end")?.lowerBound ?? code.endIndex
        out += code[..<end]
        rest = code[end...]
      }
      return out
    }
    for fn in ["nnc_chain", "nnc_total"] {
      let code = body(fn)
      #expect(!code.isEmpty, "no code for \(fn)")
      if wide {
        #expect(code.contains("%ymm") || code.contains("%zmm"), "\(fn) is not vectorized with AVX:\n\(code.prefix(3000))")
      } else {
        #expect(code.contains("ps\t%xmm"), "\(fn) is not vectorized")
      }
    }
  }

  @Test func objectsAreDeterministic() throws {
    let g = try loadGraph(symbolic)
    let a = try compile(g).object
    let b = try compile(g).object
    #expect(a == b)
    #expect(a.starts(with: [0x7F, 0x45, 0x4C, 0x46]))
  }

  @Test func objectDependsOnlyOnLibcAndLibm() throws {
    let url = sampleModelURL("lenet")
    let g = try loadGraph([UInt8](Data(contentsOf: url)), file: url.path)
    let dir = temporaryDirectory()
    let obj = dir.appendingPathComponent("lenet.o")
    try Data(try compile(g).object).write(to: obj)
    let undefined = try runTool("nm", ["-u", obj.path]).split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
    let allowed: Set<String> = [
      "malloc", "free", "memcpy", "memset", "memmove", "expf", "exp", "logf", "log", "tanhf", "tanh", "erff", "erf",
      "sinf", "sin", "cosf", "cos", "powf", "pow",
    ]
    #expect(!undefined.isEmpty)
    #expect(Set(undefined).isSubset(of: allowed), "unexpected symbols: \(Set(undefined).subtracting(allowed))")
  }

  @Test(arguments: [0, 1, 2, 7, 17, 33, 100])
  func symbolicSizesMatchInterpreter(_ n: Int) throws {
    let g = try loadGraph(symbolic)
    let f = g.functions[0]
    let entry = try #require(try compileAndLoad(g)["f"])
    let inputs = randomInputs(f, n: n, seed: UInt64(n + 1))
    let want = try Interpreter.run(f, inputs)
    let got = try entry.run(inputs)
    for (k, (a, e)) in zip(got, want).enumerated() {
      #expect(exactMismatch(a, e) == nil, "n=\(n) result \(k): \(exactMismatch(a, e) ?? "")")
    }
  }

  @Test func wrongInputsAreErrorsNotCrashes() throws {
    let g = try loadGraph(elementwise)
    let entry = try #require(try compileAndLoad(g)["chain"])
    #expect(throws: RuntimeError.symbolConflict(function: "chain", symbol: "N", first: 3, second: 4, parameter: "y")) {
      try entry.run([NDArray.zeros(.f32, [3]), NDArray.zeros(.f32, [4])])
    }
    #expect(throws: RuntimeError.self) { try entry.run([NDArray.zeros(.f64, [3]), NDArray.zeros(.f32, [3])]) }
    #expect(throws: RuntimeError.self) { try entry.run([NDArray.zeros(.f32, [3])]) }
  }

  @Test func otherCPUsAreTargets() throws {
    let g = try loadGraph(elementwise)
    let generic = try compile(g, options: CompileOptions(target: TargetOptions(cpu: "x86-64", features: ""), emitAssembly: true))
    #expect(generic.cpu == "x86-64")
    #expect(!(generic.assembly ?? "").contains("%ymm"))
    #expect(throws: CodegenError.self) { try compile(g, options: CompileOptions(target: TargetOptions(cpu: "no-such-cpu"))) }
  }

  /// No JIT: the sources never mention LLVM's execution engines.
  @Test func noJITAnywhere() throws {
    let sources = packageRoot.appendingPathComponent("Sources")
    let e = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
    var checked = 0
    for case let url as URL in e where url.pathExtension == "swift" || url.pathExtension == "h" || url.pathExtension == "c" {
      let text = try String(contentsOf: url, encoding: .utf8)
      for banned in ["ExecutionEngine", "MCJIT", "LLJIT", "OrcJIT", "LLVMOrc", "LLVMCreateJIT", "LLVMLinkInInterpreter"] {
        #expect(!text.contains(banned), "\(url.lastPathComponent) mentions \(banned)")
      }
      checked += 1
    }
    #expect(checked > 20)
  }
}

/// Graphs with many operands and results compile through the paths that keep compile time
/// linear (operand arrays, one loop over a concat's operands) and agree with the interpreter.
@Suite struct WideGraphTests {
  @Test func concatOfManyOperands() throws {
    let n = 40
    var params: [String] = []
    var names: [String] = []
    for k in 0..<n {
      params.append("%a\(k): f32[N,\(k % 3 + 1)]")
      names.append("%a\(k)")
    }
    let width = (0..<n).reduce(0) { $0 + $1 % 3 + 1 }
    let bools = (0..<n).map { "%b\($0): bool[2]" }
    let text = """
      swiftgraph 1
      func @f(\(params.joined(separator: ", ")), \(bools.joined(separator: ", "))) -> (f32[N,\(width)], bool[\(2 * n)]) {
        %0 = concat \(names.joined(separator: ", ")) axis=1
        %1 = concat \((0..<n).map { "%b\($0)" }.joined(separator: ", ")) axis=0
        return %0, %1
      }
      """
    let g = try loadGraph(text)
    let entry = try #require(try compileAndLoad(g)["f"])
    for rows in [0, 1, 3] {
      let inputs = randomInputs(g.functions[0], n: rows, seed: UInt64(rows + 7))
      #expect(disagreement(entry, inputs) == nil, "\(disagreement(entry, inputs) ?? "")")
    }
    // Hand-checked corner: row 0 of the result starts with a0's first row, then a1's.
    let inputs = randomInputs(g.functions[0], n: 2, seed: 3)
    let out = try entry.run(inputs)[0]
    #expect(out.storage.double(0) == inputs[0].storage.double(0))
    #expect(out.storage.double(1) == inputs[1].storage.double(0))
    #expect(out.storage.double(width) == inputs[0].storage.double(1))
  }

  /// A function with many results and inputs (the typed entry stores them into arrays for the
  /// body); the typed C entry is exercised by the AOT sample test, the packed one here.
  @Test func manyInputsAndResults() throws {
    let n = 300
    let ps = (0..<n).map { "%x\($0): f32[2]" }.joined(separator: ", ")
    let body = (0..<n).map { "  %\($0) = neg %x\($0)" }.joined(separator: "\n")
    let text = "swiftgraph 1\nfunc @f(\(ps)) -> (\(Array(repeating: "f32[2]", count: n).joined(separator: ", "))) {\n\(body)\n  return \((0..<n).map { "%\($0)" }.joined(separator: ", "))\n}\n"
    let g = try loadGraph(text)
    let entry = try #require(try compileAndLoad(g)["f"])
    let inputs = (0..<n).map { NDArray([Float($0), -Float($0)], shape: [2]) }
    let out = try entry.run(inputs)
    #expect(out.count == n)
    #expect(out[299] == NDArray([-299, 299] as [Float], shape: [2]))
    #expect(disagreement(entry, inputs) == nil)
  }

  /// Past `maxCodegenArguments` the code generator refuses, located, instead of letting LLVM
  /// run out of memory (which aborts); the interpreter still runs such graphs.
  @Test func tooWideForTheCodeGenerator() throws {
    let n = maxCodegenArguments + 1
    let results = "swiftgraph 1\nfunc @f(%x: f32[2]) -> (\(Array(repeating: "f32[2]", count: n).joined(separator: ", "))) {\n"
      + (0..<n).map { "  %\($0) = neg %x\n" }.joined() + "  return \((0..<n).map { "%\($0)" }.joined(separator: ", "))\n}\n"
    let g = try loadGraph(results)
    #expect(throws: CodegenError("@f (<input>:2:1) has 1 inputs and \(n) results; the code generator takes at most \(maxCodegenArguments) in all (split the function, or pack tensors with concat)")) {
      try compile(g)
    }
    let m = 5000
    let concat = "swiftgraph 1\nfunc @g(%x: f32[1]) -> f32[\(m)] {\n  %0 = concat \(Array(repeating: "%x", count: m).joined(separator: ", ")) axis=0\n  return %0\n}\n"
    let h = try loadGraph(concat)
    #expect(throws: CodegenError("concat at <input>:3:8 has \(m) operands; the code generator takes at most \(maxCodegenArguments) (split it into a tree of smaller ones)")) {
      try compile(h)
    }
    let out = try Interpreter.run(h.functions[0], [NDArray([7] as [Float], shape: [1])])[0]
    #expect(out == NDArray([Float](repeating: 7, count: m), shape: [m]))
  }
}
