// Kernel sharing: instructions with the same op, attributes, operand and result types (and
// size symbols) call one kernel function. Counted in the emitted LLVM IR, and checked against
// the interpreter bit for bit, on the unrolled RNN and on cases where sharing would be wrong.
// No timing here: compile times are nnc-bench's (section 7).

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// The kernel functions defined in `ir` (`define ... @nnc_NAME.kN.OP.TYPE(`), by op mnemonic.
private func kernelDefinitions(_ ir: String) -> [String: Int] {
  var out: [String: Int] = [:]
  for line in ir.split(separator: "\n") where line.hasPrefix("define ") {
    guard let at = line.range(of: "@"), let paren = line[at.upperBound...].range(of: "(") else { continue }
    let name = line[at.upperBound..<paren.lowerBound]
    let parts = name.split(separator: ".")
    guard parts.count >= 3, parts[1].hasPrefix("k") else { continue }
    out[String(parts[2]), default: 0] += 1
  }
  return out
}

@Suite struct KernelSharingTests {
  @Test(arguments: [false, true]) func unrolledRNNMatchesTheInterpreterExactly(symbolicBatch: Bool) throws {
    let rnn = UnrolledRNN(steps: 20, symbolicBatch: symbolicBatch)
    let g = try loadGraph(rnn.text)
    let f = try #require(g.function(named: UnrolledRNN.functionName))
    var count = 0
    f.forEachInstruction { _ in count += 1 }
    #expect(count == rnn.instructionCount)
    let entry = try #require(try compileAndLoad(g)[UnrolledRNN.functionName])
    for (seed, n) in [(UInt64(1), 4), (2, 1), (3, 0), (4, 7)] {
      let inputs = randomInputs(f, n: n, seed: seed)
      #expect(disagreement(entry, inputs) == nil, "batch \(n) (static shapes ignore it)")
    }
  }

  @Test func identicalInstructionsShareOneKernel() throws {
    let steps = 8
    let m = try compile(loadGraph(UnrolledRNN(steps: steps).text), options: CompileOptions(emitLLVMIR: true))
    let ir = try #require(m.llvmIR)
    // Per step: slice (its start differs: one kernel per step), reshape, two matmuls (x @ w_ih
    // and h @ w_hh have different types), two adds (plain and broadcast), tanh.
    #expect(kernelDefinitions(ir) == ["slice": steps, "reshape": 1, "matmul": 2, "add": 2, "tanh": 1])
    // Every kernel is called once per step from the entry's body.
    let matmulCalls = ir.split(separator: "\n").filter { $0.contains(" call ") && $0.contains(".matmul.") }
    #expect(matmulCalls.count == 2 * steps)
  }

  @Test func kernelsAreSharedAcrossFunctionsWithTheSameSymbols() throws {
    let text = """
      swiftgraph 1
      func @f(%x: f32[N,4], %y: f32[N,4]) -> f32[N,4] {
        %0 = mul %x, %y
        %1 = mul %0, %y
        return %1
      }
      func @g(%a: f32[N,4], %b: f32[N,4]) -> f32[N,4] {
        %0 = mul %a, %b
        %1 = sub %0, %a
        return %1
      }
      func @h(%a: f32[M,4], %b: f32[M,4]) -> f32[M,4] {
        %0 = mul %a, %b
        return %0
      }
      """
    let g = try loadGraph(text)
    let ir = try #require(try compile(g, options: CompileOptions(emitLLVMIR: true)).llvmIR)
    // @f and @g share one mul over f32[N,4] into the workspace; @h's symbol is another (kernels
    // take the function's symbols as arguments), so it has its own; @f's second mul writes
    // the caller's result, which a kernel of its own may stream (`KernelKey.streamedResults`).
    #expect(kernelDefinitions(ir) == ["mul": 3, "sub": 1])
    var plain = CompileOptions(emitLLVMIR: true)
    plain.target.streamingThresholdBytes = .max
    #expect(kernelDefinitions(try #require(try compile(g, options: plain).llvmIR)) == ["mul": 2, "sub": 1])
    let entries = try compileAndLoad(g)
    for name in ["f", "g", "h"] {
      let entry = try #require(entries[name])
      for n in [0, 1, 5] {
        #expect(disagreement(entry, randomInputs(entry.function, n: n, seed: 3)) == nil, "@\(name) at size \(n)")
      }
    }
  }

  @Test func attributesThatDifferOnlyInBitsKeepTheirOwnKernels() throws {
    // -0.0 == 0.0 as Doubles, but the kernels must not be shared: the results differ in sign.
    let text = """
      swiftgraph 1
      func @f(%x: f32[4]) -> (f32[4], f32[4], f32[4], f32[4]) {
        %0 = const -0.0 : f32[4]
        %1 = const 0.0 : f32[4]
        %2 = pad %x low=[1] high=[0] value=-0.0 : f32[5]
        %3 = pad %x low=[1] high=[0] value=0.0 : f32[5]
        %4 = slice %2 start=[0] end=[4] : f32[4]
        %5 = slice %3 start=[0] end=[4] : f32[4]
        return %0, %1, %4, %5
      }
      """
    let g = try loadGraph(text)
    let ir = try #require(try compile(g, options: CompileOptions(emitLLVMIR: true)).llvmIR)
    #expect(kernelDefinitions(ir) == ["const": 2, "pad": 2, "slice": 1])
    let entry = try #require(try compileAndLoad(g)["f"])
    let inputs = [NDArray([Float(1), 2, 3, 4], shape: [4])]
    #expect(disagreement(entry, inputs) == nil)
    let got = try entry.run(inputs)
    guard case .f32(let negative) = got[0].storage, case .f32(let positive) = got[1].storage,
      case .f32(let padNegative) = got[2].storage, case .f32(let padPositive) = got[3].storage
    else {
      Issue.record("expected f32 results")
      return
    }
    #expect(negative.allSatisfy { $0 == 0 && $0.sign == .minus })
    #expect(positive.allSatisfy { $0 == 0 && $0.sign == .plus })
    #expect(padNegative[0].sign == .minus && padPositive[0].sign == .plus)
  }
}
