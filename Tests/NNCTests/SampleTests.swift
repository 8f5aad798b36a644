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
  }
}
