// Regression tests for bugs found in review: compiled code against the reference interpreter
// at the edges (pad values out of an integer's range, pow, symbols bound at run time), entry
// names that collide, and malformed inputs.

import Foundation
import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct ReviewRegressionTests {
  /// `constScalar` turned an integer pad value outside Int64 (or an infinity) into 0; the
  /// interpreter saturates it.
  @Test func integerPadValuesSaturateLikeTheInterpreter() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: i64[2], %y: i32[2]) -> (i64[4], i32[4], i32[3], i64[3]) {
        %0 = pad %x low=[1] high=[1] value=1e19
        %1 = pad %y low=[1] high=[1] value=1e30
        %2 = pad %y low=[1] high=[0] value=-inf
        %3 = pad %x low=[0] high=[1] value=-1e300
        return %0, %1, %2, %3
      }
      """)
    let entry = try #require(try compileAndLoad(g)["f"])
    let inputs = [NDArray([1, 2] as [Int64], shape: [2]), NDArray([1, 2] as [Int32], shape: [2])]
    #expect(disagreement(entry, inputs) == nil, "\(disagreement(entry, inputs) ?? "")")
    let got = try entry.run(inputs)
    #expect(got[0] == NDArray([.max, 1, 2, .max] as [Int64], shape: [4]))
    #expect(got[1] == NDArray([.max, 1, 2, .max] as [Int32], shape: [4]))
    #expect(got[2] == NDArray([.min, 1, 2] as [Int32], shape: [3]))
    #expect(got[3] == NDArray([1, 2, .min] as [Int64], shape: [3]))
  }

  /// Two IR names with one C name: LLVM renamed the second symbol, so the loader called the
  /// first function's entry (or a typed entry through the packed ABI). The verifier rejects the
  /// graph, at the second function (ErrorTests.cSymbolClash has the exact positions), so neither
  /// `loadGraph` nor `compile` of a graph built without the text accepts it.
  @Test(arguments: [("f", "f_packed", "nnc_f_packed"), ("f_packed", "f", "nnc_f_packed"), ("a.b", "a_b", "nnc_a_b")])
  func collidingEntryNamesAreRejected(_ names: (String, String, String)) throws {
    let text = """
      swiftgraph 1
      func @\(names.0)(%x: f32[2]) -> f32[2] {
        %0 = neg %x
        return %0
      }
      func @\(names.1)(%x: f32[2]) -> f32[2] {
        %0 = exp %x
        return %0
      }
      """
    let symbol = names.2
    do {
      _ = try loadGraph(text)
      Issue.record("the graph loaded")
    } catch {
      #expect("\(error)" == "<input>:6:1: error: functions @\(names.0) and @\(names.1) both export the C symbol \(symbol); rename one of them")
    }
    // Built in memory, the graph reaches `compile`, whose verification refuses it.
    var g = Graph()
    for (k, name) in [names.0, names.1].enumerated() {
      var b = FunctionBuilder(name: name)
      let x = b.parameter("x", TensorType(.f32, [.int(2)]))
      let y = try b.emit(.unary(k == 0 ? .neg : .exp), [x])
      g.functions.append(b.finish(returning: y))
    }
    #expect(throws: CodegenError.self) { try compile(g) }
    do {
      _ = try compile(g)
    } catch {
      #expect("\(error)".contains("@\(names.0) and @\(names.1) both export the C symbol"), "\(error)")
    }
  }

  /// The interpreter's pow (RealModule) gave NaN for every negative base and for 0^0 and NaN^0;
  /// libm, NumPy and the compiled code give (-2)^2 = 4 and x^0 = 1.
  @Test func powMatchesLibm() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @p(%a: f32[7], %b: f32[7], %c: f64[7], %d: f64[7]) -> (f32[7], f64[7]) {
        %0 = pow %a, %b
        %1 = pow %c, %d
        return %0, %1
      }
      """)
    let entry = try #require(try compileAndLoad(g)["p"])
    let a: [Double] = [-2, 0, .nan, 1, -8, -0.0, -3]
    let b: [Double] = [2, 0, 0, .nan, 1.0 / 3, -1, 3]
    let inputs = [
      NDArray(a.map { Float($0) }, shape: [7]), NDArray(b.map { Float($0) }, shape: [7]), NDArray(a, shape: [7]),
      NDArray(b, shape: [7]),
    ]
    #expect(disagreement(entry, inputs) == nil, "\(disagreement(entry, inputs) ?? "")")
    let r = try Interpreter.run(g.functions[0], inputs)
    #expect(Array((0..<7).map { r[1].storage.double($0) }.prefix(4)) == [4, 1, 1, 1])
    #expect(r[1].storage.double(6) == -27)
    #expect(r[0].storage.double(0) == 4)
  }

  /// With a constant exponent LLVM rewrote `pow` calls (`pow(x, 2.0)` into `x * x`,
  /// `pow(x, -1.0)` into `1 / x`), which differ from libm's pow in the last bit for these x.
  @Test func powWithAConstantExponentIsLibmPow() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[2], %y: f64[1]) -> (f32[2], f32[2], f64[1]) {
        %two = const 2.0 : f32[]
        %minusOne = const -1.0 : f32[]
        %twoD = const 2.0 : f64[]
        %0 = pow %x, %two
        %1 = pow %x, %minusOne
        %2 = pow %y, %twoD
        return %0, %1, %2
      }
      """)
    let entry = try #require(try compileAndLoad(g)["f"])
    let inputs = [NDArray([247.06785583496094, 467.3228454589844] as [Float], shape: [2]), NDArray([3.8961957076417453], shape: [1])]
    #expect(disagreement(entry, inputs) == nil, "\(disagreement(entry, inputs) ?? "")")
  }

  /// An argmax over a symbolic axis bound to 0 is an error in the interpreter; the compiled code
  /// returned index 0.
  @Test func argmaxOverAnEmptySymbolicAxisIsTheInterpretersError() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[N]) -> i64[] {
        %0 = argmax %x axis=0
        return %0
      }
      """)
    let entry = try #require(try compileAndLoad(g)["f"])
    #expect(disagreement(entry, [NDArray([] as [Float], shape: [0])]) == nil)
    #expect(disagreement(entry, [NDArray([1, 3, 2] as [Float], shape: [3])]) == nil)
  }

  /// A result past 2^48 elements at run time: the interpreter reports it; the compiled entry
  /// tried to allocate the result array and aborted the process.
  @Test func resultPastTheSizeLimitIsAnErrorNotACrash() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[N]) -> f32[N,N] {
        %0 = reshape %x shape=[N,1]
        %1 = expand %0 shape=[N,N]
        return %1
      }
      """)
    let entry = try #require(try compileAndLoad(g)["f"])
    let n = (1 << 24) + 1
    let x = NDArray.zeros(.f32, [n])
    #expect(throws: RuntimeError.kernel("@f: expand: result f32[16777217,16777217] exceeds the size limit of 2^48")) {
      try entry.run([x])
    }
    #expect(disagreement(entry, [NDArray([1, 2] as [Float], shape: [2])]) == nil)
  }

  /// An NDArray holding fewer elements than its shape says: the compiled code read past the end
  /// of the buffer (a segfault here).
  @Test func inputShorterThanItsShapeIsAnError() throws {
    let g = try loadGraph("""
      swiftgraph 1
      func @f(%x: f32[N]) -> f32[N] {
        %0 = neg %x
        return %0
      }
      """)
    let entry = try #require(try compileAndLoad(g)["f"])
    let bad = NDArray(shape: [1 << 24], storage: .f32([1]))
    let message = "@f: input %x has shape [16777216] but holds 1 elements"
    #expect(throws: RuntimeError.kernel(message)) { try entry.run([bad]) }
    #expect(throws: RuntimeError.kernel(message)) { try Interpreter.run(g.functions[0], [bad]) }
  }
}

@Suite struct PadEmptyInputTests {
  /// Padding an empty input never reads it: the caller may pass a null pointer for it.
  @Test func padOfEmptyInputReadsNothing() throws {
    let g = try loadGraph(
      """
      swiftgraph 1
      func @p(%x: f32[0]) -> f32[3] {
        %0 = pad %x low=[1] high=[2] value=2.5
        return %0
      }
      """)
    let entry = try #require(try compileAndLoad(g)["p"])
    var out: [Float] = [0, 0, 0]
    let status = out.withUnsafeMutableBytes { o in entry.callUnchecked([nil, o.baseAddress], sizes: []) }
    #expect(status == 0)
    #expect(out == [2.5, 2.5, 2.5])
  }
}
