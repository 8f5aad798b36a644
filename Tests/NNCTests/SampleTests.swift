// The samples run: every Samples/models file through the interpreter, and the StaticVsDynamic
// program end to end.

import Foundation
import NNC
import NNCIR
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct SampleTests {
  /// Every sample model verifies and runs on random inputs (symbolic N bound to 2), giving
  /// finite outputs of the declared result types.
  @Test(arguments: ["select_branch", "mlp", "lenet"])
  func interpreterRunsSample(_ name: String) throws {
    let f = try loadSample(name)
    let g = RandomGenerator(seed: 7)
    let inputs = f.parameterTypes.map { t in
      Tensor.randn(t.shape.map { $0.value ?? 2 }, generator: g).array
    }
    let out = try Interpreter.run(f, inputs)
    #expect(out.count == f.resultTypes.count)
    for (o, t) in zip(out, f.resultTypes) {
      #expect(o.type == t.resolved(["N": 2]))
      #expect((0..<o.count).allSatisfy { o.storage.double($0).isFinite })
    }
  }

  @Test func staticVsDynamicRuns() throws {
    let exe = try #require(
      builtExecutable("StaticVsDynamic"),
      "StaticVsDynamic not built at \(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)")
    let r = try runExecutable(exe, [], in: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
    let out = r.stdout
    #expect(r.status == 0)
    #expect(out.contains("static cond (z < 0 picks w1):  x·w2"))
    #expect(out.contains("eager Swift if (z > 0 picks w1): x·w1"))
    #expect(out.contains("%0 = matmul %x, %w1 : f32[3,5]"))
    #expect(out.contains("%0 = matmul %x, %w2 : f32[3,5]"))
    // The constant-z version: the pruning remark, and a graph with one matmul and no cond.
    #expect(out.contains("select_branch_const.swiftgraph:10:8: remark: prune: cond predicate is 'lt 10.0, 0.0' = false; kept else-branch (1 matmul), removed then-branch (1 matmul)"))
    let constPart = try #require(out.components(separatedBy: "after the default passes ==").last)
    #expect(constPart.components(separatedBy: "matmul").count == 4)  // 3 occurrences: 2 in the remark, 1 in the graph
    #expect(!constPart.contains("= cond"))
  }

  /// The README's library section is Samples/Tour/main.swift verbatim, and the output it shows is
  /// what the built program prints (run from the package root, with a private compile cache).
  @Test func readmeTourIsTheSampleAndPrintsWhatTheReadmeSays() throws {
    let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let tour = try String(contentsOf: packageRoot.appendingPathComponent("Samples/Tour/main.swift"), encoding: .utf8)
    #expect(readme.contains("```swift\n" + tour + "```\n"), "README's program differs from Samples/Tour/main.swift")
    let shown = try #require(readme.components(separatedBy: "It prints:\n\n```\n").dropFirst().first?.components(separatedBy: "```\n").first)
    let exe = try #require(builtExecutable("Tour"), "Tour not built")
    let cache = FileManager.default.temporaryDirectory.appendingPathComponent("nnc-tour-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: cache) }
    let r = try runExecutable(exe, [], in: packageRoot, environment: ["NNC_CACHE_DIR": cache.path])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == shown)
  }
}
