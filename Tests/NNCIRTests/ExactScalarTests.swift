// Integers never pass through Double in the IR: pad values and i64 constants parse, print and
// compare exactly; pad values keep the kind they were written with.

import NNCIR
import NNCPasses
import Testing

@Suite struct ExactScalarTests {
  private func dump(_ body: String, params: String = "%x: i64[1]", result: String = "i64[2]") throws -> String {
    let g = try loadGraph("swiftgraph 1\nfunc @f(\(params)) -> \(result) {\n" + body + "}\n")
    return g.text()
  }

  private func error(_ body: String, params: String = "%x: i64[1]", result: String = "i64[2]") -> String? {
    do {
      _ = try loadGraph("swiftgraph 1\nfunc @f(\(params)) -> \(result) {\n" + body + "}\n")
      return nil
    } catch {
      return "\(error.pos.line):\(error.pos.column): \(error.message)"
    }
  }

  /// 2^53 + 1 = 9007199254740993 has no Double: as a Double it would print 9007199254740992.
  @Test func integerPadValueIsPrintedExactly() throws {
    let text = try dump("  %0 = pad %x low=[1] high=[0] value=9007199254740993\n  return %0\n")
    #expect(text.contains("  %0 = pad %x low=[1] high=[0] value=9007199254740993 : i64[2]\n"))
    let min = try dump("  %0 = pad %x low=[1] high=[0] value=-9223372036854775808\n  return %0\n")
    #expect(min.contains("value=-9223372036854775808 : i64[2]"))
  }

  @Test func padValuesKeepTheirKind() throws {
    let f = "%x: f32[1]", r = "f32[2]"
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=3\n  return %0\n", params: f, result: r).contains("value=3 : f32[2]"))
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=3.0\n  return %0\n", params: f, result: r).contains("value=3.0 : f32[2]"))
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=-inf\n  return %0\n", params: f, result: r).contains("value=-inf : f32[2]"))
    let b = "%x: bool[1]", rb = "bool[2]"
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=true\n  return %0\n", params: b, result: rb).contains("value=true : bool[2]"))
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=1\n  return %0\n", params: b, result: rb).contains("value=1 : bool[2]"))
    // 0 and 0.0 are the default and are left out; -0.0 is not the default.
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=0\n  return %0\n").contains("%0 = pad %x low=[1] high=[0] : i64[2]"))
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=0.0\n  return %0\n", params: f, result: r).contains("%0 = pad %x low=[1] high=[0] : f32[2]"))
    #expect(try dump("  %0 = pad %x low=[1] high=[0] value=-0.0\n  return %0\n", params: f, result: r).contains("value=-0.0 : f32[2]"))
  }

  @Test func padValuesThatDoNotFit() {
    #expect(error("  %0 = pad %x low=[1] high=[0] value=true\n  return %0\n", params: "%x: f32[1]", result: "f32[2]")
      == "3:8: pad: value true does not fit f32")
    #expect(error("  %0 = pad %x low=[1] high=[0] value=false\n  return %0\n") == "3:8: pad: value false does not fit i64")
    #expect(error("  %0 = pad %x low=[1] high=[0] value=2\n  return %0\n", params: "%x: bool[1]", result: "bool[2]")
      == "3:8: pad: value 2 does not fit bool")
    #expect(error("  %0 = pad %x low=[1] high=[0] value=0.5\n  return %0\n") == "3:8: pad: value 0.5 does not fit i64")
    // Integers out of an integer dtype's range are allowed: they saturate when the graph runs.
    #expect(error("  %0 = pad %x low=[1] high=[0] value=3000000000\n  return %0\n", params: "%x: i32[1]", result: "i32[2]") == nil)
  }

  @Test func i64ConstantsParseAndPrintExactly() throws {
    let scalar = try dump("  %0 = const 9007199254740993 : i64[]\n  %1 = add %x, %0\n  %2 = pad %1 low=[1] high=[0]\n  return %2\n")
    #expect(scalar.contains("  %0 = const 9007199254740993 : i64[]\n"))
    let dense = try dump("  %0 = const [9007199254740993, -9223372036854775808] : i64[2]\n  return %0\n")
    #expect(dense.contains("  %0 = const [9007199254740993, -9223372036854775808] : i64[2]\n"))
    let splat = try dump("  %0 = const 9223372036854775807 : i64[2]\n  return %0\n")
    #expect(splat.contains("  %0 = const 9223372036854775807 : i64[2]\n"))
  }

  /// 2^60 + 2^36 + 1 rounds once to the f32 2^60 + 2^37 (bits 0x5D800001); through Double it
  /// would round twice, to 2^60.
  @Test func scalarConversionsRoundOnce() {
    let v = ScalarValue.int(1_152_921_573_326_323_713)
    #expect(v.float32.bitPattern == 0x5D80_0001)
    #expect(ScalarValue.int(9_007_199_254_740_993).int64 == 9_007_199_254_740_993)
    #expect(ScalarValue.int(3_000_000_000).int32 == Int32.max)
    #expect(ScalarValue.float(-1e300).int64 == Int64.min)
    #expect(ScalarValue.float(.nan).int64 == 0)
    #expect(ScalarValue.float(-2.7).int32 == -2)
    #expect(ScalarValue.bool(true).float64 == 1)
    #expect(ScalarValue.float(0.5).bool)
    #expect(ScalarValue.float(.nan) == .float(.nan))
    #expect(ScalarValue.float(0) != .float(-0.0))
    #expect(ScalarValue.int(1) != .float(1))
    #expect("\(ScalarValue.int(-5)) \(ScalarValue.float(2)) \(ScalarValue.bool(false))" == "-5 2.0 false")
  }
}
