// A seeded generator of random well-typed graphs, built with `FunctionBuilder`: the input of the
// round-trip and mutation tests, and of differential tests of the interpreter against compiled
// code. The same seed gives the same graph on every platform. Its choices can also be read from
// bytes (`RandomGraphGenerator(bytes:)`), so a fuzzer's mutations change the graph locally.

import NNCIR

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seedable PRNG with a fixed, portable sequence.
public struct SplitMix64 {
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in `range` (the modulo bias is negligible for test-sized ranges).
  public mutating func int(_ range: ClosedRange<Int>) -> Int {
    let span = UInt64(range.upperBound - range.lowerBound) + 1
    return range.lowerBound + Int(next() % span)
  }

  public mutating func int(_ range: Range<Int>) -> Int { int(range.lowerBound...(range.upperBound - 1)) }

  /// True with probability `p`.
  public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }

  public mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }

  public mutating func shuffle<T>(_ items: inout [T]) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, int(0...i)) }
  }
}

/// Where a generator's choices come from: a seeded SplitMix64 sequence, or a byte string read
/// front to back (the fuzzers' mode: each choice takes as few bytes as its range needs, so a
/// mutated byte changes one choice; when the bytes run out every choice is the smallest one
/// and every `chance` is false, so generation always ends).
public struct Choices {
  enum Source {
    case seeded(SplitMix64)
    case bytes([UInt8], next: Int)
  }
  var source: Source

  public init(seed: UInt64) { source = .seeded(SplitMix64(seed: seed)) }
  public init(bytes: [UInt8]) { source = .bytes(bytes, next: 0) }

  /// How many bytes have been read (always 0 when seeded).
  public var bytesRead: Int {
    if case .bytes(_, let k) = source { return k }
    return 0
  }

  /// The next `n` bytes (fewer at the end) as a little-endian integer.
  private mutating func take(_ n: Int) -> UInt64 {
    guard case .bytes(let b, let k) = source else { return 0 }
    var v: UInt64 = 0
    let end = min(b.count, k + n)
    for (i, byte) in b[k..<end].enumerated() { v |= UInt64(byte) << (8 * i) }
    source = .bytes(b, next: end)
    return v
  }

  public mutating func next() -> UInt64 {
    switch source {
    case .seeded(var r):
      defer { source = .seeded(r) }
      return r.next()
    case .bytes: return take(8)
    }
  }

  public mutating func int(_ range: ClosedRange<Int>) -> Int {
    switch source {
    case .seeded(var r):
      defer { source = .seeded(r) }
      return r.int(range)
    case .bytes:
      let span = UInt64(range.upperBound - range.lowerBound) &+ 1
      if span == 1 { return range.lowerBound }
      var n = 1
      while n < 8 && span > UInt64(1) << (8 * n) { n += 1 }
      return range.lowerBound + Int(span == 0 ? take(n) : take(n) % span)
    }
  }

  public mutating func int(_ range: Range<Int>) -> Int { int(range.lowerBound...(range.upperBound - 1)) }

  public mutating func chance(_ p: Double) -> Bool {
    switch source {
    case .seeded(var r):
      defer { source = .seeded(r) }
      return r.chance(p)
    case .bytes(let b, let k):
      guard k < b.count else { return false }
      return Double(take(1)) / 256 < p
    }
  }

  public mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }

  public mutating func shuffle<T>(_ items: inout [T]) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, int(0...i)) }
  }
}

/// Random functions and graphs that verify: every op drawn from the whole op set, attributes
/// chosen to satisfy the shape rules (an attempt the rule rejects is dropped and another
/// tried), parameters with static dims and symbols, constants with special values, guards and
/// nested conds, and source locations on some instructions. `extras` adds what optimizing
/// passes look for (constant predicates, guards that always hold, simplifiable patterns,
/// foldable constants).
public struct RandomGraphGenerator {
  public var rng: Choices
  /// Ops per block, at most.
  public var maxOps = 14
  /// Allow inf, nan and -0.0 in float constants and pad values.
  public var specialFloats = true
  /// How deep conds may nest.
  public var maxDepth = 2
  /// What to generate besides the plain op set; none by default. Without extras the generator
  /// makes the same graphs from the same seed (or bytes) as before extras existed, choice for
  /// choice, so the tests that do not opt in keep their graphs.
  public var extras: Extras = []

