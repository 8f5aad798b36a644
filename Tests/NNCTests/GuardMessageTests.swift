// Guard messages recorded by `item()` write the traced value as the .swiftgraph format does
// (`4.0`, `9007199254740993`), not in Swift's debug form (`floats([4.0])`).

import NNC
import NNCIR
import NNCRuntime
import Testing

@Suite struct GuardMessageTests {
  private func guardMessages(_ f: Function) -> [String] {
    f.body.instructions.compactMap { inst in
      if case .guardTrue(let m) = inst.op { return m }
      return nil
    }
  }

  @Test func floatValueIsWrittenAsInTheFormat() throws {
    let t = trace(Tensor([1.5, 2.5] as [Float])) { x in
      let n: Float = x.sum().item()
      return x * Double(n)
    }
    #expect(guardMessages(t.function) == ["value was 4.0 when traced"])
    // The failure names it the same way.
    do {
      _ = try Interpreter.run(t.function, [NDArray([1, 2] as [Float], shape: [2])])
      Issue.record("the guard did not fail")
    } catch {
      guard case .guardFailed(_, let message, _) = error else {
        Issue.record("unexpected error \(error)")
        return
      }
      #expect(message == "value was 4.0 when traced")
    }
  }

  @Test func f32ValueIsItsShortestForm() {
    let t = trace(Tensor([0.1] as [Float])) { x in
      let n: Float = x.item()
      return x * Double(n)
    }
    #expect(guardMessages(t.function) == ["value was 0.1 when traced"])
  }

  @Test func integerValueIsExact() {
    let t = trace(Tensor([9_007_199_254_740_993] as [Int64])) { x in
      _ = x.item(as: Int64.self)
      return x
    }
    #expect(guardMessages(t.function) == ["value was 9007199254740993 when traced"])
  }
}
