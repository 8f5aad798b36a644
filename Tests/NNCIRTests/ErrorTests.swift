// One test per class of user error: each bad input must give its exact message at its exact
// line and column, through the same path every tool takes (parse, infer shapes, verify).

import NNCIR
import NNCPasses
import Testing

/// The diagnostic `loadGraph` gives for `bytes`, or nil when they load.
private func diagnose(_ bytes: [UInt8]) -> Diagnostic? {
  do {
    _ = try loadGraph(bytes, file: "t.swiftgraph")
    return nil
  } catch {
    return error
  }
}

/// Expects `text` to fail to load with `message` at `line`:`column`.
private func expectError(
  _ text: String, _ line: Int, _ column: Int, _ message: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  expectError(bytes: Array(text.utf8), line, column, message, sourceLocation: sourceLocation)
}

private func expectError(
  bytes: [UInt8], _ line: Int, _ column: Int, _ message: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard let d = diagnose(bytes) else {
    Issue.record("expected '\(message)', but the input loaded", sourceLocation: sourceLocation)
    return
  }
  #expect(d.message == message, sourceLocation: sourceLocation)
  #expect(d.pos == SourcePos(file: "t.swiftgraph", line: line, column: column), sourceLocation: sourceLocation)
}

/// A file with one function `@f` of parameters `params` and result `result`, whose body is
/// `body` (each line indented by two spaces; the body starts on line 3).
private func fn(_ params: String, _ result: String, _ body: [String]) -> String {
  "swiftgraph 1\nfunc @f(\(params)) -> \(result) {\n" + body.map { "  " + $0 + "\n" }.joined() + "}\n"
}

