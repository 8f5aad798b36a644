// CompiledFunction keeps its workspace between calls: it grows for larger symbol sizes, and
// concurrent calls stay correct. (That warm calls do not page-fault is checked with the other
// page-fault tests in Tests/NNCCodegenTests/CallerWorkspaceTests.swift, one at a time.)

import Dispatch
import Foundation
import NNC
import NNCCache
import NNCIR
import NNCPasses
import NNCRuntime
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A cache of this test run's own, so tests neither read nor fill the user's cache.
private let workspaceTestCache: CompileCache = {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnc-workspace-tests-\(UUID().uuidString)")
  return try! CompileCache(directory: dir.path)
}()

@Suite struct CompiledWorkspaceTests {
  /// The workspace grows when a call at larger sizes needs more and is reused otherwise;
  /// threads calling one function at once get their own results.
  @Test func workspaceGrowsAndConcurrentCallsAreCorrect() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[N]) -> f32[N] {
        %0 = exp %x
        %1 = neg %0
        %2 = mul %1, %0
        return %2
      }
      """)
    let fn = g.functions[0]
    let f = try compile(fn, cache: workspaceTestCache)
    let plan = WorkspacePlan(f.function)
    @Sendable func input(_ n: Int, _ seed: Int) -> Tensor {
      Tensor(NDArray((0..<n).map { Float(($0 * 7 + seed) % 23) * 0.1 - 1 }, shape: [n]))
    }
    for (n, largest) in [(100, 100), (5000, 5000), (100, 5000)] {
      let x = input(n, n)
      #expect(try f(x)[0].array == Interpreter.run(f.function, [x.array])[0])
      #expect(f.workspaceBytes == plan.plannedBytes(symbols: ["N": largest]), "N=\(n)")
    }
    let failures = Mutex(0)
    DispatchQueue.concurrentPerform(iterations: 32) { k in
      let x = input(1000 + 37 * k, k)
      let ok = (try? f(x)[0].array) == (try? Interpreter.run(f.function, [x.array])[0])
      if !ok { failures.withLock { $0 += 1 } }
    }
    #expect(failures.withLock { $0 } == 0)
  }
}