  /// Kinds of instruction generated for tests of optimizing passes.
  public struct Extras: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// `cond`s whose predicate is a constant (`const true : bool[]`), a comparison of two scalar
    /// constants (`lt` of two `f32[]` constants), or computed from a value (a reduction
    /// compared with a constant); each region computes from outer values and yields values of
    /// the cond's types.
    public static let conds = Extras(rawValue: 1 << 0)
    /// `guard`s that hold for every input, NaN and infinities included: on `const true`, or on
    /// `reduce_sum(abs(x))` (x cast to f64 unless it is a float) compared with -1 so that the
    /// comparison cannot be false (`not (s < -1)`, `(s >= -1) or (s != s)`, and `s >= -1` when
    /// `s` cannot be NaN). With this option these are the only guards: a run never fails on one.
    public static let trueGuards = Extras(rawValue: 1 << 1)
    /// Patterns an algebraic simplifier rewrites: `x*1`, `1*x`, `x + -0.0`, `x - 0.0`, `x/1`,
    /// `neg(neg x)`, reshape of reshape, permute of permute (some composing to the identity),
    /// expand to the same shape, a full slice, a cast to the same dtype, select on a constant
    /// predicate, `max(x,x)`, `min(x,x)`. Some of the constants are larger than `x`, so the
    /// pattern broadcasts and must not become `x`. Also near misses that are not identities
    /// (`x + 0.0`, `x*0`, `x - x`, `x/x`, `0 - x`, `min(x, -inf)`).
    public static let simplifiable = Extras(rawValue: 1 << 2)
    /// Small subgraphs of constants only (an op or two on constants: `add`, `exp`, compare,
    /// cast, reduce, select, ...), which constant folding evaluates.
    public static let constantSubgraphs = Extras(rawValue: 1 << 3)
    /// Hand-written `fused` ops: once the function is generated, some runs of one to four
    /// adjacent instructions without regions or effects (any such op: constants, concat,
    /// argmax and pooling too, which no fused kernel computes) are wrapped into a `fused` op,
    /// in the body and in cond regions. Its operands are the outer values the run reads; it
    /// yields the run's values read after it (the last one's when none is), and later uses
    /// read its results instead. The function computes what it computed before.
    public static let fused = Extras(rawValue: 1 << 4)

