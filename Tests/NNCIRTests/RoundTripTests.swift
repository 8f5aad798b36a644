// Printing and parsing are inverse: random graphs print, parse back equal and print the same
// text; every sample model is stable under parse-print.

import Foundation
import NNCIR
import NNCTestSupport
import NNCPasses
import Testing

/// The `.swiftgraph` files under Samples/models, with their names, sorted.
enum SampleModels {
  static let directory = packageRoot.appendingPathComponent("Samples/models")

  static func all() throws -> [(name: String, bytes: [UInt8])] {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
      .filter { $0.hasSuffix(".swiftgraph") }.sorted()
    return try names.map { name in
      (name, Array(try Data(contentsOf: directory.appendingPathComponent(name))))
    }
  }
}

@Suite struct RoundTripTests {
  /// 300 seeds, or NNC_ROUNDTRIP_SEEDS.
  static let seeds = ProcessInfo.processInfo.environment["NNC_ROUNDTRIP_SEEDS"].flatMap { Int($0) } ?? 300

  @Test(arguments: 0..<RoundTripTests.seeds)
  func randomGraphRoundTrips(seed: Int) throws {
    var gen = RandomGraphGenerator(seed: UInt64(seed))
    let g = gen.graph()
    try g.verify()
    let text = g.text()
    let g2 = try loadGraph(text, file: "seed\(seed).swiftgraph")
    #expect(g2 == g.canonicalized(), "seed \(seed):\n\(text)")
    #expect(g2.text() == text, "seed \(seed)")
  }

  /// Graphs with every extra (constant cond predicates, guards that always hold, simplifiable
  /// patterns, constant subgraphs, hand-written fused ops) verify and round-trip too.
  @Test(arguments: 0..<4)
  func randomGraphWithExtrasRoundTrips(chunk: Int) throws {
    for seed in stride(from: chunk, to: 200, by: 4) {
      var gen = RandomGraphGenerator(seed: UInt64(seed))
      gen.extras = .all
      let g = gen.graph()
      try g.verify()
      let text = g.text()
      let g2 = try loadGraph(text, file: "extras\(seed).swiftgraph")
      #expect(g2 == g.canonicalized(), "seed \(seed):\n\(text)")
      #expect(g2.text() == text, "seed \(seed)")
    }
  }

  @Test func generatorIsDeterministic() {
    var a = RandomGraphGenerator(seed: 42)
    var b = RandomGraphGenerator(seed: 42)
    #expect(a.graph() == b.graph())
    #expect(a.function(name: "g") == b.function(name: "g"))
    var c = RandomGraphGenerator(seed: 43)
    #expect(c.graph().text() != RandomGraphGenerator(seed: 42).graphText())
  }

  /// The round trips above only mean something if the generator reaches every op and the
  /// tricky literals. Plain generation makes every op but `fused`, which only `Extras.fused`
  /// (part of `.all`) writes, so that plain graphs stay what they were for the same seeds.
  @Test func generatorCoversTheOpSet() {
    var mnemonics: Set<String> = []
    var text = ""
    var nestedCond = false
    var fusedInCond = false
    var fusedOfSeveral = 0
    func note(_ g: Graph) {
      text += g.text()
      for f in g.functions {
        f.forEachInstruction { inst in
          mnemonics.insert(inst.op.mnemonic)
          if inst.op == .cond, inst.regions.contains(where: { $0.instructions.contains { $0.op == .cond } }) {
            nestedCond = true
          }
          if inst.op == .cond, inst.regions.contains(where: { $0.instructions.contains { $0.op == .fused } }) {
            fusedInCond = true
          }
          if inst.op == .fused, inst.regions[0].instructions.count > 1, inst.results.count > 1 { fusedOfSeveral += 1 }
        }
      }
    }
    for seed in 0..<300 {
      var gen = RandomGraphGenerator(seed: UInt64(seed))
      note(gen.graph())
    }
    #expect(!mnemonics.contains("fused"), "plain generation changed: it makes fused ops")
    for seed in 0..<200 {
      var gen = RandomGraphGenerator(seed: UInt64(seed))
      gen.extras = .all
      note(gen.graph())
    }
    #expect(Set(Op.allMnemonics).subtracting(mnemonics).isEmpty, "never generated: \(Set(Op.allMnemonics).subtracting(mnemonics))")
    #expect(nestedCond)
    #expect(fusedInCond, "no fused op inside a cond region")
    #expect(fusedOfSeveral >= 10, "\(fusedOfSeveral) fused ops of several ops with several results")
    for needle in [" nan", "-nan", " inf", "-inf", "-0.0", "[N", "loc(", "message=", "-> ()", "2147483647", "-9223372036854775808"] {
      #expect(text.contains(needle), "never generated: \(needle)")
    }
  }

