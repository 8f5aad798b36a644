// The compiled entry follows the workspace plan: its one malloc asks for the plan's peak (read
// from the optimized LLVM IR), values share bytes where the plan says, and the results still
// match the interpreter exactly. Also `nnc compile --stats`.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// The byte counts the optimized IR passes to malloc, in order.
func mallocSizes(_ graph: Graph) throws -> [Int] {
  let ir = try compile(graph, options: CompileOptions(emitLLVMIR: true)).llvmIR ?? ""
  var out: [Int] = []
  for line in ir.split(separator: "\n") {
    guard let r = line.range(of: "@malloc(i64 ") else { continue }
    if let n = Int(line[r.upperBound...].prefix { $0.isNumber }) { out.append(n) }
  }
  return out
}

@Suite struct WorkspaceReuseTests {
  /// A chain of 60 ops on f32[64,64] (16 KiB each), then a cond whose regions read values from
  /// before it (one from the start of the chain), then more chain.
  static let chain: String = {
    var lines = ["swiftgraph 1", "func @chain(%x: f32[64,64], %p: f32[]) -> f32[64,64] {", "  %v0 = tanh %x"]
    for k in 1..<30 { lines.append("  %v\(k) = \(k % 2 == 0 ? "sin" : "mul") %v\(k - 1)\(k % 2 == 0 ? "" : ", %v\(k - 1)")") }
    lines += [
      "  %zero = const 0.0 : f32[]",
      "  %q = lt %p, %zero",
      "  %c = cond %q -> f32[64,64] {",
      "    %t1 = add %v29, %v0",
      "    %t2 = exp %t1",
      "    yield %t2",
      "  } else {",
      "    %e1 = sub %v29, %v1",
      "    %e2 = neg %e1",
      "    yield %e2",
      "  }",
      "  %w0 = add %c, %v0",
    ]
    for k in 1..<30 { lines.append("  %w\(k) = \(k % 2 == 0 ? "cos" : "add") %w\(k - 1)\(k % 2 == 0 ? "" : ", %x")") }
    lines += ["  return %w29", "}"]
    return lines.joined(separator: "\n") + "\n"
  }()

  @Test func longChainReusesAndMatchesTheInterpreter() throws {
    let g = try loadGraph(Self.chain)
    let f = g.functions[0]
    let plan = WorkspacePlan(f)
    let buffer = 64 * 64 * 4
    #expect(plan.isStatic)
    #expect(plan.unplannedBytes() >= 60 * buffer)
    // Most at once, inside a region: v0 (read by w0), v1 and v29 (read in the regions, so
    // live to the cond's end), the cond's result, and a region's two values; the scalars fit
    // in gaps.
    #expect(plan.plannedBytes() == 6 * buffer, "\(plan.plannedBytes()) bytes")
    #expect(try mallocSizes(g) == [plan.plannedBytes()])
    let entry = try #require(compileAndLoad(g)["chain"])
    for (k, p) in [Float(-1), 1, 0].enumerated() {
      var inputs = randomInputs(f, seed: UInt64(k + 1))
      inputs[1] = NDArray([p], shape: [])
      #expect(disagreement(entry, inputs) == nil)
    }
  }

  /// A cond result nothing reads is written by the yield copies: it must not share with a
  /// value its region computed (the bool's one byte overwrote the float's first byte).
  @Test func unusedCondResultDoesNotClobber() throws {
    let g = try loadGraph(unusedCondResultGraph)
    let entry = try #require(compileAndLoad(g)["c"])
    for (k, p) in [true, false].enumerated() {
      var inputs = randomInputs(g.functions[0], seed: UInt64(k + 11))
      inputs[1] = NDArray([p], shape: [])
      #expect(disagreement(entry, inputs) == nil, "p=\(p)")
    }
  }

  /// The same chain with a symbolic batch: slots sized at run time; exact for several sizes.
  @Test func symbolicChainMatchesTheInterpreter() throws {
    let g = try loadGraph(Self.chain.replacingOccurrences(of: "f32[64,64]", with: "f32[N,64]"))
    let f = g.functions[0]
    let plan = WorkspacePlan(f)
    #expect(!plan.isStatic)
    #expect(plan.slots.count <= 6, "\(plan.slots.count) slots")
    let entry = try #require(compileAndLoad(g)["chain"])
    for (k, (n, p)) in [(0, Float(1)), (1, -1), (5, 1), (33, -1)].enumerated() {
      var inputs = randomInputs(f, n: n, seed: UInt64(k + 7))
      inputs[1] = NDArray([p], shape: [])
      #expect(disagreement(entry, inputs) == nil, "N=\(n)")
    }
  }

  /// The unrolled RNN's workspace stays a few buffers whatever T is; the entry mallocs the
  /// plan's peak.
  @Test(arguments: [10, 160])
  func unrolledRNN(_ steps: Int) throws {
    let g = try loadGraph(UnrolledRNN(steps: steps).text)
    let plan = WorkspacePlan(g.functions[0])
    #expect(try mallocSizes(g) == [plan.plannedBytes()])
    #expect(plan.plannedBytes() < plan.unplannedBytes())
    if steps == 10 {
      let entry = try #require(compileAndLoad(g)["rnn"])
      #expect(disagreement(entry, randomInputs(g.functions[0], seed: 3)) == nil)
    }
  }

  @Test func compileStats() throws {
    let dir = ScratchDirectory()
    let sample = sampleModelURL("select_branch").path
    let r = try NNCTool.nnc(["compile", sample, "-o", dir.path("s.o"), "--stats"])
    #expect(r.status == 0, "\(r.stderr)")
    // const, lt and two matmuls of one type; %0 and %1 are live at once, the matmuls apart.
    #expect(r.stdout == "@select_branch: 4 kernel calls (3 distinct, 0 fused), workspace 128 bytes planned, 256 unplanned\n")
    #expect(dir.exists("s.o"))

    try dir.write("rnn.swiftgraph", UnrolledRNN(steps: 160).text)
    let rnn = try NNCTool.nnc(["compile", dir.path("rnn.swiftgraph"), "-o", dir.path("rnn.o"), "--stats"])
    // Each step's matmul + bias + tanh fuse (one epilogue kernel), and so on: as compiled.
    var rnnGraph = try loadGraph(UnrolledRNN(steps: 160).text)
    _ = try PassManager(passes: Passes.defaultPipeline).run(&rnnGraph)
    let plan = WorkspacePlan(rnnGraph.functions[0])
    let (calls, distinct, fused) = kernelCounts(rnnGraph.functions[0])
    #expect(calls < 1120 && fused > 0 && distinct < calls)
    #expect(
      rnn.stdout
        == "@rnn: \(calls) kernel calls (\(distinct) distinct, \(fused) fused), workspace \(plan.plannedBytes()) bytes planned, \(plan.unplannedBytes()) unplanned\n")

    let mlp = try NNCTool.nnc(["compile", NNCTool.mlp, "-o", dir.path("mlp.o"), "--stats"])
    #expect(mlp.status == 0, "\(mlp.stderr)")
    // matmul + bias + relu and matmul + bias: two epilogue kernels; the hidden layer is the one
    // value in the workspace.
    #expect(mlp.stdout == ("@mlp: 2 kernel calls (2 distinct, 2 fused), workspace symbolic (N): planned 0 bytes + 1 slots sized at run time for 1 values, unplanned 0 bytes + 1 regions sized at run time\n"), "\(mlp.stdout)")
  }
}