    public static let all: Extras = [.conds, .trueGuards, .simplifiable, .constantSubgraphs, .fused]
  }

  /// Values visible at the current point, innermost scope last.
  private var scopes: [[Value]] = []
  /// Symbols bound by the current function's parameters.
  private var symbols: [String] = []
  private var depth = 0
  /// Values some instruction or terminator uses (kept with extras, to return the others).
  private var used: Set<Value> = []

  public init(seed: UInt64) { rng = Choices(seed: seed) }

  /// A generator whose choices are read from `bytes` (see `Choices`).
  public init(bytes: [UInt8]) { rng = Choices(bytes: bytes) }

  /// A graph of one to three functions named `f0`, `f1`, ...
  public mutating func graph() -> Graph {
    var g = Graph()
    for k in 0..<rng.int(1...3) { g.functions.append(function(name: "f\(k)")) }
    return g
  }

  /// One random function named `name`.
  public mutating func function(name: String) -> Function {
    var b = FunctionBuilder(name: name)
    scopes = [[]]
    used = []
    depth = 0
    let candidateSymbols = rng.chance(0.5) ? (rng.chance(0.3) ? ["N", "M"] : ["N"]) : []
    var names = ["x", "y", "w1", "b_2", "in.put", "_t", "h", "k9", "Z"]
    rng.shuffle(&names)
    let paramCount = rng.chance(0.05) ? 0 : rng.int(1...4)
    var bound: [String] = []
    for k in 0..<paramCount {
      var t = randomType(symbols: candidateSymbols)
      // Bind each symbol by the first parameter, so every one is bound.
      if k == 0 && !candidateSymbols.isEmpty {
        if t.rank == 0 { t.shape = [.sym(candidateSymbols[0])] }
        for s in candidateSymbols where !t.symbols.contains(s) { t.shape.append(.sym(s)) }
      }
      for s in t.symbols where !bound.contains(s) { bound.append(s) }
      scopes[0].append(b.parameter(names[k], t))
    }
    symbols = bound
    randomOps(&b, count: rng.int(1...maxOps))
    var results: [Value] = []
    if !extras.isEmpty {
      // Return values nothing uses (up to 8), so that little of the body is dead and what the
      // passes rewrite reaches a result.
      let parameters = Set(b.function.parameters.map(\.value))
      var sinks = scopes[0].filter { !used.contains($0) && !parameters.contains($0) }
      rng.shuffle(&sinks)
      results = sinks.prefix(8).sorted()
    }
    if results.isEmpty && !rng.chance(0.05) {
      let visible = scopes[0]
      if !visible.isEmpty {
        for _ in 0..<rng.int(1...3) {
          // Prefer late values, so more of the body is live.
          let lo = max(0, visible.count - 4)
          results.append(rng.chance(0.7) ? visible[rng.int(lo..<visible.count)] : rng.pick(visible))
        }
      }
    }
    var f = b.finish(returning: results)
    if extras.contains(.fused) { f.body = wrapRunsInFused(f.body, &f) }
    return f
  }

  // MARK: - blocks

  private mutating func randomOps(_ b: inout FunctionBuilder, count: Int) {
    for _ in 0..<count {
      for _ in 0..<8 {
        do {
          try randomOp(&b)
          break
        } catch {
          continue  // the shape rule said no: try another op
        }
      }
    }
  }

  private enum Kind {
    case unary, binary, compare, select, cast, reduce, argReduce, reshape, permute, expand, slice, pad
    case concat, matmul, conv2d, pool2d, constant, guardTrue, cond
    case simplifiable, constantSubgraph

    /// The kinds without extras, in the order their choice has always been read.
    static let plain: [Kind] = [
      .unary, .binary, .compare, .select, .cast, .reduce, .argReduce, .reshape, .permute, .expand, .slice, .pad,
      .concat, .matmul, .conv2d, .pool2d, .constant, .guardTrue, .cond,
    ]
  }

  /// The kinds to choose from: the plain ones, and the extras' more often than the rest.
  private var kinds: [Kind] {
    var out = Kind.plain
    if extras.contains(.conds) { out += [.cond, .cond] }
    if extras.contains(.trueGuards) { out += [.guardTrue] }
    if extras.contains(.simplifiable) { out += Array(repeating: .simplifiable, count: 6) }
    if extras.contains(.constantSubgraphs) { out += [.constantSubgraph, .constantSubgraph] }
    return out
  }

  private mutating func randomOp(_ b: inout FunctionBuilder) throws(ShapeError) {
    let kind = rng.pick(extras.isEmpty ? Kind.plain : kinds)
    switch kind {
    case .unary:
      let x = try pick(b) { _ in true }
      let ops = UnaryOp.allCases.filter { $0.accepts(type(b, x).dtype) }
      guard !ops.isEmpty else { throw ShapeError("no unary op for \(type(b, x))") }
      try emit(&b, .unary(rng.pick(ops)), [x])
    case .binary:
      let x = try pick(b) { _ in true }
      let ops = BinaryOp.allCases.filter { $0.accepts(type(b, x).dtype) }
      guard !ops.isEmpty else { throw ShapeError("no binary op for \(type(b, x))") }
      let y = try partner(&b, for: x, dtype: type(b, x).dtype)
      try emit(&b, .binary(rng.pick(ops)), rng.chance(0.5) ? [x, y] : [y, x])
    case .compare:
      let x = try pick(b) { _ in true }
      let ops = CompareOp.allCases.filter { $0.accepts(type(b, x).dtype) }
      let y = try partner(&b, for: x, dtype: type(b, x).dtype)
      try emit(&b, .compare(rng.pick(ops)), [x, y])
    case .select:
      let x = try pick(b) { _ in true }
      let y = try partner(&b, for: x, dtype: type(b, x).dtype)
      let c = try partner(&b, for: x, dtype: .bool)
      try emit(&b, .select, [c, x, y])
    case .cast:
      let x = try pick(b) { _ in true }
      try emit(&b, .cast(to: rng.pick(DType.allCases)), [x])
    case .reduce:
      let x = try pick(b) { $0.dtype != .bool }
      let axes = (0..<type(b, x).rank).filter { _ in rng.chance(0.5) }
      try emit(&b, .reduce(rng.pick(ReduceOp.allCases), axes: axes, keepDims: rng.chance(0.3)), [x])
    case .argReduce:
      let x = try pick(b) { $0.dtype != .bool && $0.rank > 0 }
      let axis = rng.int(0..<type(b, x).rank)
      try emit(&b, .argReduce(rng.pick(ArgReduceOp.allCases), axis: axis, keepDims: rng.chance(0.3)), [x])
    case .reshape:
      let x = try pick(b) { _ in true }
      try emit(&b, .reshape(shape: reshapeTarget(type(b, x))), [x])
    case .permute:
      let x = try pick(b) { _ in true }
      var perm = Array(0..<type(b, x).rank)
      rng.shuffle(&perm)
      try emit(&b, .permute(perm: perm), [x])
    case .expand:
      let x = try pick(b) { _ in true }
      var target: [Dim] = type(b, x).shape.map { d in
        d == .int(1) && rng.chance(0.6) ? randomDim(symbols: symbols) : d
      }
      for _ in 0..<rng.int(0...2) where target.count < 6 { target.insert(randomDim(symbols: symbols), at: 0) }
      try emit(&b, .expand(shape: target), [x])
    case .slice:
      let x = try pick(b) { _ in true }
      let t = type(b, x)
      var start: [Int] = []
      var end: [Dim] = []
      var step: [Int] = []
      for d in t.shape {
        if let n = d.value {
          let s = rng.int(0...n)
          start.append(s)
          end.append(.int(rng.int(s...n)))
          step.append(rng.chance(0.5) ? 1 : rng.int(1...3))
        } else {
          start.append(0)
          end.append(d)
          step.append(1)
        }
      }
      try emit(&b, .slice(start: start, end: end, step: step), [x])
    case .pad:
      let x = try pick(b) { _ in true }
      let t = type(b, x)
      let low = t.shape.map { $0.value == nil ? 0 : rng.int(0...2) }
      let high = t.shape.map { $0.value == nil ? 0 : rng.int(0...2) }
      try emit(&b, .pad(low: low, high: high, value: padValue(t.dtype)), [x])
    case .concat:
      let x = try pick(b) { $0.rank > 0 }
      let t = type(b, x)
      let axes = (0..<t.rank).filter { t.shape[$0].value != nil }
      guard let axis = axes.isEmpty ? nil : rng.pick(axes) else { throw ShapeError("no static axis in \(t)") }
      var operands = [x]
      for _ in 0..<rng.int(0...2) {
        if rng.chance(0.3) {
          operands.append(x)
        } else {
          var shape = t.shape
          shape[axis] = .int(rng.int(0...3))
          operands.append(try constant(&b, TensorType(t.dtype, shape)))
        }
      }
      rng.shuffle(&operands)
      try emit(&b, .concat(axis: axis), operands)
    case .matmul:
      let x = try pick(b) { $0.dtype.isNumeric && $0.rank >= 2 }
      let t = type(b, x)
      let k = t.shape[t.rank - 1]
      let fits = visible.filter {
        let u = type(b, $0)
        return u.dtype == t.dtype && u.rank >= 2 && u.shape[u.rank - 2] == k
      }
      let y: Value
      if !fits.isEmpty && rng.chance(0.5) {
        y = rng.pick(fits)
      } else {
        var shape: [Dim] = [k, randomDim(symbols: symbols)]
        if rng.chance(0.3) { shape = Array(t.shape.dropLast(2).suffix(1)) + shape }
        y = try constant(&b, TensorType(t.dtype, shape))
      }
      try emit(&b, .matmul, [x, y])
    case .conv2d:
      let x = try pick(b) { t in
        t.dtype.isFloat && t.rank == 4 && t.shape[1...].allSatisfy { ($0.value ?? 0) >= 1 }
      }
      let t = type(b, x)
      guard let c = t.shape[1].value else { throw ShapeError("channels unknown") }
      let groups = rng.pick((1...c).filter { c % $0 == 0 })
      let attrs = Conv2DAttrs(
        stride: [rng.int(1...2), rng.int(1...2)], padding: [rng.int(0...1), rng.int(0...1)],
        dilation: [rng.int(1...2), rng.int(1...2)], groups: groups)
      let w = try constant(
        &b, TensorType(t.dtype, [.int(groups * rng.int(1...2)), .int(c / groups), .int(rng.int(1...3)), .int(rng.int(1...3))]))
      try emit(&b, .conv2d(attrs), [x, w])
    case .pool2d:
      let x = try pick(b) { t in t.dtype.isFloat && t.rank == 4 && t.shape[2...].allSatisfy { $0.value != nil } }
      let kernel = [rng.int(1...3), rng.int(1...3)]
      let attrs = Pool2DAttrs(
        kernel: kernel, stride: rng.chance(0.5) ? nil : [rng.int(1...3), rng.int(1...3)],
        padding: kernel.map { rng.int(0...($0 / 2)) })
      try emit(&b, .pool2d(rng.pick(PoolOp.allCases), attrs), [x])
    case .constant:
      _ = try constant(&b, randomType(symbols: symbols))
    case .guardTrue:
      let p = extras.contains(.trueGuards) ? try trueGuardPredicate(&b) : try boolScalar(&b)
      try emit(&b, .guardTrue(message: rng.pick(Self.messages)), [p])
    case .cond:
      guard depth < maxDepth else { throw ShapeError("nested deep enough") }
      try cond(&b)
    case .simplifiable:
      try simplifiable(&b)
    case .constantSubgraph:
      try constantSubgraph(&b)
    }
  }

  /// A cond yielding values of the types of up to two visible values (three with
  /// `Extras.conds`), each region computing some of its own.
  private mutating func cond(_ b: inout FunctionBuilder) throws(ShapeError) {
    let p = extras.contains(.conds) ? try condPredicate(&b) : try boolScalar(&b)
    let outer = visible
    let count = rng.int(extras.contains(.conds) ? 0...3 : 0...2)
    let resultTypes: [TensorType] = outer.isEmpty ? [] : (0..<count).map { _ in type(b, rng.pick(outer)) }
    // The closures run while `b` is borrowed by `cond`, so they work on the builder they are
    // given; they never throw, so each region is always closed.
    let results = try b.cond(
      p, resultTypes: resultTypes, loc: location(),
      then: { (inner: inout FunctionBuilder) throws(ShapeError) -> [Value] in
        self.region(&inner, yielding: resultTypes)
      },
      else: { (inner: inout FunctionBuilder) throws(ShapeError) -> [Value] in
        self.region(&inner, yielding: resultTypes)
      })
    used.insert(p)
    scopes[scopes.count - 1] += results
  }

  private mutating func region(_ b: inout FunctionBuilder, yielding types: [TensorType]) -> [Value] {
    scopes.append([])
    depth += 1
    defer {
      depth -= 1
      scopes.removeLast()
    }
    randomOps(&b, count: rng.int(0...4))
    var out: [Value] = []
    for t in types {
      var local = scopes[scopes.count - 1].filter { type(b, $0) == t }
      if !extras.isEmpty, local.contains(where: { !used.contains($0) }) { local.removeAll { used.contains($0) } }
      let all = visible.filter { type(b, $0) == t }
      var v = !local.isEmpty && rng.chance(0.7) ? rng.pick(local) : rng.pick(all)
      if rng.chance(0.4) {
        let u: UnaryOp = t.dtype == .bool ? .not : .neg
        if let r = try? b.add(.unary(u), v, loc: location()) { v = r }
      }
      out.append(v)
      used.insert(v)
    }
    return out
  }

  // MARK: - operands

  private var visible: [Value] { scopes.flatMap { $0 } }

  private func type(_ b: FunctionBuilder, _ v: Value) -> TensorType { b.type(of: v) ?? .scalar(.f32) }

  /// A visible value whose type satisfies `filter`.
  private mutating func pick(_ b: FunctionBuilder, _ filter: (TensorType) -> Bool) throws(ShapeError) -> Value {
    let fits = visible.filter { filter(type(b, $0)) }
    guard !fits.isEmpty else { throw ShapeError("no operand fits") }
    return rng.pick(fits)
  }

  @discardableResult
  private mutating func emit(_ b: inout FunctionBuilder, _ op: Op, _ operands: [Value]) throws(ShapeError) -> [Value] {
    let results = try b.emit(op, operands, loc: location())
    used.formUnion(operands)
    scopes[scopes.count - 1] += results
    return results
  }

  /// A value of `dtype` that broadcasts with `x`: `x` itself, a visible value, or a constant
  /// of a suffix of its shape with some dims set to 1.
  private mutating func partner(_ b: inout FunctionBuilder, for x: Value, dtype: DType) throws(ShapeError) -> Value {
    let t = type(b, x)
    let r = rng.int(0..<10)
    if r < 3 && t.dtype == dtype { return x }
    if r < 6 {
      let fits = visible.filter { v in
        let u = type(b, v)
        return u.dtype == dtype && (try? Op.broadcast([t, u])) != nil
      }
      if !fits.isEmpty { return rng.pick(fits) }
    }
    var shape = Array(t.shape.suffix(rng.int(0...t.rank)))
    for i in shape.indices where rng.chance(0.3) { shape[i] = 1 }
    if rng.chance(0.15) { shape.insert(.int(rng.int(1...3)), at: 0) }
    return try constant(&b, TensorType(dtype, shape))
  }

  /// A `bool[]` value: a visible one, a constant, or a comparison of a reduced value.
  private mutating func boolScalar(_ b: inout FunctionBuilder) throws(ShapeError) -> Value {
    let scalars = visible.filter { type(b, $0) == .scalar(.bool) }
    switch rng.int(0..<3) {
    case 0 where !scalars.isEmpty:
      return rng.pick(scalars)
    case 1:
      if let x = try? pick(b, { $0.dtype.isNumeric && !$0.shape.contains(.int(0)) }) {
        let t = type(b, x)
        let all = try emit(&b, .reduce(.max, axes: Array(0..<t.rank), keepDims: false), [x])[0]
        let zero = try constant(&b, .scalar(t.dtype))
        return try emit(&b, .compare(rng.pick([.gt, .le, .eq])), [all, zero])[0]
      }
      fallthrough
    default:
      return try constant(&b, .scalar(.bool))
    }
  }

  // MARK: - extras

  /// A cond's predicate: a constant, a comparison of two scalar constants, or one of
  /// `boolScalar`'s (a visible `bool[]`, a reduction compared with 0).
  private mutating func condPredicate(_ b: inout FunctionBuilder) throws(ShapeError) -> Value {
    switch rng.int(0..<3) {
    case 0:
      return try scalarConstant(&b, .bool, rng.chance(0.5))
    case 1:
      let dtype = rng.pick([DType.f32, .f32, .f64, .i32, .i64])
      let values: [Double] = [-1, 0, 0.5, 2, -0.0]
      let x = try scalarConstant(&b, dtype, rng.pick(values))
      let y = rng.chance(0.3) ? x : try scalarConstant(&b, dtype, rng.pick(values))
      return try emit(&b, .compare(rng.pick(CompareOp.allCases)), [x, y])[0]
    default:
      return try boolScalar(&b)
    }
  }

  /// A `bool[]` that is true whatever the inputs (see `Extras.trueGuards`).
  private mutating func trueGuardPredicate(_ b: inout FunctionBuilder) throws(ShapeError) -> Value {
    guard rng.chance(0.75), let x = try? pick(b, { _ in true }) else { return try scalarConstant(&b, .bool, true) }
    let t = type(b, x)
    let float = t.dtype.isFloat ? x : try emit(&b, .cast(to: .f64), [x])[0]
    let dtype = t.dtype.isFloat ? t.dtype : .f64
    let a = try emit(&b, .unary(.abs), [float])[0]
    // A sum of absolute values is >= 0, +inf or NaN (+0 over no elements).
    let s = try emit(&b, .reduce(.sum, axes: Array(0..<t.rank), keepDims: false), [a])[0]
    let minusOne = try scalarConstant(&b, dtype, -1)
    switch rng.int(0..<3) {
    case 0:
      let below = try emit(&b, .compare(.lt), [s, minusOne])[0]
      return try emit(&b, .unary(.not), [below])[0]
    case 1 where t.dtype.isFloat:
      let ge = try emit(&b, .compare(.ge), [s, minusOne])[0]
      let nan = try emit(&b, .compare(.ne), [s, s])[0]
      return try emit(&b, .binary(.or), rng.chance(0.5) ? [ge, nan] : [nan, ge])[0]
    default:
      // Only a float operand can make the sum NaN; then `s >= -1` could be false.
      if t.dtype.isFloat {
        let below = try emit(&b, .compare(.lt), [s, minusOne])[0]
        return try emit(&b, .unary(.not), [below])[0]
      }
      return try emit(&b, .compare(.ge), [s, minusOne])[0]
    }
  }

  /// One of the patterns of `Extras.simplifiable` applied to a visible value.
  private mutating func simplifiable(_ b: inout FunctionBuilder) throws(ShapeError) {
    // Often one of the latest values, which more often depend on the inputs.
    let recent = visible.suffix(4)
    let x = !recent.isEmpty && rng.chance(0.5) ? rng.pick(Array(recent)) : try pick(b) { _ in true }
    let t = type(b, x)
    let numeric = t.dtype.isNumeric
    switch rng.int(0..<16) {
    case 0 where numeric, 1 where numeric:
      // x*1 or 1*x; x/1.
      let one = try identityConstant(&b, like: t, 1)
      let op: BinaryOp = rng.chance(0.7) ? .mul : .div
      try emit(&b, .binary(op), op == .mul && rng.chance(0.5) ? [one, x] : [x, one])
    case 2 where numeric:
      // x + -0.0 (x + 0 for integers), either order.
      let zero = try identityConstant(&b, like: t, t.dtype.isFloat ? -0.0 : 0)
      try emit(&b, .binary(.add), rng.chance(0.5) ? [x, zero] : [zero, x])
    case 3 where numeric:
      let zero = try identityConstant(&b, like: t, 0)
      try emit(&b, .binary(.sub), [x, zero])
    case 4 where numeric:
      let n = try emit(&b, .unary(.neg), [x])[0]
      try emit(&b, .unary(.neg), [n])
    case 5:
      let r = try emit(&b, .reshape(shape: reshapeTarget(t)), [x])[0]
      try emit(&b, .reshape(shape: rng.chance(0.5) ? t.shape : reshapeTarget(t)), [r])
    case 6:
      var p = Array(0..<t.rank)
      rng.shuffle(&p)
      let r = try emit(&b, .permute(perm: p), [x])[0]
      var q = Array(0..<t.rank)
      if rng.chance(0.5) {
        for (i, pi) in p.enumerated() { q[pi] = i }  // the inverse: the pair is the identity
      } else {
        rng.shuffle(&q)
      }
      try emit(&b, .permute(perm: q), [r])
    case 7:
      try emit(&b, .expand(shape: t.shape), [x])
    case 8:
      try emit(&b, .slice(start: Array(repeating: 0, count: t.rank), end: t.shape, step: Array(repeating: 1, count: t.rank)), [x])
    case 9:
      try emit(&b, .cast(to: t.dtype), [x])
    case 10:
      let p = try identityConstant(&b, like: TensorType(.bool, t.shape), rng.chance(0.5) ? 1 : 0)
      let y = try partner(&b, for: x, dtype: t.dtype)
      try emit(&b, .select, rng.chance(0.5) ? [p, x, y] : [p, y, x])
    case 11 where numeric:
      try emit(&b, .binary(rng.pick([.max, .min])), [x, x])
    case 12 where t.dtype == .bool:
      try emit(&b, .binary(rng.pick([.and, .or])), [x, x])
    case 13 where numeric, 14 where numeric:
      // Near misses, which a simplifier must leave alone (or rewrite to something else):
      // x + 0.0 is not x for x = -0.0; x*0 is not 0 for inf, NaN or negative x; x - x and
      // x/x are not 0 and 1 for inf, NaN or 0; 0 - x is not neg(x) for x = 0; max(x, -inf)
      // is x but min(x, -inf) is not.
      let float = t.dtype.isFloat
      switch rng.int(0..<6) {
      case 0 where float:
        let zero = try identityConstant(&b, like: t, 0)
        try emit(&b, .binary(.add), rng.chance(0.5) ? [x, zero] : [zero, x])
      case 1:
        let zero = try identityConstant(&b, like: t, 0)
        try emit(&b, .binary(.mul), rng.chance(0.5) ? [x, zero] : [zero, x])
      case 2:
        try emit(&b, .binary(rng.pick([.sub, .div])), [x, x])
      case 3:
        let zero = try identityConstant(&b, like: t, 0)
        try emit(&b, .binary(.sub), [zero, x])
      case 4 where float:
        let inf = try identityConstant(&b, like: t, -.infinity)
        try emit(&b, .binary(rng.pick([.max, .min])), [x, inf])
      default:
        let minusOne = try identityConstant(&b, like: t, -1)
        try emit(&b, .binary(.mul), [x, minusOne])
      }
    default:
      // Two rewrites in a row: neg(neg(x*1)) or a cast of a full slice.
      if numeric {
        let one = try identityConstant(&b, like: t, 1)
        let m = try emit(&b, .binary(.mul), [x, one])[0]
        let n = try emit(&b, .unary(.neg), [m])[0]
        try emit(&b, .unary(.neg), [n])
      } else {
        let s = try emit(&b, .slice(start: Array(repeating: 0, count: t.rank), end: t.shape, step: Array(repeating: 1, count: t.rank)), [x])[0]
        try emit(&b, .cast(to: t.dtype), [s])
      }
    }
  }

  /// `block` with some runs of adjacent instructions wrapped into `fused` ops (see
  /// `Extras.fused`), cond regions first; uses of the wrapped values after a run, nested
  /// regions and the terminator included, read the fused op's results.
  private mutating func wrapRunsInFused(_ block: Block, _ f: inout Function) -> Block {
    var insts = block.instructions
    for k in insts.indices where !insts[k].regions.isEmpty {
      insts[k].regions = insts[k].regions.map { wrapRunsInFused($0, &f) }
    }
    func wrappable(_ i: Instruction) -> Bool { i.regions.isEmpty && !i.op.hasSideEffects }
    func uses(_ b: Block, into set: inout Set<Value>) {
      for i in b.instructions {
        set.formUnion(i.operands)
        for r in i.regions { uses(r, into: &set) }
      }
      set.formUnion(b.terminator)
    }
    var replace: [Value: Value] = [:]
    func renamed(_ b: Block) -> Block {
      var out = b
      for k in out.instructions.indices {
        out.instructions[k].operands = out.instructions[k].operands.map { replace[$0] ?? $0 }
        out.instructions[k].regions = out.instructions[k].regions.map(renamed)
      }
      out.terminator = out.terminator.map { replace[$0] ?? $0 }
      return out
    }
    var out: [Instruction] = []
    var k = 0
    while k < insts.count {
      guard wrappable(insts[k]), rng.chance(0.2) else {
        out.append(renamed(Block(instructions: [insts[k]])).instructions[0])
        k += 1
        continue
      }
      let length = rng.int(1...4)
      var end = k + 1
      while end < insts.count && end - k < length && wrappable(insts[end]) { end += 1 }
      var later: Set<Value> = []
      uses(Block(instructions: Array(insts[end...]), terminator: block.terminator), into: &later)
      var body = renamed(Block(instructions: Array(insts[k..<end])))
      var yields = body.instructions.flatMap(\.results).filter(later.contains)
      if yields.isEmpty { yields = body.instructions[body.instructions.count - 1].results }
      body.terminator = yields
      var fused = Instruction(op: .fused, operands: [], results: [], regions: [body], loc: location())
      fused.recomputeFusedOperands()
      fused.results = yields.map { f.newValue(f.type(of: $0)) }
      for (y, r) in zip(yields, fused.results) { replace[y] = r }
      out.append(fused)
      k = end
    }
    var result = block
    result.instructions = out
    result.terminator = block.terminator.map { replace[$0] ?? $0 }
    return result
  }

  /// A constant holding `value` everywhere that an op with a value of type `t` leaves it as it
  /// is: usually a scalar, sometimes of `t`'s shape, sometimes of a larger shape (so the op
  /// broadcasts and a rewrite to the operand alone would be wrong).
  private mutating func identityConstant(_ b: inout FunctionBuilder, like t: TensorType, _ value: Double) throws(ShapeError) -> Value {
    var shape: [Dim] = []
    switch rng.int(0..<5) {
    case 0, 1: shape = []
    case 2, 3: shape = t.shape
    default: shape = [.int(rng.int(2...3))] + t.shape.map { _ in Dim.int(1) }
    }
    return try splat(&b, TensorType(t.dtype, shape), value)
  }

  /// A `const` of type `t` holding `value` (a bool is `value != 0`) in every element.
  private mutating func splat(_ b: inout FunctionBuilder, _ t: TensorType, _ value: Double) throws(ShapeError) -> Value {
    let data: ConstantData
    switch t.dtype {
    case .f32, .f64: data = .floats([value])
    case .i32, .i64: data = .ints([Int64(value)])
    case .bool: data = .bools([value != 0])
    }
    return try emit(&b, .constant(Constant(type: t, data: data)), [])[0]
  }

  private mutating func scalarConstant(_ b: inout FunctionBuilder, _ dtype: DType, _ value: Double) throws(ShapeError) -> Value {
    try splat(&b, .scalar(dtype), value)
  }

  private mutating func scalarConstant(_ b: inout FunctionBuilder, _ dtype: DType, _ value: Bool) throws(ShapeError) -> Value {
    try splat(&b, .scalar(dtype), value ? 1 : 0)
  }

  /// An op or two on constants only (see `Extras.constantSubgraphs`).
  private mutating func constantSubgraph(_ b: inout FunctionBuilder) throws(ShapeError) {
    let dtype = rng.pick([DType.f32, .f32, .f64, .i32, .i64, .bool])
    let shape: [Dim] = rng.pick([[], [], [3], [2, 3]]).map { Dim.int($0) }
    let t = TensorType(dtype, shape)
    var v = try constant(&b, t)
    for _ in 0..<rng.int(1...2) {
      let u = type(b, v)
      switch rng.int(0..<6) {
      case 0:
        let ops = UnaryOp.allCases.filter { $0.accepts(u.dtype) }
        v = try emit(&b, .unary(rng.pick(ops)), [v])[0]
      case 1, 2:
        let ops = BinaryOp.allCases.filter { $0.accepts(u.dtype) }
        let w = try constant(&b, TensorType(u.dtype, rng.chance(0.5) ? u.shape : []))
        v = try emit(&b, .binary(rng.pick(ops)), rng.chance(0.5) ? [v, w] : [w, v])[0]
      case 3:
        let ops = CompareOp.allCases.filter { $0.accepts(u.dtype) }
        let w = try constant(&b, TensorType(u.dtype, u.shape))
        v = try emit(&b, .compare(rng.pick(ops)), [v, w])[0]
      case 4:
        v = try emit(&b, .cast(to: rng.pick(DType.allCases)), [v])[0]
      default:
        if u.dtype == .bool {
          let w = try constant(&b, TensorType(.f32, u.shape))
          let z = try constant(&b, TensorType(.f32, []))
          v = try emit(&b, .select, [v, w, z])[0]
        } else {
          let axes = (0..<u.rank).filter { _ in rng.chance(0.6) }
          v = try emit(&b, .reduce(rng.pick(ReduceOp.allCases), axes: axes, keepDims: rng.chance(0.3)), [v])[0]
        }
      }
    }
  }

  // MARK: - types, attributes, constants

  private mutating func randomDim(symbols: [String]) -> Dim {
    if !symbols.isEmpty && rng.chance(0.2) { return .sym(rng.pick(symbols)) }
    if rng.chance(0.03) { return 0 }
    return .int(rng.int(1...5))
  }

  private mutating func randomType(symbols: [String]) -> TensorType {
    let dtype = rng.pick([DType.f32, .f32, .f32, .f32, .f64, .i32, .i32, .i64, .bool, .bool])
    let rank = rng.pick([0, 1, 1, 2, 2, 2, 3, 4, 4])
    return TensorType(dtype, (0..<rank).map { _ in randomDim(symbols: symbols) })
  }

  /// A shape with the same element count as `t`: its symbols and a factorization of its
  /// static part, shuffled, with some 1s.
  private mutating func reshapeTarget(_ t: TensorType) -> [Dim] {
    var rest = t.staticShape.map { $0.reduce(1, *) } ?? t.shape.compactMap(\.value).reduce(1, *)
    var dims: [Dim] = t.shape.filter { $0.value == nil }
    for _ in 0..<rng.int(0...2) where rest > 1 {
      let divisors = (2...rest).filter { rest % $0 == 0 }
      let d = rng.pick(divisors)
      dims.append(.int(d))
      rest /= d
    }
    if rest != 1 || rng.chance(0.3) { dims.append(.int(rest)) }
    for _ in 0..<rng.int(0...1) { dims.append(1) }
    rng.shuffle(&dims)
    return dims
  }

  private mutating func padValue(_ dtype: DType) -> ScalarValue {
    if dtype.isFloat {
      let values: [ScalarValue] =
        specialFloats ? [0, 0.0, 1.5, -2, -0.0, .float(.infinity), .float(-.infinity), .float(.nan)] : [0, 0.0, 1.5, -2]
      return rng.pick(values)
    }
    if dtype == .bool { return rng.pick([false, 1]) }
    // 2^53 + 1 is not a Double: an i64 pad value must reach the result exactly.
    return rng.pick(dtype == .i64 ? [0, 0.0, 1, -9_007_199_254_740_993] : [0, 0.0, 1, -3])
  }


  /// A constant of type `t`: a splat, or every element when the shape is static and small.
  private mutating func constant(_ b: inout FunctionBuilder, _ t: TensorType) throws(ShapeError) -> Value {
    let count = t.staticShape.flatMap { ShapeMath.elementCount($0) }
    let n = count.map { $0 <= 24 && rng.chance(0.5) ? $0 : 1 } ?? 1
    let data: ConstantData
    switch t.dtype {
    case .f32: data = .floats((0..<n).map { _ in Double(randomFloat()) })
    case .f64: data = .floats((0..<n).map { _ in randomDouble() })
    case .i32: data = .ints((0..<n).map { _ in Int64(rng.pick([0, 1, -1, 7, Int32.min, Int32.max, Int32(rng.int(-1000...1000))])) })
    case .i64: data = .ints((0..<n).map { _ in rng.pick([0, 1, -1, Int64.min, Int64.max, Int64(bitPattern: rng.next())]) })
    case .bool: data = .bools((0..<n).map { _ in rng.chance(0.5) })
    }
    return try emit(&b, .constant(Constant(type: t, data: data)), [])[0]
  }

  private mutating func randomFloat() -> Float {
    var values: [Float] = [0, 1, -1, 0.5, -2.25, 3.1415927, 1e-3, Float.greatestFiniteMagnitude, -Float.leastNonzeroMagnitude]
    if specialFloats { values += [-0.0, .infinity, -.infinity, .nan, -.nan] }
    if rng.chance(0.4) {
      let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
      if f.isFinite || (specialFloats && f.isInfinite) { return f }
      return specialFloats ? (f.sign == .minus ? -.nan : .nan) : 0
    }
    return rng.pick(values)
  }

  private mutating func randomDouble() -> Double {
    var values: [Double] = [0, 1, -1, 0.1, -2.5e-300, 1e300, Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude]
    if specialFloats { values += [-0.0, .infinity, -.infinity, .nan, -.nan] }
    if rng.chance(0.4) {
      let d = Double(bitPattern: rng.next())
      if d.isFinite || (specialFloats && d.isInfinite) { return d }
      return specialFloats ? (d.sign == .minus ? -.nan : .nan) : 0
    }
    return rng.pick(values)
  }

  private static let files = [
    "model.swift", "Sources/Net/Layer.swift", "we\"ird\\path.swift", "tab\there.swift", "ünïcödé ✓.swift", "",
  ]
  private static let messages = [
    "", "x must be positive", "quote \" and backslash \\", "newline\nand tab\t", "unicode ✓ 😀", "control \u{1}\u{7F}",
  ]

  private mutating func location() -> Location? {
    guard rng.chance(0.3) else { return nil }
    return Location(
      file: rng.pick(Self.files), line: rng.int(1...5000), column: rng.chance(0.5) ? rng.int(1...120) : nil)
  }
}