  @Test func samplesAreStableUnderParsePrint() throws {
    let samples = try SampleModels.all()
    #expect(!samples.isEmpty)
    for (name, bytes) in samples {
      let loaded = try loadGraph(bytes, file: name)
      let once = try parseGraph(bytes, file: name).text()
      let twice = try parseGraph(once, file: name).text()
      #expect(twice == once, "\(name)")
      // With every type filled in, the same holds, and the graph survives its printed form.
      let typed = loaded.text()
      #expect(try parseGraph(typed, file: name).text() == typed, "\(name)")
      #expect(try loadGraph(typed, file: name) == loaded, "\(name)")
      #expect(try loadGraph(once, file: name) == loaded, "\(name)")
    }
  }

  /// Float constants and pad values compare bit for bit: nan equals itself, -0.0 is not 0.0.
  @Test func floatsCompareByBits() throws {
    let text = """
      swiftgraph 1

      func @f(%x: f32[2]) -> (f32[2], f32[], f32[]) {
        %0 = pad %x low=[0] high=[0] value=nan : f32[2]
        %1 = const nan : f32[]
        %2 = const -0.0 : f32[]
        return %0, %1, %2
      }

      """
    let a = try loadGraph(text)
    let b = try loadGraph(a.text())
    #expect(a == b)
    #expect(Set([a, b]).count == 1)
    #expect(a.text() == text)
    let zero = try loadGraph(text.replacingOccurrences(of: "-0.0", with: "0.0"))
    #expect(zero != a)
    #expect(Op.pad(low: [0], high: [0], value: 0) != Op.pad(low: [0], high: [0], value: -0.0))
    #expect(ConstantData.floats([.nan]) == .floats([.nan]))
    #expect(ConstantData.floats([.nan]) != .floats([-.nan]))
  }

  /// The verifier rejects constants the parser could never produce, so that whatever verifies
  /// also prints and reads back.
  @Test func verifierRejectsUnprintableConstants() {
    var b = FunctionBuilder(name: "f")
    #expect(throws: ShapeError("const: 0.1 is not an f32 value (round it to Float)")) {
      try b.add(.constant(Constant(type: .scalar(.f32), data: .floats([0.1]))))
    }
    #expect(throws: ShapeError("const: 3000000000 does not fit i32")) {
      try b.add(.constant(Constant(type: TensorType(.i32, [2]), data: .ints([1, 3_000_000_000]))))
    }
    #expect(throws: ShapeError("expand: result f32[70000000,70000000] exceeds the size limit of 2^48")) {
      let x = b.parameter("x", .scalar(.f32))
      try b.add(.expand(shape: [70_000_000, 70_000_000]), x)
    }
    #expect(ConstantData.of(1e10, .i32) == .ints([Int64(Int32.max)]))
    #expect(ConstantData.of(-1e10, .i32) == .ints([Int64(Int32.min)]))
    #expect(throws: Never.self) { try b.add(.constant(Constant.scalar(0.1))) }
  }

  /// A region that throws leaves the builder usable: the failed cond is dropped, nothing else.
  @Test func builderSurvivesAFailedCond() throws {
    var b = FunctionBuilder(name: "f")
    let x = b.parameter("x", TensorType(.f32, [3]))
    let p = try b.add(.constant(Constant(type: .scalar(.bool), data: .bools([true]))))
    #expect(throws: ShapeError.self) {
      _ = try b.cond(
        p, resultTypes: [TensorType(.f32, [3])],
        then: { (inner: inout FunctionBuilder) throws(ShapeError) -> [Value] in [try inner.add(.matmul, x, x)] },
        else: { _ in [x] })
    }
    let y = try b.add(.unary(.neg), x)
    let f = b.finish(returning: [y])
    try f.verify()
    #expect(f.body.instructions.map(\.op.mnemonic) == ["const", "neg"])
  }

  /// f32 literals round once, from the text straight to Float.
  @Test func f32LiteralsRoundOnce() throws {
    // 1.00000005960464477550 lies just above the midpoint of 1 and 1 + 2^-23: as a Double it
    // rounds down to the midpoint, which then rounds to even (1.0); read as a Float it is 1 + 2^-23.
    let g = try loadGraph("swiftgraph 1\nfunc @f() -> f32[] {\n  %0 = const 1.00000005960464477550 : f32[]\n  return %0\n}\n")
    guard case .constant(let c) = g.functions[0].body.instructions[0].op else {
      Issue.record("not a constant")
      return
    }
    #expect(c.data == .floats([Double(Float(1).nextUp)]))
  }
}

extension RandomGraphGenerator {
  /// The text of the first graph of a fresh generator; a helper for comparisons.
  fileprivate func graphText() -> String {
    var copy = self
    return copy.graph().text()
  }
}