@Suite struct ErrorTests {
  @Test func unknownOp() {
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = expp %x", "return %0"]), 3, 8,
      "unknown op 'expp' (did you mean 'exp'?)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = reduce_mean %x axes=[0]", "return %0"]), 3, 8,
      "unknown op 'reduce_mean' (write a mean as reduce_sum, then div by a const holding the number of elements summed)")
    // Layers that are not ops say how they are written; other frameworks' names give nnc's.
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = relu %x", "return %0"]), 3, 8,
      "unknown op 'relu' (write ReLU as 'max %x, %zero' with '%zero = const 0.0 : f32[]')")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = ReLU %x", "return %0"]), 3, 8,
      "unknown op 'ReLU' (write ReLU as 'max %x, %zero' with '%zero = const 0.0 : f32[]')")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = softmax %x", "return %0"]), 3, 8,
      "unknown op 'softmax' (write softmax with reduce_max, sub, exp, reduce_sum (keepdims=true) and div)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = gelu %x", "return %0"]), 3, 8,
      "unknown op 'gelu' (write GELU as x * 0.5 * (1 + erf(x * 0.70710678)) with mul, erf and add)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = linear %x", "return %0"]), 3, 8,
      "unknown op 'linear' (write a linear layer as 'matmul %x, %w' then 'add' of the bias)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = transpose %x", "return %0"]), 3, 8,
      "unknown op 'transpose' (did you mean 'permute'?)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = view %x", "return %0"]), 3, 8,
      "unknown op 'view' (did you mean 'reshape'?)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = mm %x", "return %0"]), 3, 8,
      "unknown op 'mm' (did you mean 'matmul'?)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = dot %x", "return %0"]), 3, 8,
      "unknown op 'dot' (did you mean 'matmul'?)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = maxpool %x", "return %0"]), 3, 8,
      "unknown op 'maxpool' (did you mean 'maxpool2d'?)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = mean %x", "return %0"]), 3, 8,
      "unknown op 'mean' (write a mean as reduce_sum, then div by a const holding the number of elements summed)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = frobnicate %x", "return %0"]), 3, 8,
      "unknown op 'frobnicate'")
  }

  @Test func wrongArity() {
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = add %x", "return %0"]), 3, 8,
      "add: expects 2 operands, got 1")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg %x, %x", "return %0"]), 3, 8,
      "neg: expects 1 operand, got 2")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = concat axis=0", "return %0"]), 3, 8,
      "concat: expects at least 1 operand, got 0")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0, %1 = neg %x", "return %0"]), 3, 3,
      "neg: has 1 result, 2 named")
  }

  @Test func typeMismatch() {
    expectError(fn("%x: f32[3], %y: i32[3]", "f32[3]", ["%0 = add %x, %y", "return %0"]), 3, 8,
      "add: operand dtypes differ: f32[3], i32[3]")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = exp %x : f32[4]", "return %0"]), 3, 8,
      "exp: result type f32[4] does not match the inferred f32[3]")
    expectError(fn("%x: i32[3]", "i32[3]", ["%0 = exp %x", "return %0"]), 3, 8,
      "exp: does not accept i32[3]")
    expectError(fn("%x: f32[3], %y: f32[3]", "f32[3]", ["%0 = select %x, %x, %y", "return %0"]), 3, 8,
      "select: condition must be bool, got f32[3]")
  }

  @Test func undefinedValue() {
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = exp %y", "return %0"]), 3, 12,
      "use of undefined value %y")
    expectError(fn("%x: f32[3]", "f32[3]", ["return %1"]), 3, 10,
      "use of undefined value %1")
    // A value is not visible before its definition, even later in the same block.
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg %1", "%1 = neg %x", "return %0"]), 3, 12,
      "use of undefined value %1")
  }

  @Test func valueUsedOutsideItsRegion() {
    let inElse = fn("%x: f32[3], %c: bool[]", "f32[3]", [
      "%0 = cond %c -> f32[3] {", "  %1 = neg %x", "  yield %1", "} else {", "  yield %1", "}", "return %0",
    ])
    expectError(inElse, 7, 11, "%1 is defined inside a region at 4:5 and is not visible here")
    let after = fn("%x: f32[3], %c: bool[]", "f32[3]", [
      "%0 = cond %c -> f32[3] {", "  %1 = neg %x", "  yield %1", "} else {", "  yield %x", "}", "return %1",
    ])
    expectError(after, 9, 10, "%1 is defined inside a region at 4:5 and is not visible here")
  }

  @Test func redefinition() {
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg %x", "%0 = neg %x", "return %0"]), 4, 3,
      "redefinition of %0 (first defined at 3:3)")
    expectError(fn("%x: f32[3]", "f32[3]", ["%x = neg %x", "return %x"]), 3, 3,
      "redefinition of %x (first defined at 2:9)")
    expectError(fn("%x: f32[3], %x: f32[3]", "f32[3]", ["return %x"]), 2, 21,
      "redefinition of %x (first defined at 2:9)")
    let twice = "swiftgraph 1\nfunc @f() -> () {\n  return\n}\nfunc @g() -> () {\n  return\n}\nfunc @f() -> () {\n  return\n}\n"
    expectError(twice, 8, 1, "redefinition of function @f (first defined at 2:1)")
  }

  /// Two functions exporting one C symbol are a verifier error at the second function (it used
  /// to surface only at compile time, without a position).
  @Test func cSymbolClash() {
    let packed = "swiftgraph 1\nfunc @f() -> () {\n  return\n}\nfunc @f_packed() -> () {\n  return\n}\n"
    expectError(packed, 5, 1, "functions @f and @f_packed both export the C symbol nnc_f_packed; rename one of them")
    let dotted = "swiftgraph 1\nfunc @a_b() -> () {\n  return\n}\nfunc @a.b() -> () {\n  return\n}\n"
    expectError(dotted, 5, 1, "functions @a_b and @a.b both export the C symbol nnc_a_b; rename one of them")
  }

  /// A diagnostic in a huge line shows a clipped window around the column (the whole 12 MB
  /// line used to be echoed), with the caret still under the offending byte.
  @Test func longLinesAreClippedAroundTheColumn() throws {
    let pad = String(repeating: " ", count: 12_000_000)
    let text = "swiftgraph 1\nfunc @f(%x: f32[3]) -> f32[3] {" + pad + "%0 = frob %x\n  return %x\n}\n"
    let d = try #require(diagnose(Array(text.utf8)))
    let column = "func @f(%x: f32[3]) -> f32[3] {".utf8.count + pad.utf8.count + 6
    #expect(d.pos == SourcePos(file: "t.swiftgraph", line: 2, column: column))
    let lines = d.rendered(source: Array(text.utf8)).split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 3)
    // 80 bytes before the column: 75 spaces and "%0 = ".
    #expect(lines[1] == "..." + String(repeating: " ", count: 75) + "%0 = frob %x")
    #expect(lines[2] == String(repeating: " ", count: 83) + "^")
    // Clipped on the right too, not inside a multi-byte character.
    // The error is at byte 7 (`frob`); 80 bytes after it end inside the 35th "é" (2 bytes
    // each, from byte 18), so 34 are shown.
    let right = "swiftgraph 1\nfunc @f(%x: f32[3]) -> f32[3] {\n  %0 = frob %x // " + String(repeating: "é", count: 1000) + "\n  return %x\n}\n"
    let r = try #require(diagnose(Array(right.utf8)))
    #expect(r.pos.column == 8)
    let shown = r.rendered(source: Array(right.utf8)).split(separator: "\n")[1]
    #expect(shown == "  %0 = frob %x // " + String(repeating: "é", count: 34) + "...")
  }

  /// Zero elements are zero elements whatever the order of the dims: both types load.
  @Test func emptyTypesWithHugeDimsInAnyOrder() throws {
    for t in ["f32[0,281474976710656,281474976710656]", "f32[281474976710656,281474976710656,0]", "f32[281474976710656,0,281474976710656]"] {
      #expect(diagnose(Array(fn("%x: \(t)", t, ["%0 = neg %x", "return %0"]).utf8)) == nil, "\(t)")
    }
    // A dim alone above 2^48 is still an error, with or without a 0.
    expectError(fn("%x: f32[0,300000000000000]", "f32[3]", ["return %x"]), 2, 19, "dim 300000000000000 is larger than 2^48")
  }

  @Test func badShape() {
    expectError(fn("%a: f32[3,4], %b: f32[5,6]", "f32[3,6]", ["%0 = matmul %a, %b", "return %0"]), 3, 8,
      "matmul: inner dims differ: f32[3,4] x f32[5,6]")
    expectError(fn("%a: f32[3,4], %b: f32[5,4]", "f32[3,4]", ["%0 = add %a, %b", "return %0"]), 3, 8,
      "add: cannot broadcast f32[3,4], f32[5,4]")
    expectError(fn("%a: f32[N,4], %b: f32[M,4]", "f32[N,4]", ["%0 = mul %a, %b", "return %0"]), 3, 8,
      "mul: cannot broadcast f32[N,4], f32[M,4]")
    expectError(fn("%a: f32[3,4]", "f32[5]", ["%0 = reshape %a shape=[5]", "return %0"]), 3, 8,
      "reshape: cannot reshape f32[3,4] to [5]: element counts differ (12 vs 5)")
    expectError(fn("%a: f32[N,4]", "f32[M,4]", ["%0 = reshape %a shape=[M,4]", "return %0"]), 3, 8,
      "reshape: cannot reshape f32[N,4] to [M,4]: element counts differ")
    expectError(
      fn("%x: f32[1,4,8,8], %w: f32[2,3,3,3]", "f32[1,2,6,6]", ["%0 = conv2d %x, %w", "return %0"]), 3, 8,
      "conv2d: input f32[1,4,8,8] has 4 channels, weight f32[2,3,3,3] with groups=1 needs 3")
    expectError(
      fn("%x: f32[1,4,8,8], %w: f32[3,2,3,3]", "f32[1,3,6,6]", ["%0 = conv2d %x, %w groups=2", "return %0"]), 3, 8,
      "conv2d: weight f32[3,2,3,3] has 3 output channels, not divisible by groups=2")
    expectError(
      fn("%x: f32[1,4,8,8], %w: f32[2,4,3,3]", "f32[1,2,6,6]", ["%0 = conv2d %x, %w groups=0", "return %0"]), 3, 8,
      "conv2d: groups must be at least 1")
    expectError(
      fn("%x: f32[1,4,2,2], %w: f32[2,4,3,3]", "f32[1,2,1,1]", ["%0 = conv2d %x, %w", "return %0"]), 3, 8,
      "conv2d: window 3 (dilation 1) is larger than padded input 2 in f32[1,4,2,2]")
  }

  @Test func badAttribute() {
    expectError(fn("%x: f32[3]", "f64[3]", ["%0 = cast %x", "return %0"]), 3, 8,
      "cast: missing attribute 'to'")
    expectError(fn("%x: f32[3]", "f64[3]", ["%0 = cast %x to=f64 mode=1", "return %0"]), 3, 23,
      "cast: unknown attribute 'mode'")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg %x axis=0", "return %0"]), 3, 15,
      "neg: unknown attribute 'axis'")
    expectError(fn("%x: f32[3]", "f64[3]", ["%0 = cast %x to=3", "return %0"]), 3, 16,
      "cast: attribute 'to' must be a dtype (f32, f64, i32, i64, bool)")
    expectError(fn("%x: f32[3]", "f32[]", ["%0 = reduce_sum %x axes=0", "return %0"]), 3, 22,
      "reduce_sum: attribute 'axes' must be a list of integers, like axes=[0]")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = concat %x axis=[0]", "return %0"]), 3, 18,
      "concat: attribute 'axis' must be an integer, like axis=0")
    expectError(fn("%x: f32[1,1,4,4]", "f32[1,1,2,2]", ["%0 = maxpool2d %x kernel=[2]", "return %0"]), 3, 21,
      "maxpool2d: attribute 'kernel' must be a list of 2 integers, like kernel=[1,1]")
    expectError(
      fn("%x: f32[1,1,4,4], %w: f32[1,1,1,1]", "f32[1,1,4,4]", ["%0 = conv2d %x, %w stride=[1,1,1]", "return %0"]),
      3, 22, "conv2d: attribute 'stride' must be a list of 2 integers, like stride=[1,1]")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = permute %x perm=[N]", "return %0"]), 3, 19,
      "permute: attribute 'perm' must be a list of integers, like perm=[0,1]")
    // A single integer where a list belongs: the example wraps it.
    expectError(
      fn("%x: f32[1,1,4,4], %w: f32[1,1,1,1]", "f32[1,1,6,6]", ["%0 = conv2d %x, %w padding=1", "return %0"]),
      3, 22, "conv2d: attribute 'padding' must be a list of 2 integers, like padding=[1,1]")
    expectError(
      fn("%x: f32[1,1,4,4]", "f32[1,1,2,2]", ["%0 = avgpool2d %x kernel=2", "return %0"]),
      3, 21, "avgpool2d: attribute 'kernel' must be a list of 2 integers, like kernel=[2,2]")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = reshape %x shape=3", "return %0"]), 3, 19,
      "reshape: attribute 'shape' must be a list, like shape=[3]")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = reshape %x shape=\"3\"", "return %0"]), 3, 19,
      "reshape: attribute 'shape' must be a list, like shape=[N,4]")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = pad %x low=[1] high=[0] value=\"a\"", "return %0"]), 3, 32,
      "pad: attribute 'value' must be a number, true or false")
    expectError(fn("%x: f32[3]", "f64[3]", ["%0 = cast %x to=f64 to=f32", "return %0"]), 3, 23,
      "cast: attribute 'to' given twice")
    // The shape rule checks the values once the attributes have the right kinds.
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = permute %x perm=[1]", "return %0"]), 3, 8,
      "permute: perm [1] is not a permutation of the 1 axes of f32[3]")
  }

  @Test func truncatedFile() {
    let whole = fn("%x: f32[3]", "f32[3]", ["%0 = add %x, %x", "return %0"])
    let cutMidInstruction = String(whole.prefix(while: { $0 != "," })) + ", "
    expectError(cutMidInstruction, 3, 16, "expected a value like %0, found end of file")
    let cutAfterInstruction = "swiftgraph 1\nfunc @f(%x: f32[3]) -> f32[3] {\n  %0 = neg %x\n"
    expectError(cutAfterInstruction, 4, 1, "expected 'return' to end the block, found end of file")
    let cutBeforeBrace = "swiftgraph 1\nfunc @f(%x: f32[3]) -> f32[3] {\n  return %x\n"
    expectError(cutBeforeBrace, 4, 1, "expected '}', found end of file")
    expectError("swiftgraph 1\nfunc @f(%x: f32[3", 2, 18, "expected ']', found end of file")
    expectError("swiftgraph 1\nfunc @f(%x: f32[3]) ->", 2, 23, "expected a type like f32[3,4], found end of file")
    expectError("", 1, 1, "expected the version line 'swiftgraph 1' at the start of the file")
    expectError("func @f() -> () {\n  return\n}\n", 1, 1,
      "expected the version line 'swiftgraph 1' at the start of the file")
    expectError("swiftgraph", 1, 11, "expected a version number, found end of file")
    expectError("swiftgraph 2\nfunc @f() -> () {\n  return\n}\n", 1, 12,
      "unsupported swiftgraph version 2 (this nnc reads version 1)")
    expectError("swiftgraph 1\n// nothing else\n", 3, 1, "expected 'func', found end of file")
  }

  @Test func nonUTF8Bytes() {
    var bytes = Array("swiftgraph 1\nfunc @f(%x: f32[3]) -> f32[3] {\n  // é ".utf8)
    bytes.append(0xFF)
    bytes += Array(" x\n  return %x\n}\n".utf8)
    // Columns count bytes: "  // " is 5, "é" is 2 more, then a space.
    expectError(bytes: bytes, 3, 9, "file is not valid UTF-8")
    // A sequence cut off at the end of the file.
    expectError(bytes: Array("swiftgraph 1\n".utf8) + [0xE2, 0x82], 2, 1, "file is not valid UTF-8")
    // Overlong encodings and UTF-16 surrogates are not UTF-8 either.
    expectError(bytes: Array("swiftgraph 1 ".utf8) + [0xC0, 0xAF], 1, 14, "file is not valid UTF-8")
    expectError(bytes: [0xED, 0xA0, 0x80], 1, 1, "file is not valid UTF-8")
  }

  @Test func hugeNumbers() {
    expectError(fn("%x: f32[3]", "i64[]", ["%0 = const 99999999999999999999 : i64[]", "return %0"]), 3, 14,
      "integer 99999999999999999999 does not fit in 64 bits")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = argmax %x axis=9223372036854775808", "return %x"]), 3, 23,
      "integer 9223372036854775808 does not fit in 64 bits")
    expectError(fn("%x: f32[300000000000000]", "f32[3]", ["return %x"]), 2, 17,
      "dim 300000000000000 is larger than 2^48")
    expectError(fn("%x: f32[300000000,300000000]", "f32[3]", ["return %x"]), 2, 13,
      "type f32[300000000,300000000] has more than 2^48 elements")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = reshape %x shape=[300000000000000,300000000000000]", "return %x"]),
      3, 8, "reshape: element count of [300000000000000,300000000000000] is larger than 2^48")
    expectError(fn("%x: f32[0]", "f32[0]", ["%0 = reshape %x shape=[0,300000000000000]", "return %x"]), 3, 8,
      "reshape: result f32[0,300000000000000] exceeds the size limit of 2^48")
    expectError(fn("%x: f32[1]", "f32[1]", ["%0 = expand %x shape=[4000000000,4000000000]", "return %x"]), 3, 8,
      "expand: result f32[4000000000,4000000000] exceeds the size limit of 2^48")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = pad %x low=[281474976710656] high=[0]", "return %x"]), 3, 8,
      "pad: padded axis 0 of f32[3] is larger than 2^48")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = pad %x low=[9223372036854775807] high=[1]", "return %x"]), 3, 8,
      "pad: padded axis 0 of f32[3] is larger than 2^48")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = const 1.0 : f32[300000000,300000000]", "return %x"]), 3, 20,
      "type f32[300000000,300000000] has more than 2^48 elements")
    expectError(
      fn("%x: f32[1,4,8,8], %w: f32[2,2,3,3]", "f32[1,2,6,6]", ["%0 = conv2d %x, %w groups=4611686018427387904", "return %0"]),
      3, 8, "conv2d: input f32[1,4,8,8] has 4 channels, weight f32[2,2,3,3] with groups=4611686018427387904 needs more")
    expectError(fn("%x: f32[3]", "f64[]", ["%0 = const 1e999 : f64[]", "return %0"]), 3, 14,
      "number 1e999 does not fit f64")
    expectError(fn("%x: f32[3]", "f32[]", ["%0 = const -3.5e38 : f32[]", "return %0"]), 3, 14,
      "-3.5e38 does not fit f32")
    expectError(fn("%x: f32[3]", "f32[2]", ["%0 = const [1.0, 1e39] : f32[2]", "return %0"]), 3, 20,
      "1e39 does not fit f32")
    expectError(fn("%x: f32[3]", "i32[]", ["%0 = const 2147483648 : i32[]", "return %0"]), 3, 14,
      "2147483648 does not fit i32")
    expectError(fn("%x: f32[3]", "i32[2]", ["%0 = const [0, -2147483649] : i32[2]", "return %0"]), 3, 18,
      "-2147483649 does not fit i32")
  }

  @Test func unboundSymbolInAResult() {
    expectError(fn("%x: f32[3]", "f32[N]", ["return %x"]), 2, 1,
      "symbol N in result type f32[N] is not bound by any parameter of @f")
    expectError(fn("%x: f32[1]", "f32[1]", ["%0 = expand %x shape=[M]", "return %x"]), 3, 8,
      "symbol M in f32[M] is not bound by any parameter of @f")
  }

  @Test func condPredicateNotScalarBool() {
    let body = ["%0 = cond %p -> f32[3] {", "  yield %x", "} else {", "  yield %x", "}", "return %0"]
    expectError(fn("%x: f32[3], %p: bool[3]", "f32[3]", body), 3, 8, "cond: predicate must be bool[], got bool[3]")
    expectError(fn("%x: f32[3], %p: f32[]", "f32[3]", body), 3, 8, "cond: predicate must be bool[], got f32[]")
    expectError(fn("%x: f32[3], %p: i64[]", "f32[3]", ["guard %p", "return %x"]), 3, 3,
      "guard: predicate must be bool[], got i64[]")
  }

  @Test func yieldTypeMismatch() {
    let wrongType = fn("%x: f32[3], %p: bool[]", "f32[3]", [
      "%0 = cond %p -> f32[3] {", "  yield %x", "} else {", "  %1 = cast %x to=f64", "  yield %1", "}", "return %0",
    ])
    expectError(wrongType, 7, 5, "yield value 0 has type f64[3], expected f32[3]")
    let wrongCount = fn("%x: f32[3], %p: bool[]", "f32[3]", [
      "%0 = cond %p -> f32[3] {", "  yield %x, %x", "} else {", "  yield %x", "}", "return %0",
    ])
    expectError(wrongCount, 4, 5, "yield has 2 values, expected 1")
    // Without declared types the then region decides them; the else region must agree.
    let inferred = fn("%x: f32[3], %p: bool[]", "f32[3]", [
      "%0 = cond %p {", "  yield %x", "} else {", "  yield", "}", "return %0",
    ])
    expectError(inferred, 6, 5, "yield has 0 values, expected 1")
    let inferredCount = fn("%x: f32[3], %p: bool[]", "f32[3]", [
      "%0 = cond %p {", "  yield %x, %x", "} else {", "  yield %x", "}", "return %0",
    ])
    expectError(inferredCount, 4, 5, "yield has 2 values, expected 1")
  }

  @Test func returnMismatch() {
    expectError(fn("%x: f32[3]", "f32[3]", ["return %x, %x"]), 3, 3, "return has 2 values, expected 1")
    expectError(fn("%x: f32[3]", "(f32[3], f32[3])", ["return %x"]), 3, 3,
      "return has 1 value, expected 2")
    expectError(fn("%x: f32[3]", "f32[4]", ["return %x"]), 3, 3, "return value 0 has type f32[3], expected f32[4]")
    expectError(fn("%x: f32[3]", "(f32[3], i32[3])", ["return %x, %x"]), 3, 3,
      "return value 1 has type f32[3], expected i32[3]")
    expectError(fn("%x: f32[3]", "f32[3]", ["yield %x"]), 3, 3,
      "'yield' is not allowed here; this block ends with 'return'")
  }

  @Test func unterminatedString() {
    expectError(fn("%p: bool[]", "()", ["guard %p message=\"abc", "return"]), 3, 20, "unterminated string")
    expectError("swiftgraph 1\nfunc @f(%p: bool[]) -> () {\n  guard %p message=\"abc\\", 3, 20, "unterminated string")
    expectError(fn("%p: bool[]", "bool[]", ["%0 = not %p loc(\"model.swift", "return %0"]), 3, 19, "unterminated string")
  }

  @Test func badEscape() {
    expectError(fn("%p: bool[]", "()", ["guard %p message=\"a\\qb\"", "return"]), 3, 22, "unknown escape '\\q'")
    expectError(fn("%p: bool[]", "()", ["guard %p message=\"\\u{D800}\"", "return"]), 3, 21, "bad \\u{...} escape")
    expectError(fn("%p: bool[]", "()", ["guard %p message=\"\\u41\"", "return"]), 3, 21, "expected '{' after \\u")
    expectError(fn("%p: bool[]", "()", ["guard %p message=\"ab\\\u{1}\"", "return"]), 3, 23,
      "unknown escape '\\' before byte 0x1")
  }

  @Test func unexpectedCharacter() {
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg %x $", "return %0"]), 3, 15, "unexpected character '$'")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg %x\u{1}", "return %0"]), 3, 14, "unexpected character byte 0x1")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg %x é", "return %0"]), 3, 15, "unexpected character byte 0xc3")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = neg % x", "return %0"]), 3, 12, "expected a name after '%'")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = const 12ab : f32[]", "return %x"]), 3, 14, "malformed number '12a'")
  }

  @Test func negativeDim() {
    expectError(fn("%x: f32[3,-2]", "f32[3]", ["return %x"]), 2, 19, "dims must not be negative: -2")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = reshape %x shape=[-1,-3]", "return %0"]), 3, 8,
      "reshape: negative dim -1 in shape [-1,-3]")
    expectError(fn("%x: f32[3]", "f32[3]", ["%0 = pad %x low=[-1] high=[0]", "return %0"]), 3, 8,
      "pad: padding on axis 0 must not be negative")
  }
}
