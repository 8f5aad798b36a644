// The ahead-of-time C sample (Samples/AOTInC): build it with its build.sh (the built `nnc` and
// `cc`), run it, and compare the numbers it prints with the reference interpreter run on the
// same inputs, computed here with the same formulas as main.c.

import Foundation
import NNCIR
import NNCPasses
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct AOTSampleTests {
  /// The inputs main.c builds (float arithmetic, as in C: `(float)(i % 9) * 0.01f`).
  static func inputs() -> [NDArray] {
    func fill(_ count: Int, _ value: (Int) -> Float) -> [Float] { (0..<count).map(value) }
    return [
      NDArray(fill(2 * 784) { Float($0 % 9) * Float(0.01) }, shape: [2, 784]),
      NDArray(fill(784 * 256) { Float($0 % 13 - 6) * Float(0.001) }, shape: [784, 256]),
      NDArray(fill(256) { Float($0 % 5 - 2) * Float(0.01) }, shape: [256]),
      NDArray(fill(256 * 10) { Float($0 % 11 - 5) * Float(0.01) }, shape: [256, 10]),
      NDArray(fill(10) { Float($0 % 3) * Float(0.1) }, shape: [10]),
    ]
  }

  @Test func cProgramPrintsTheInterpretersOutput() throws {
    let nnc = try #require(NNCTool.binary, "the nnc executable was not found next to the test bundle; set NNC_BINARY")
    let dir = ScratchDirectory()
    let script = packageRoot.appendingPathComponent("Samples/AOTInC/build.sh")
    let r = try runExecutable(
      URL(fileURLWithPath: "/bin/sh"), [script.path, dir.url.path], in: dir.url, environment: ["NNC": nnc.path])
    #expect(r.status == 0, "build.sh failed: \(r.stderr)")
    #expect(dir.exists("mlp.o") && dir.exists("mlp.h") && dir.exists("aot_mlp"))
    // The C compiler had nothing to warn about (-Wall -Wextra).
    #expect(!r.stderr.contains("warning"), "\(r.stderr)")

    let lines = r.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "mlp output (2x10):")
    let printed = lines.dropFirst().map { $0.split(separator: " ").map { Double($0) } }
    #expect(printed.count == 2 && printed.allSatisfy { $0.count == 10 && $0.allSatisfy { $0 != nil } }, "\(r.stdout)")

    let source = try Data(contentsOf: URL(fileURLWithPath: NNCTool.mlp))
    let f = try loadGraph(Array(source), file: NNCTool.mlp).functions[0]
    let expected = try Interpreter.run(f, Self.inputs())[0]
    #expect(expected.shape == [2, 10])
    for row in 0..<2 {
      for col in 0..<10 {
        let e = expected.storage.double(row * 10 + col)
        guard row < printed.count, col < printed[row].count, let a = printed[row][col] else { continue }
        #expect(abs(a - e) <= 1e-5, "y[\(row)][\(col)]: C printed \(a), the interpreter gives \(e)")
      }
    }
    // The rows differ (the inputs are not the same pattern twice).
    #expect(printed.count == 2 && printed[0] != printed[1])
  }

  /// Objects need nothing beyond libc and libm: `nm -u` lists only C library functions, and
  /// every undefined symbol resolves against libc and libm alone.
  @Test func objectsDependOnlyOnLibcAndLibm() throws {
    let dir = ScratchDirectory()
    try dir.write(
      "math.swiftgraph",
      """
      swiftgraph 1
      func @math(%x: f32[N,4], %c: bool[N,4]) -> (f32[N,4], f64[N,4]) {
        %e = exp %x
        %t = tanh %e
        %s = sigmoid %x
        %r = erf %s
        %p = pow %r, %x
        %q = sin %p
        %sel = select %c, %q, %t
        %d = cast %x to=f64
        %l = log %d
        %f = floor %l
        return %sel, %f
      }

      """)
    let models = [
      NNCTool.mlp, sampleModelURL("lenet").path, dir.path("math.swiftgraph"),
    ]
    let libc: Set<String> = ["malloc", "free", "memset", "memcpy", "memmove"]
    for (k, model) in models.enumerated() {
      let object = dir.path("m\(k).o")
      let r = try NNCTool.nnc(["compile", model, "-o", object])
      #expect(r.status == 0, "\(r.stderr)")
      let nm = try runExecutable(URL(fileURLWithPath: "/usr/bin/env"), ["nm", "-u", object], in: dir.url)
      #expect(nm.status == 0, "\(nm.stderr)")
      let undefined = Set(nm.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
      // The allocating entries malloc the workspace (the math graph fuses into one kernel and
      // has none).
      if k != 2 { #expect(undefined.contains("malloc") && undefined.contains("free"), "\(model): \(undefined.sorted())") }
      if k == 2 { #expect(!undefined.subtracting(libc).isEmpty, "the math graph calls libm") }
      // Nothing else is needed: a shared library with no undefined symbols links from it.
      let link = try runExecutable(
        URL(fileURLWithPath: "/usr/bin/env"), ["cc", "-shared", "-Wl,--no-undefined", "-o", dir.path("m\(k).so"), object, "-lm"],
        in: dir.url)
      #expect(link.status == 0, "\(model): \(link.stderr)")
    }
  }
}
