// Damaged input never crashes the loader: thousands of seeded mutations of the samples and of
// hand-written files either load (and then print and re-parse equal) or give a diagnostic
// placed inside the file. A crash kills the run, so surviving is the main assertion.

import Foundation
import NNCIR
import NNCTestSupport
import NNCPasses
import Testing

@Suite struct MutationTests {
  /// Hand-written inputs that reach every op, literal form and syntax the samples may not.
  static let handWritten: [String] = [
    #"""
    swiftgraph 1
    // Every op at least once.
    func @ops(%x: f32[N,3,8,8], %w: f32[4,3,3,3], %m: f32[3,4], %v: i32[3], %p: bool[]) -> (f32[N,4,3,3], f32[3,4], i64[3]) {
      %c = conv2d %x, %w stride=[2,2] padding=[1,1] : f32[N,4,4,4] loc("model.swift":12:5)
      %mp = maxpool2d %c kernel=[2,2] stride=[1,1] : f32[N,4,3,3]
      %ap = avgpool2d %c kernel=[2,2] stride=[1,1] padding=[1,1]
      %s = add %mp, %mp
      %k = const [[1.0, -2.5, inf, -inf], [nan, 0.0, -0.0, 1e-3], [3.4028235e+38, 1.0, 2.0, 3.0]] : f32[3,4]
      %e = exp %m
      %prod = mul %e, %k
      %t = permute %prod perm=[1,0] : f32[4,3]
      %mm = matmul %m, %t : f32[3,3]
      %r = reshape %mm shape=[9]
      %r2 = reshape %r shape=[3,3]
      %red = reduce_sum %r2 axes=[1] keepdims=true : f32[3,1]
      %ex = expand %red shape=[3,4]
      %sl = slice %ex start=[0,1] end=[3,4] step=[1,2] : f32[3,2]
      %pd = pad %sl low=[0,1] high=[0,1] value=-1.5 : f32[3,4]
      %cat = concat %pd, %ex axis=0 : f32[6,4]
      %half = slice %cat start=[0,0] end=[3,4]
      %am = argmax %half axis=1 : i64[3]
      %vc = cast %v to=f32
      %z = const 0 : i32[]
      %lt = lt %v, %z : bool[3]
      %nt = not %lt
      %both = and %nt, %lt
      %sel = select %both, %v, %v
      %q = cond %p -> f32[3,4] {
        %n = neg %half
        yield %n
      } else {
        %big = const 1.0e10 : f32[]
        %mx = max %half, %big
        yield %mx
      }
      guard %p message="p must hold \"always\"\n"
      return %s, %q, %am
    }
    """#,
    #"""
    swiftgraph 1
    func @main(%x: f64[N,4], %y: f64[N,4]) -> (f64[N], bool[N,4]) {
      %0 = sub %x, %y loc("a.swift":1)
      %1 = reduce_max %0 axes=[1] : f64[N]
      %2 = reduce_min %0 axes=[0,1] keepdims=true : f64[1,1]
      %3 = ge %x, %2 : bool[N,4]
      %4 = argmin %x axis=1 keepdims=true : i64[N,1]
      %5 = const [1, -9223372036854775808, 9223372036854775807] : i64[3]
      %6 = const [true, false] : bool[2]
      %7 = const -7 : i64[]
      %8 = const 2.5e-300 : f64[N,4]
      %9 = pow %x, %8
      %10 = sqrt %9
      %p = eq %7, %7
      %11 = cond %p -> f64[N] {
        %12 = cond %p -> f64[N] {
          %13 = tanh %1
          yield %13
        } else {
          yield %1
        }
        yield %12
      } else {
        %14 = sigmoid %1 loc("b\"c.swift":7:2)
        yield %14
      }
      return %11, %3
    }

    func @empty() -> () {
      return
    }

    func @ints(%a: i32[2,3], %b: i32[3]) -> i32[2,3] {
      %0 = div %a, %b
      %1 = abs %0
      %2 = min %1, %a
      %3 = reduce_sum %2 axes=[] : i32[2,3]
      return %3
    }
    """#,
  ]

  static let hugeNumbers = [
    "99999999999999999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "281474976710656", "281474976710657", "4294967296", "2147483648", "1e308", "1e309", "3.5e38", "-4e38",
    "1e-400", "0.000000000000000000000000000000000000000000000001",
  ]

  static let bombs = ["[", "(", "{", "[1,", "%p = cond %p -> f32[] {\n", "-", "%", "\"", "//", "yield %0\n}\n"]

  static let vocabulary = [
    "%0", "%x", "=", ",", ":", "->", "cond", "yield", "return", "}", "{", "func", "@f", "f32[3]", "bool[]",
    "loc(\"a\":1)", "axis=1", "\"", "//", "\n", "const", "nan", "-inf", "[N,3]", "else", "swiftgraph 1", "guard",
  ]

  @Test func damagedInputNeverCrashes() throws {
    var corpus: [(name: String, bytes: [UInt8])] = try SampleModels.all()
    for (k, t) in Self.handWritten.enumerated() { corpus.append(("hand\(k)", Array(t.utf8))) }
    for seed in 0..<6 {
      var gen = RandomGraphGenerator(seed: 1000 + UInt64(seed))
      corpus.append(("random\(seed)", Array(gen.graph().text().utf8)))
    }
    for seed in 0..<2 {
      var gen = RandomGraphGenerator(seed: 2000 + UInt64(seed))
      gen.extras = .fused
      corpus.append(("fused\(seed)", Array(gen.graph().text().utf8)))
    }
    for (name, bytes) in corpus {
      #expect(throws: Never.self, "\(name) should load undamaged") { try loadGraph(bytes, file: name) }
    }

    // NNC_MUTATIONS and NNC_MUTATION_SEED run a longer or different campaign.
    let env = ProcessInfo.processInfo.environment
    var rng = SplitMix64(seed: env["NNC_MUTATION_SEED"].flatMap { UInt64($0) } ?? 0x5EED)
    let total = env["NNC_MUTATIONS"].flatMap { Int($0) } ?? 5000
    var failures: [String] = []
    var loaded = 0
    for n in 0..<total {
      let (name, original) = corpus[n % corpus.count]
      var bytes = original
      for _ in 0..<rng.int(1...3) { mutate(&bytes, &rng) }
      if let problem = check(bytes, &loaded) {
        failures.append("mutant \(n) of \(name): \(problem)\n" + String(decoding: bytes, as: UTF8.self))
      }
    }
    #expect(failures.isEmpty, "\(failures.count) failures; first:\n\(failures.prefix(3).joined(separator: "\n----\n"))")
    // Some mutants must survive, or the round-trip half of the check tests nothing.
    #expect(loaded > total / 50, "only \(loaded) mutants loaded")
  }

  /// nil when `bytes` load and round-trip, or fail with a diagnostic inside the file.
  func check(_ bytes: [UInt8], _ loaded: inout Int) -> String? {
    let file = "m.swiftgraph"
    let g: Graph
    do {
      g = try loadGraph(bytes, file: file)
    } catch {
      let p = error.pos
      // The length of line p.line, and the number of lines.
      var line = 1
      var length = 0
      for c in bytes {
        if c == UInt8(ascii: "\n") {
          line += 1
        } else if line == p.line {
          length += 1
        }
      }
      guard p.file == file, p.line >= 1, p.column >= 1, p.line <= line else {
        return "diagnostic outside the file: \(error)"
      }
      guard p.column <= length + 1 else { return "column past the end of its line: \(error)" }
      _ = error.rendered(source: bytes)
      return nil
    }
    loaded += 1
    let text = g.text()
    do {
      let again = try loadGraph(text, file: "printed")
      if again != g { return "printed form parses to another graph:\n\(text)" }
      if again.text() != text { return "printed form prints differently:\n\(text)" }
    } catch {
      return "printed form does not load: \(error)\n\(text)"
    }
    return nil
  }

  func mutate(_ b: inout [UInt8], _ rng: inout SplitMix64) {
    func at() -> Int { rng.int(0...b.count) }
    func lines() -> [Range<Int>] {
      var out: [Range<Int>] = []
      var start = 0
      for (i, c) in b.enumerated() where c == UInt8(ascii: "\n") {
        out.append(start..<(i + 1))
        start = i + 1
      }
      if start < b.count { out.append(start..<b.count) }
      return out
    }
    switch rng.int(0..<12) {
    case 0 where !b.isEmpty:  // flip one bit
      b[rng.int(0..<b.count)] ^= UInt8(1) << UInt8(rng.int(0..<8))
    case 1:  // insert a random byte
      b.insert(UInt8(truncatingIfNeeded: rng.next()), at: at())
    case 2 where !b.isEmpty:  // delete a byte
      b.remove(at: rng.int(0..<b.count))
    case 3:  // delete a line
      let ls = lines()
      if !ls.isEmpty { b.removeSubrange(rng.pick(ls)) }
    case 4:  // duplicate a line
      let ls = lines()
      if !ls.isEmpty {
        let r = rng.pick(ls)
        b.insert(contentsOf: Array(b[r]), at: r.lowerBound)
      }
    case 5:  // swap two tokens
      let ts = tokens(b)
      if ts.count >= 2 {
        var i = rng.int(0..<ts.count)
        var j = rng.int(0..<ts.count)
        if i > j { swap(&i, &j) }
        if i != j {
          let (x, y) = (ts[i], ts[j])
          b = Array(b[..<x.lowerBound]) + Array(b[y]) + Array(b[x.upperBound..<y.lowerBound]) + Array(b[x])
            + Array(b[y.upperBound...])
        }
      }
    case 6:  // truncate
      b.removeSubrange(at()...)
    case 7:  // bytes that are not UTF-8
      b.insert(contentsOf: rng.pick([[0xFF], [0xC3], [0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82]]), at: at())
    case 8:  // a number replaced by a huge one
      let digits = tokens(b).filter { r in b[r].contains { $0 >= 0x30 && $0 <= 0x39 } && b[r].allSatisfy { $0 != UInt8(ascii: "%") } }
      if !digits.isEmpty { b.replaceSubrange(rng.pick(digits), with: Array(rng.pick(Self.hugeNumbers).utf8)) }
    case 9:  // a nesting bomb
      let unit = Array(rng.pick(Self.bombs).utf8)
      // Deep enough to pass every nesting limit; long units repeat less to keep the test fast.
      let times = rng.chance(0.3) ? 100 : unit.count > 4 ? 1_000 : 10_000
      var bomb: [UInt8] = []
      bomb.reserveCapacity(unit.count * times)
      for _ in 0..<times { bomb += unit }
      b.insert(contentsOf: bomb, at: at())
    case 10:  // a plausible token in a random place
      b.insert(contentsOf: Array((" " + rng.pick(Self.vocabulary) + " ").utf8), at: at())
    default:  // a token replaced by an op name or a keyword
      let ts = tokens(b)
      if !ts.isEmpty {
        b.replaceSubrange(rng.pick(ts), with: Array(rng.pick(Op.allMnemonics + ["true", "inf", "N", "f64", "i32"]).utf8))
      }
    }
  }

  /// Byte ranges of rough tokens: runs of name characters, or single other characters.
  func tokens(_ b: [UInt8]) -> [Range<Int>] {
    func isName(_ c: UInt8) -> Bool {
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E
        || c == 0x25 || c == 0x40 || c == 0x2D || c == 0x2B
    }
    var out: [Range<Int>] = []
    var i = 0
    while i < b.count {
      if b[i] == 0x20 || b[i] == 0x0A {
        i += 1
        continue
      }
      var j = i + 1
      if isName(b[i]) { while j < b.count && isName(b[j]) { j += 1 } }
      out.append(i..<j)
      i = j
    }
    return out
  }
}
