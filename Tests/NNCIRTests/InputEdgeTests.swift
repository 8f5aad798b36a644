// More located errors on hand-written input: literal wording, misspelled keywords, loc(...)
// lines, attributes on const, zero-size kernels, pad values that do not fit the dtype.

import NNCIR
import NNCPasses
import Testing

@Suite struct InputEdgeTests {
  private func error(_ body: String) -> String? {
    do {
      _ = try loadGraph("swiftgraph 1\nfunc @f(%x: f32[1,1,4,4], %i: i32[3]) -> f32[1,1,4,4] {\n" + body + "}\n", file: "e.swiftgraph")
      return nil
    } catch {
      return "\(error.pos.line):\(error.pos.column): \(error.message)"
    }
  }

  @Test func integerLiteralWording() {
    #expect(error("  %0 = const 1.5 : i32[]\n  return %x\n") == "3:14: '1.5' is not an i32 literal")
    #expect(error("  %0 = const 2 : bool[]\n  return %x\n") == "3:14: '2' is not a bool literal")
  }

  @Test func misspelledReturnGetsASuggestion() {
    #expect(error("  retrun %x\n") == "3:3: unknown op 'retrun' (did you mean 'return'?)")
  }

  @Test func locLinesStartAtOne() {
    #expect(error("  %0 = exp %x loc(\"a.swift\":0)\n  return %0\n") == "3:29: line numbers start at 1, got 0")
  }

  @Test func constTakesNoAttributes() {
    #expect(error("  %0 = const 1.0 foo=1 : f32[]\n  return %x\n") == "3:18: const: takes no attributes, found 'foo='")
  }

  @Test func zeroSizeKernel() {
    let text = """
      swiftgraph 1
      func @f(%x: f32[1,1,4,4], %w: f32[1,1,0,3]) -> f32[1,1,4,2] {
        %0 = conv2d %x, %w
        return %0
      }
      """
    #expect(throws: Diagnostic(SourcePos(file: "<input>", line: 3, column: 8), "conv2d: kernel dims of f32[1,1,0,3] must be at least 1")) {
      try loadGraph(text)
    }
  }

  @Test func padValueMustFitTheDtype() {
    #expect(error("  %0 = pad %i low=[1] high=[0] value=2.5\n  return %x\n") == "3:8: pad: value 2.5 does not fit i32")
    #expect(error("  %0 = pad %i low=[1] high=[0] value=7\n  return %x\n") == nil)
  }
}
