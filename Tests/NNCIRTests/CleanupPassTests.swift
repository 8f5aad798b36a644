// The cleanup passes (fold, prune, simplify, cse, dce) beyond their golden files: every rewrite
// rule is covered and exact on IEEE special values, remarks come out in both formats, fused
// locations survive printing and parsing, and limits hold.

import Foundation
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct CleanupPassTests {
  static let rulesFile = packageRoot.appendingPathComponent("Tests/NNCIRTests/Golden/simplify_rules.swiftgraph")

  static func rulesGraph() throws -> Graph {
    try loadGraph(try String(contentsOf: rulesFile, encoding: .utf8), file: "simplify_rules.swiftgraph")
  }

  /// Runs `passes` over `f` alone and returns the result with its remarks.
  static func optimize(_ f: Function, _ passes: [Pass]) throws -> (Function, [Remark]) {
    var g = Graph(functions: [f])
    var remarks: [Remark] = []
    try PassManager(passes: passes, verifyEach: true, remarks: { remarks.append($0) }).run(&g)
    return (g.functions[0], remarks)
  }

  @Test func everyRuleHasAGoldenFunctionWhereItFires() throws {
    let g = try Self.rulesGraph()
    for rule in Passes.simplifyRules {
      let name = rule.name.replacingOccurrences(of: "-", with: "_")
      let f = try #require(g.function(named: name), "simplify_rules.swiftgraph has no @\(name) for rule \(rule.name)")
      let (_, remarks) = try Self.optimize(f, [Passes.simplify])
      #expect(remarks.contains { $0.message.hasPrefix(rule.name + ":") }, "rule \(rule.name) does not fire in @\(name)")
      #expect(!rule.justification.isEmpty)
    }
    let (_, none) = try Self.optimize(try #require(g.function(named: "not_exact")), [Passes.simplify])
    #expect(none.isEmpty, "\(none.map(\.description))")
  }

  /// Values that break inexact rules: signed zeros, infinities, NaN, and integer extremes.
  static func specialInputs(_ f: Function, variant: Int) -> [NDArray] {
    let floats: [Float] = [-0.0, 0.0, .infinity, -.infinity, .nan, 1, -1, 0x1p-149, .greatestFiniteMagnitude, 3.5]
    let ints: [Int32] = [.min, .max, 0, -1, 1, 7, -7]
    return f.parameterTypes.enumerated().map { k, t in
      let shape = t.staticShape ?? []
      let n = shape.reduce(1, *)
      switch t.dtype {
      case .f32: return NDArray((0..<n).map { floats[($0 * 3 + k + variant) % floats.count] }, shape: shape)
      case .i32: return NDArray((0..<n).map { ints[($0 + k + variant) % ints.count] }, shape: shape)
      case .bool: return NDArray((0..<n).map { ($0 + k + variant) % 3 == 0 }, shape: shape)
      default: return NDArray.zeros(t.dtype, shape)
      }
    }
  }

  @Test func rulesAreExactOnSpecialValues() throws {
    for f in try Self.rulesGraph().functions {
      let (g, _) = try Self.optimize(f, [Passes.simplify, Passes.dce])
      for variant in 0..<10 {
        let inputs = Self.specialInputs(f, variant: variant)
        let before = try Interpreter.run(f, inputs)
        let after = try Interpreter.run(g, inputs)
        for (k, (a, b)) in zip(after, before).enumerated() {
          // Bit for bit, NaNs included (their payload and sign are unspecified, docs/swiftgraph.md).
          #expect(exactMismatch(a, b) == nil, "@\(f.name) result \(k), inputs \(inputs): \(exactMismatch(a, b) ?? "")")
        }
      }
    }
  }

  @Test func foldLeavesSymbolicAndLargeResultsAsOps() throws {
    let g = try loadGraph(
      """
      swiftgraph 1
      func @f(%x: f32[N]) -> (f32[N], f32[64,64]) {
        %c = const 1.0 : f32[]
        %e = expand %c shape=[N]
        %r = add %x, %e
        %a = const [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]] : f32[1,17]
        %t = expand %a shape=[64,17]
        %b = const 2.0 : f32[17,64]
        %m = matmul %t, %b
        return %r, %m
      }
      """)
    let (f, remarks) = try Self.optimize(g.functions[0], [Passes.fold])
    #expect(remarks.isEmpty, "\(remarks.map(\.description))")
    #expect(f == g.functions[0])
  }

  @Test func foldedValuesEqualTheInterpreters() throws {
    // A chain of every elementwise op class on constants: folding must give what the
    // interpreter computes when it runs the unfolded function.
    let text = """
      swiftgraph 1
      func @f() -> (f32[3], i32[3], bool[3], f64[3]) {
        %a = const [0.5, -2.0, 3.25] : f32[3]
        %b = const [1e-3, 7.0, -0.0] : f32[3]
        %s = sigmoid %a
        %t = tanh %b
        %p = pow %s, %t
        %q = div %p, %b
        %i = const [7, -7, 2147483647] : i32[3]
        %j = const [2, 3, 2] : i32[3]
        %k = div %i, %j
        %l = mul %k, %j
        %c = lt %q, %a
        %d = cast %q to=f64
        %e = exp %d
        return %q, %l, %c, %e
      }
      """
    let f = try loadGraph(text).functions[0]
    let (g, _) = try Self.optimize(f, [Passes.fold, Passes.dce])
    #expect(g.body.instructions.allSatisfy { if case .constant = $0.op { true } else { false } })
    let before = try Interpreter.run(f, [])
    let after = try Interpreter.run(g, [])
    for (a, b) in zip(after, before) { #expect(exactMismatch(a, b) == nil) }
  }

  @Test func fusedLocationsRoundTripAndCombine() throws {
    let text = """
      swiftgraph 1
      func @f(%x: f32[2]) -> f32[2] {
        %a = exp %x loc(fused["a.swift":3, "b.swift":7:2])
        %b = exp %x loc("c.swift":9)
        %c = add %a, %b
        return %c
      }
      """
    let g = try loadGraph(text)
    let printed = g.text()
    #expect(printed.contains(#"loc(fused["a.swift":3, "b.swift":7:2])"#))
    #expect(try loadGraph(printed) == g)
    let (f, remarks) = try Self.optimize(g.functions[0], [Passes.cse])
    let merged = f.body.instructions[0].loc
    #expect(merged?.origins.map(\.description) == ["a.swift:3", "b.swift:7:2", "c.swift:9"])
    #expect(remarks.count == 1)
    #expect(remarks.first?.description == "c.swift:9: remark: cse: merged 'exp' into the identical one at a.swift:3 (fused with b.swift:7:2)")
    #expect(Location.fusing(nil, nil) == nil)
    #expect(Location.fusing(Location(file: "a", line: 1), Location(file: "a", line: 1)) == Location(file: "a", line: 1))
  }

  @Test func pipelineSpecAcceptsDefaultAndNone() throws {
    #expect(try Passes.pipeline("none").isEmpty)
    #expect(try Passes.pipeline("").isEmpty)
    #expect(try Passes.pipeline("default").map(\.name) == ["fold", "prune", "simplify", "cse", "dce", "fuse"])
    #expect(Passes.defaultPipelineSpec == "fold,prune,simplify,cse,dce,fuse")
  }

  @Test func remarksOnTheCommandLine() throws {
    let text = try NNCBinary.run(["dump", "Samples/models/select_branch_const.swiftgraph", "--remarks"])
    #expect(text.status == 0)
    #expect(text.stderr.hasPrefix(
      "Samples/models/select_branch_const.swiftgraph:9:8: remark: fold: folded 'lt 10.0, 0.0' to false\n"))
    #expect(!text.stdout.contains("cond"))

    let json = try NNCBinary.run(["dump", "Samples/models/select_branch_const.swiftgraph", "--remarks=json", "--passes=fold,prune"])
    #expect(json.status == 0)
    let lines = json.stderr.split(separator: "\n")
    #expect(lines.count == 2)
    let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
    #expect(second?["pass"] as? String == "prune")
    #expect(second?["function"] as? String == "select_branch_const")
    #expect((second?["message"] as? String)?.hasPrefix("cond predicate is 'lt 10.0, 0.0' = false; kept else-branch") == true)
    let loc = (second?["locations"] as? [[String: Any]])?.first
    #expect(loc?["file"] as? String == "Samples/models/select_branch_const.swiftgraph")
    #expect(loc?["line"] as? Int == 10 && loc?["column"] as? Int == 8)

    let bad = try NNCBinary.run(["dump", "Samples/models/mlp.swiftgraph", "--remarks=yaml"])
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("--remarks"))

    // compile and run take the same flags.
    let dir = ScratchDirectory()
    let c = try NNCBinary.run(
      ["compile", "Samples/models/select_branch_const.swiftgraph", "--remarks", "-o", dir.url.appendingPathComponent("s.o").path])
    #expect(c.status == 0, "\(c.stderr)")
    #expect(c.stderr.contains("remark: prune: cond predicate is 'lt 10.0, 0.0' = false"))
  }

  @Test func provenFalseGuardFailsCompile() throws {
    let dir = ScratchDirectory()
    let file = dir.url.appendingPathComponent("g.swiftgraph")
    try """
      swiftgraph 1
      func @f(%x: f32[2]) -> f32[2] {
        %t = const false : bool[]
        guard %t message="never"
        return %x
      }
      """.write(to: file, atomically: true, encoding: .utf8)
    let r = try NNCBinary.run(["compile", file.path, "-o", dir.url.appendingPathComponent("g.o").path])
    #expect(r.status == 1)
    #expect(r.stderr.hasPrefix("\(file.path):4:3: error: guard 'never' always fails: its predicate is the constant false\n"))
    // Without passes the graph compiles (the guard then fails at run time).
    let none = try NNCBinary.run(["compile", file.path, "--passes=none", "-o", dir.url.appendingPathComponent("g.o").path])
    #expect(none.status == 0, "\(none.stderr)")
  }
}
