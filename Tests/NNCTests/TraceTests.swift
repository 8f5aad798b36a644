// Tracing: Swift control flow picks the graph; data-dependent branches record guards; every op
// traced, printed, parsed back and run by the interpreter gives the eager result.

import Foundation
import NNC
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

/// One traced program: inputs and a body over them.
struct TraceCase: CustomStringConvertible, @unchecked Sendable {
  var name: String
  var inputs: [Tensor]
  var body: ([Tensor]) -> [Tensor]
  var description: String { name }
}

private func f32(_ shape: [Int], seed: UInt64) -> Tensor {
  Tensor.randn(shape, generator: RandomGenerator(seed: seed))
}

private func positive(_ shape: [Int], seed: UInt64) -> Tensor {
  Tensor.rand(shape, generator: RandomGenerator(seed: seed)) + 0.5
}

/// Every Tensor operation at least once.
let traceCases: [TraceCase] = [
  TraceCase(name: "arithmetic", inputs: [f32([2, 3], seed: 1), f32([3], seed: 2)]) { x in
    [x[0] + x[1], x[0] - x[1], x[0] * x[1], x[0] / (x[1].abs() + 1), -x[0], x[0] * 2.5, 3 - x[0], x[0].add(x[1]).mul(x[1])]
  },
  TraceCase(name: "integer arithmetic", inputs: [Tensor([7, -7, 9, 0] as [Int]), Tensor([2, 2, -4, 3] as [Int])]) { x in
    [x[0] / x[1], x[0] * x[1] - x[1], x[0] / 0, x[0].maximum(x[1]), x[0] * 0.5]
  },
  TraceCase(name: "division modes and integer pow", inputs: [Tensor([7, -7, 9, -9, 0, 5] as [Int]), Tensor([2, 2, -4, 4, 3, 0] as [Int]), f32([6], seed: 30)]) { x in
    [
      x[0].div(x[1], roundingMode: .trunc), x[0].div(x[1], roundingMode: .floor), x[0].floorDivide(-2), x[0] / 255,
      x[0].pow(2), x[0].pow(x[1].abs()), x[0].to(.i32).pow(x[1].to(.i32)), x[2].div(0.3, roundingMode: .floor),
      x[2].div(0.3, roundingMode: .trunc), x[0].to(.i32).sum(), x[0].lt(x[1]), x[2].rsub(1.0),
    ]
  },
  TraceCase(name: "comparisons", inputs: [f32([4], seed: 3), f32([4], seed: 4)]) { x in
    [x[0] .< x[1], x[0] .<= x[1], x[0] .> x[1], x[0] .>= x[1], x[0] .== x[0], x[0] .!= x[1], x[0] .> 0.0]
  },
  TraceCase(name: "math", inputs: [positive([2, 5], seed: 5)]) { x in
    let a = x[0]
    return [a.exp(), a.log(), a.sqrt(), a.rsqrt(), a.tanh(), a.sigmoid(), a.sin(), a.cos(), a.erf(), a.floor(), a.ceil(), a.pow(a), a.relu(), a.gelu(), a.neg().abs()]
  },
  TraceCase(name: "reductions", inputs: [f32([3, 4, 2], seed: 6)]) { x in
    let a = x[0]
    return [a.sum(), a.sum(axis: 1), a.sum(axes: [0, 2], keepDims: true), a.mean(axis: -1), a.max(axis: 0), a.min(), a.argmax(axis: 1), a.argmin(), a.mean()]
  },
  TraceCase(name: "softmax", inputs: [f32([4, 10], seed: 7)]) { x in [x[0].softmax(axis: 1), x[0].logSoftmax(axis: -1)] },
  TraceCase(name: "matmul", inputs: [f32([2, 3, 4], seed: 8), f32([4, 5], seed: 9), f32([4], seed: 10)]) { x in
    [x[0].matmul(x[1]), x[0].matmul(x[2]), x[2].matmul(x[1]), x[0][0].mm(x[1])]
  },
  TraceCase(name: "where cat stack", inputs: [f32([2, 3], seed: 11), f32([2, 3], seed: 12)]) { x in
    [Tensor.where(x[0] .> x[1], x[0], x[1]), Tensor.cat([x[0], x[1]], axis: 1), Tensor.stack([x[0], x[1]], axis: 1), x[0].to(.i32), x[0].to(.f64)]
  },
  TraceCase(name: "views", inputs: [f32([2, 3, 4], seed: 13)]) { x in
    let a = x[0]
    return [
      a.view(6, 4), a.reshape(4, -1), a.permute(2, 0, 1), a.transpose(0, 2).contiguous(), a[1], a[0..<1, 1...],
      a[.all, .stride(0..<3, by: 2), 1], a.unsqueeze(1), a[0].unsqueeze(0).squeeze(), a[.all, 0..<1].expand(2, 5, 4), a.flattened(),
      a[1].t(), a.padded(low: [0, 1, 0], high: [1, 0, 2], value: -1),
    ]
  },
  TraceCase(name: "in-place writes through views", inputs: [f32([4, 6], seed: 14)]) { x in
    let a = x[0]
    let b = a.view(6, 4)
    a[1] = 10
    a[2..., .stride(0..<6, by: 2)] += 1
    let t = a.transpose(0, 1)
    t[0] = 7
    b[5, 3] = -2
    let c = a.clone()
    c.fill(3)
    return [a * 1.0, b * 1.0, c * 1.0]
  },
  TraceCase(name: "conv and pooling", inputs: [f32([2, 2, 7, 7], seed: 15), f32([4, 2, 3, 3], seed: 16), f32([4], seed: 17)]) { x in
    let y = x[0].conv2d(x[1], bias: x[2], stride: [2, 1], padding: [1, 1])
    return [y, y.maxPool2d(kernel: [2, 2]), y.avgPool2d(kernel: [3, 3], stride: [1, 1], padding: [1, 1]), x[0].conv2d(x[1][0..<2, 0..<1], groups: 2, file: #fileID)]
  },
]

@Suite struct TraceTests {
  /// The trace's text, parsed and verified, run by the interpreter on the inputs, equals the
  /// eager outputs exactly (NaN matching NaN).
  @Test(arguments: traceCases)
  func traceRoundTripMatchesEager(_ c: TraceCase) throws {
    let t = trace(c.inputs, c.body)
    let g = try loadGraph(t.text, file: c.name)
    #expect(g.functions[0] == t.function)
    let out = try Interpreter.run(g.functions[0], c.inputs.map(\.array))
    #expect(out.count == t.outputs.count)
    for (k, (a, e)) in zip(out, t.outputs).enumerated() {
      let m = mismatch(a, e.array, rtol: 0, atol: 0)
      #expect(m == nil, "\(c.name) output \(k): \(m ?? "")")
    }
  }

  /// The seed: Swift `if` on a Swift value picks the branch; the graph holds only that branch.
  @Test func swiftIfPicksTheBranch() throws {
    let x = f32([3, 4], seed: 20)
    let w1 = f32([4, 5], seed: 21)
    let w2 = f32([4, 5], seed: 22)
    func program(_ z: Float) -> Trace {
      trace(x, w1, w2, names: ["x", "w1", "w2"]) { x, w1, w2 in
        var y: Tensor
        if z > 0 { y = x.mm(w1) } else { y = x.mm(w2) }
        return y
      }
    }
    let positive = program(10).function
    let negative = program(-1).function
    #expect(positive.body.instructions.count == 1)
    #expect(positive.body.instructions[0].op == .matmul)
    #expect(positive.body.instructions[0].operands == [positive.parameters[0].value, positive.parameters[1].value])
    #expect(negative.body.instructions[0].operands == [negative.parameters[0].value, negative.parameters[2].value])
    let text = Graph(functions: [positive]).text(PrintOptions(locations: false))
    #expect(text == """
      swiftgraph 1

      func @main(%x: f32[3,4], %w1: f32[4,5], %w2: f32[4,5]) -> f32[3,5] {
        %0 = matmul %x, %w1 : f32[3,5]
        return %0
      }

      """)
  }

  /// A branch on a tensor's value records a guard; the trace is valid only for data that takes
  /// the same branch, and the interpreter says so when it does not.
  @Test func dataDependentBranchRecordsGuard() throws {
    func program(_ x: Tensor) -> Tensor {
      if (x.sum() .> 0).item() { return x.exp() } else { return x.neg() }
    }
    let up = Tensor([1, 2, 3] as [Float])
    let t = trace(up, program)
    let guards = t.function.body.instructions.filter { if case .guardTrue = $0.op { return true } else { return false } }
    #expect(guards.count == 1)
    #expect(t.function.body.instructions.contains { $0.op == .unary(.exp) })
    #expect(!t.function.body.instructions.contains { $0.op == .unary(.neg) })
    let g = try loadGraph(t.text)
    #expect(try Interpreter.run(g.functions[0], [up.array]) == [up.exp().array])
    let down = Tensor([-1, -2, -3] as [Float])
    #expect(throws: RuntimeError.self) { try Interpreter.run(g.functions[0], [down.array]) }

    // The false branch guards on the negation.
    let t2 = trace(down, program)
    #expect(t2.function.body.instructions.contains { $0.op == .unary(.not) })
    #expect(try Interpreter.run(t2.function, [Tensor([-5, 1, 1] as [Float]).array]) == [Tensor([5, -1, -1] as [Float]).array])
  }

  /// Reading a number (not a branch) also guards: the trace holds that value.
  @Test func numericItemGuardsValue() throws {
    let t = trace(Tensor([2, 2] as [Float])) { x in
      let n: Float = x.sum().item()
      return x * Double(n)
    }
    #expect(try Interpreter.run(t.function, [Tensor([2, 2] as [Float]).array]) == [NDArray([8, 8] as [Float], shape: [2])])
    #expect(throws: RuntimeError.self) { try Interpreter.run(t.function, [Tensor([1, 2] as [Float]).array]) }
  }

  /// Instructions from named calls carry the caller's file and line.
  @Test func locationsPointAtTheCaller() throws {
    let line = #line + 2
    let t = trace(f32([2, 2], seed: 30)) { x in
      x.exp().sum(axis: 0)
    }
    let exp = t.function.body.instructions.first { $0.op == .unary(.exp) }
    #expect(exp?.loc == Location(file: "NNCTests/TraceTests.swift", line: line))
    #expect(t.text.contains("loc(\"NNCTests/TraceTests.swift\":\(line))"))
  }

  /// View steps (transpose, reshape, permute, slicing, unsqueeze, expand) carry the file and
  /// line of the call that made the view, not of the later use that replays it.
  @Test func viewStepsCarryTheirCallersLocation() throws {
    let base = #line + 2
    let t = trace(f32([2, 3], seed: 31), f32([3, 2], seed: 32)) { x, w in
      let a = x.t()
      let b = w.reshape(2, 3)
      let c = a.permute(1, 0)
      let d = x[0..<1]
      let e = x.unsqueeze(0)
      let f = w.expand(2, 3, 2)
      return c.matmul(a).add(b.matmul(a)).add(d.sum()).add(e.sum()).add(f.sum())
    }
    var lines: [String: Set<Int>] = [:]
    for i in t.function.body.instructions where i.op.kind == .movement {
      #expect(i.loc?.file == "NNCTests/TraceTests.swift", "\(i.op.mnemonic) has no location in\n\(t.text)")
      var key = i.op.mnemonic
      if case .reshape(let s) = i.op { key += "\(s)" }
      lines[key, default: []].insert(i.loc?.line ?? 0)
    }
    #expect(lines["permute"] == [base, base + 2], "\(lines)")
    #expect(lines["reshape[2, 3]"] == [base + 1], "\(lines)")
    #expect(lines["slice"] == [base + 3], "\(lines)")
    #expect(lines["reshape[1, 2, 3]"] == [base + 4], "\(lines)")
    #expect(lines["expand"] == [base + 5], "\(lines)")
  }

  /// Tensors the body did not receive (captured weights) become constants; inputs are parameters.
  @Test func capturedTensorsBecomeConstants() throws {
    let w = Tensor([[1, 2], [3, 4]] as [[Float]])
    let t = trace(Tensor([1, 1] as [Float]), names: ["v"]) { v in v.matmul(w) }
    #expect(t.function.parameters.map(\.name) == ["v"])
    #expect(t.text.contains("const [[1.0, 2.0], [3.0, 4.0]] : f32[2,2]"))
    #expect(try Interpreter.run(t.function, [NDArray([1, 0] as [Float], shape: [2])]) == [NDArray([1, 2] as [Float], shape: [2])])
  }

  /// In-place writes inside a trace do not touch the caller's tensor (inputs are captured by
  /// value) and the graph stays pure SSA (it verifies and has no effects but guards).
  @Test func inPlaceIsFunctional() throws {
    let x = Tensor.zeros([3])
    let t = trace(x) { a in
      a[0] = 1
      return a * 1.0
    }
    #expect(x.scalars(as: Float.self) == [0, 0, 0])
    try t.function.verify()
    #expect(try Interpreter.run(t.function, [Tensor([5, 6, 7] as [Float]).array]) == [NDArray([1, 6, 7] as [Float], shape: [3])])
  }

  /// The MLP written with the Tensor API, traced, equals the hand-written sample run by the
  /// interpreter on the same weights.
  @Test func mlpTraceMatchesSample() throws {
    let sample = try loadSample("mlp")
    let (t, inputs) = mlp(batch: 4, seed: 40)
    let traced = try Interpreter.run(t.function, inputs.map(\.array))
    let expected = try Interpreter.run(sample, inputs.map(\.array))
    #expect(mismatch(traced[0], expected[0], rtol: 1e-5, atol: 1e-5) == nil)
    #expect(mismatch(t.outputs[0].array, expected[0], rtol: 1e-5, atol: 1e-5) == nil)
  }

  /// LeNet-5 written with the Tensor API, traced, equals the hand-written sample.
  @Test func lenetTraceMatchesSample() throws {
    let sample = try loadSample("lenet")
    let (t, inputs) = lenet(seed: 41)
    let traced = try Interpreter.run(t.function, inputs.map(\.array))
    let expected = try Interpreter.run(sample, inputs.map(\.array))
    #expect(traced[0].shape == [2, 10])
    #expect(mismatch(traced[0], expected[0], rtol: 1e-5, atol: 1e-5) == nil)
  }
}

/// A function from Samples/models, loaded and verified.
func loadSample(_ name: String) throws -> Function {
  let url = sampleModelURL(name)
  let bytes = try [UInt8](Data(contentsOf: url))
  return try loadGraph(bytes, file: url.path).functions[0]
}
