// The f32 transcendental functions (exp, log, tanh, sigmoid, sin, cos, erf), each written once
// as straight-line code over `MathEmitter`'s primitive operations. The interpreter runs them on
// Swift's Float and Double (`ScalarMath`, below); the code generator runs them on LLVM
// values (NNCCodegen's `MathLowering`), so interpreted and compiled results agree bit for bit.
// Every primitive is an IEEE 754 operation with one rounding (fma included) or exact integer
// arithmetic, and there are no branches, calls or loops: a loop of any of them vectorizes.
//
// Methods (errors measured over all specials and a sweep of the float range; docs/swiftgraph.md,
// "Accuracy of unary functions"):
// - exp: Cody–Waite reduction x = k ln2 + r (fma), Cephes' degree-7 polynomial, 2^k applied
//   as two exact powers of two so subnormal results round once (or by `vscalefps`, which
//   rounds once too: `MathEmitter.scale`).
// - log: x = 2^k m with m in [sqrt(1/2), sqrt(2)), fdlibm's log1p(f) = f - (hfsq - s (hfsq + R))
//   with s = f / (2 + f) and a degree-4 polynomial R in s^2; subnormals scaled by 2^25 first.
// - tanh: an odd degree-11 polynomial (Cephes) for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) above.
// - sigmoid: (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|): never overflows.
// - sin, cos: in f64, rounded once to f32. |x| < 120: x - n pi/2 with pi/2 in two doubles (fma);
//   larger: Payne–Hanek, x * 2/pi mod 4 in 64-bit fixed point from a 192-bit table of 2/pi (the
//   method of ARM's optimized-routines sinf), looked up with selects. Taylor polynomials of
//   degree 13 (sin) and 14 (cos) on |r| <= pi/4.
// - erf: in f64, rounded once to f32: |x| < 1: x P(x^2), degree 9 in x^2; 1 <= |x| < 4: a
//   degree-22 polynomial in |x| - 2.5 (least-squares fits to erf, absolute error < 1e-13); ±1
//   from 4 on.

/// The primitive operations the shared approximations are written in, on f32 (`F`), f64 (`D`),
/// i32 (`I`), i64 (`L`) and boolean (`B`) values of one width (scalars, or vectors of one lane
/// count). Every float operation rounds once to nearest even; integer operations wrap; shift
/// amounts are below the width. There is no float-to-integer conversion (LLVM's `fptosi` is
/// poison out of range): the approximations round to an integer by adding 1.5 * 2^23 (2^52)
/// and read it from the sum's low bits.
public protocol MathEmitter {
  associatedtype F
  associatedtype D
  associatedtype I
  associatedtype L
  associatedtype B

  func f(_ v: Float) -> F
  func d(_ v: Double) -> D
  func i(_ v: Int32) -> I
  func l(_ v: Int64) -> L

  func add(_ a: F, _ b: F) -> F
  func sub(_ a: F, _ b: F) -> F
  func mul(_ a: F, _ b: F) -> F
  func div(_ a: F, _ b: F) -> F
  /// `a * b + c` with one rounding.
  func fma(_ a: F, _ b: F, _ c: F) -> F
  func abs(_ a: F) -> F
  /// Ordered comparisons: false when either operand is NaN.
  func lt(_ a: F, _ b: F) -> B
  func le(_ a: F, _ b: F) -> B
  func eq(_ a: F, _ b: F) -> B
  func isNaN(_ a: F) -> B
  func select(_ c: B, _ a: F, _ b: F) -> F
  func bits(_ a: F) -> I
  func float(bits a: I) -> F
  /// Signed integer to f32 (exact for the small integers used here).
  func float(_ a: I) -> F
  func widen(_ a: F) -> D
  /// f64 to f32, rounded once.
  func narrow(_ a: D) -> F

  func add(_ a: D, _ b: D) -> D
  func sub(_ a: D, _ b: D) -> D
  func mul(_ a: D, _ b: D) -> D
  func fma(_ a: D, _ b: D, _ c: D) -> D
  func neg(_ a: D) -> D
  func select(_ c: B, _ a: D, _ b: D) -> D
  func bits(_ a: D) -> L
  /// Signed integer to f64, rounded once.
  func double(_ a: L) -> D

  func add(_ a: I, _ b: I) -> I
  func sub(_ a: I, _ b: I) -> I
  func and(_ a: I, _ b: I) -> I
  func or(_ a: I, _ b: I) -> I
  func xor(_ a: I, _ b: I) -> I
  func shl(_ a: I, _ n: I) -> I
  /// Arithmetic (sign-filling) and logical right shifts.
  func ashr(_ a: I, _ n: I) -> I
  func lshr(_ a: I, _ n: I) -> I
  func eq(_ a: I, _ b: I) -> B
  func select(_ c: B, _ a: I, _ b: I) -> I
  /// Zero extension and truncation between i32 and i64.
  func zext(_ a: I) -> L
  func trunc(_ a: L) -> I

  func add(_ a: L, _ b: L) -> L
  func sub(_ a: L, _ b: L) -> L
  func mul(_ a: L, _ b: L) -> L
  func shl(_ a: L, _ n: L) -> L
  func lshr(_ a: L, _ n: L) -> L
  func select(_ c: B, _ a: L, _ b: L) -> L

  func and(_ a: B, _ b: B) -> B
  func or(_ a: B, _ b: B) -> B
  func not(_ a: B) -> B

  /// `y * 2^k` rounded once (also into the subnormals), for `y` in [0.5, 2) or NaN and `k` an
  /// integer in [-150, 128] or NaN, as one operation where the emitter has one (AVX-512's
  /// `vscalefps`); nil where it has none, and the approximations compute the same value from
  /// the other primitives.
  func scale(_ y: F, byPowerOfTwo k: F) -> F?
}

extension MathEmitter {
  public func scale(_ y: F, byPowerOfTwo k: F) -> F? { nil }
}

/// The shared f32 approximations (see the file comment for each method).
public enum VectorMath {
  /// The unary ops computed here for f32; the others are IEEE operations or libm's (f64).
  public static func computes(_ op: UnaryOp) -> Bool {
    switch op {
    case .exp, .log, .tanh, .sigmoid, .sin, .cos, .erf: return true
    case .neg, .abs, .sqrt, .rsqrt, .floor, .ceil, .not: return false
    }
  }

  /// `op` of `x` for the ops `computes(op)` names; nil for the others.
  public static func unary<M: MathEmitter>(_ op: UnaryOp, _ m: M, _ x: M.F) -> M.F? {
    switch op {
    case .exp: return exp(m, x)
    case .log: return log(m, x)
    case .tanh: return tanh(m, x)
    case .sigmoid: return sigmoid(m, x)
    case .sin: return sinCos(m, x, cosine: false)
    case .cos: return sinCos(m, x, cosine: true)
    case .erf: return erf(m, x)
    case .neg, .abs, .sqrt, .rsqrt, .floor, .ceil, .not: return nil
    }
  }

  // Polynomial coefficients, highest degree first.
  /// e^r = 1 + r + r^2 P(r) on |r| <= ln2/2 (Cephes expf).
  static let expP: [Float] = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]
  /// tanh x = x + x^3 P(x^2) on |x| < 0.625 (Cephes tanhf).
  static let tanhP: [Float] = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]
  /// sin r = r + r^3 P(r^2), cos r = 1 + r^2 Q(r^2): Taylor coefficients.
  static let sinP: [Double] = [1 / 6227020800, -1 / 39916800, 1 / 362880, -1 / 5040, 1 / 120, -1 / 6]
  static let cosP: [Double] = [-1 / 87178291200, 1 / 479001600, -1 / 3628800, 1 / 40320, -1 / 720, 1 / 24, -1 / 2]
  /// erf x = x P(x^2) on |x| < 1.
  static let erfInnerP: [Double] = [
    -0x1.c3e563e23565ap-24, 0x1.9b86ff5025382p-20, -0x1.f09896f9f2624p-17, 0x1.f94706f104ee4p-14,
    -0x1.c028d50ee5ec4p-11, 0x1.565ba50c46b30p-8, -0x1.b82ce19cef05fp-6, 0x1.ce2f219981555p-4,
    -0x1.812746b02c467p-2, 0x1.20dd750429b4ep+0,
  ]
  /// erf x = P(x - 2.5) on [1, 4).
  static let erfOuterP: [Double] = [
    -0x1.56d43f73eaed9p-35, -0x1.db27b480586f2p-33, 0x1.a71b5ccc7ef0bp-30, 0x1.23bf4d99c7a9fp-29,
    -0x1.ab92603a9644dp-26, 0x1.af344e40a04bfp-26, 0x1.8592ee70c763bp-23, -0x1.5fa8c676105dfp-21,
    0x1.7f5c4454d222dp-23, 0x1.3bfce8890d293p-18, -0x1.d85c8c705eb92p-17, 0x1.57bce190e548fp-18,
    0x1.4a82a820c03d8p-14, -0x1.066f4a55ba236p-12, 0x1.1155459aef620p-12, 0x1.1c60ae90efeefp-11,
    -0x1.6ecdc08719f16p-9, 0x1.90e814ae8322fp-8, -0x1.1a89b97478b8dp-7, 0x1.119da0ac9a256p-7,
    -0x1.64e3dcd47731ap-8, 0x1.1d8317122b6cbp-9, 0x1.ffcaa8f4c9c1cp-1,
  ]

  /// `a` with the sign bit of `x` (`a` is +0, positive or NaN).
  static func withSign<M: MathEmitter>(_ m: M, _ a: M.F, of x: M.F) -> M.F {
    m.float(bits: m.or(m.bits(a), m.and(m.bits(x), m.i(Int32(bitPattern: 0x8000_0000)))))
  }

  static func horner<M: MathEmitter>(_ m: M, _ x: M.F, _ c: [Float]) -> M.F {
    var p = m.f(c[0])
    for k in c.dropFirst() { p = m.fma(p, x, m.f(k)) }
    return p
  }

  static func horner<M: MathEmitter>(_ m: M, _ x: M.D, _ c: [Double]) -> M.D {
    var p = m.d(c[0])
    for k in c.dropFirst() { p = m.fma(p, x, m.d(k)) }
    return p
  }

  /// e^x. Max error 1 ulp; +inf from 88.72283935546875 (the first float whose e^x rounds past
  /// the largest float), +0 below -103.97208.
  public static func exp<M: MathEmitter>(_ m: M, _ x: M.F) -> M.F { exp(m, x, .all) }

  /// What is known of an exp argument besides that it may be NaN: it lets the computation skip
  /// a clamp, and where no result is subnormal or infinite, scale by 2^k in one step.
  enum ExpDomain {
    /// Any float.
    case all
    /// At most 0 (sigmoid's e^-|x|): the results are in [0, 1].
    case nonPositive
    /// At least 0, and only results up to e^80 matter (tanh's e^2|x|: from 2|x| = 80 on,
    /// 1 - 2 / (e + 1) is 1 whatever e is): the argument is clamped to 80, so every result is
    /// a normal float.
    case nonNegativeTo80
  }

  /// e^x for x in `domain` (or NaN); each domain's results equal `exp`'s where `exp`'s are used.
  static func exp<M: MathEmitter>(_ m: M, _ x: M.F, _ domain: ExpDomain) -> M.F {
    // Clamped so that k stays in [-150, 128]: below -104 the result is +0, above 88.75 +inf,
    // both of which the computation reaches by itself there. NaN passes the selects (and
    // every operation after them: NaN in gives NaN out, of an unspecified payload).
    var xc = x
    if domain != .nonNegativeTo80 { xc = m.select(m.lt(xc, m.f(-104)), m.f(-104), xc) }
    switch domain {
    case .all: xc = m.select(m.lt(m.f(88.75), xc), m.f(88.75), xc)
    case .nonPositive: break
    case .nonNegativeTo80: xc = m.select(m.lt(m.f(80), xc), m.f(80), xc)
    }
    // k = rint(x / ln2): adding 1.5 * 2^23 rounds to an integer, which the low bits then hold.
    let shifter: Float = 0x1.8p23
    let t = m.fma(xc, m.f(0x1.715476p+0), m.f(shifter))
    let kf = m.sub(t, m.f(shifter))
    // r = x - k ln2, exactly for the first term (k ln2hi and x share the grid of 2^-25 and
    // |r| < 0.35).
    var r = m.fma(kf, m.f(-0x1.62e43p-1), xc)
    r = m.fma(kf, m.f(0x1.05c61p-29), r)
    // e^r = 1 + r + r^2 P(r) on |r| <= ln2/2 (Cephes expf).
    let p = horner(m, r, expP)
    let y = m.add(m.fma(p, m.mul(r, r), r), m.f(1))
    // y 2^k, rounded once. y is in [0.7, 1.42] (NaN for a NaN argument).
    if let native = m.scale(y, byPowerOfTwo: kf) { return native }
    let k = m.sub(m.bits(t), m.i(Int32(bitPattern: shifter.bitPattern)))
    if domain == .nonNegativeTo80 {
      // k in [0, 116]: 2^k and the product are normal floats.
      return m.mul(y, m.float(bits: m.shl(m.add(k, m.i(127)), m.i(23))))
    }
    // As (y 2^k1) 2^k2: the first product is exact, the second rounds once (also into the
    // subnormals), and both powers are normal floats. (Products, not integer adds into y's
    // exponent field, so that a NaN stays NaN.)
    let k1 = m.ashr(k, m.i(1))
    let k2 = m.sub(k, k1)
    let s1 = m.float(bits: m.shl(m.add(k1, m.i(127)), m.i(23)))
    let s2 = m.float(bits: m.shl(m.add(k2, m.i(127)), m.i(23)))
    return m.mul(m.mul(y, s1), s2)
  }

  /// The natural logarithm. Max error 1 ulp.
  public static func log<M: MathEmitter>(_ m: M, _ x: M.F) -> M.F {
    // Subnormals (and zero and negatives, whose results are replaced below) scaled by 2^25.
    let tiny = m.lt(x, m.f(0x1p-126))
    let xs = m.select(tiny, m.mul(x, m.f(0x1p25)), x)
    // x = 2^k m with m in [sqrt(1/2), sqrt(2)): shift the exponent field so the mantissa range
    // starts at sqrt(1/2) (0x3f3504f3).
    let ix = m.add(m.bits(xs), m.i(0x3f80_0000 - 0x3f35_04f3))
    var k = m.sub(m.ashr(ix, m.i(23)), m.i(127))
    k = m.select(tiny, m.sub(k, m.i(25)), k)
    let f = m.sub(m.float(bits: m.add(m.and(ix, m.i(0x007f_ffff)), m.i(0x3f35_04f3))), m.f(1))
    let dk = m.float(k)
    // log(1 + f) = 2 atanh(s), s = f / (2 + f) (fdlibm's logf).
    let s = m.div(f, m.add(m.f(2), f))
    let z = m.mul(s, s)
    let w = m.mul(z, z)
    let t1 = m.mul(w, m.fma(w, m.f(0xf89e26p-26), m.f(0xccce13p-25)))
    let t2 = m.mul(z, m.fma(w, m.f(0x91e9eep-25), m.f(0xaaaaaap-24)))
    let hfsq = m.mul(m.mul(m.f(0.5), f), f)
    let inner = m.fma(s, m.add(hfsq, m.add(t2, t1)), m.mul(dk, m.f(9.0580006145e-06)))
    // ln2hi has 17 significant bits: dk ln2hi is exact.
    var r = m.sub(m.mul(dk, m.f(6.9313812256e-01)), m.sub(m.sub(hfsq, inner), f))
    r = m.select(m.eq(x, m.f(0)), m.f(-.infinity), r)
    r = m.select(m.lt(x, m.f(0)), m.f(.nan), r)
    r = m.select(m.eq(x, m.f(.infinity)), x, r)
    return m.select(m.isNaN(x), x, r)
  }

  /// The hyperbolic tangent, odd (tanh(-0) = -0), ±1 from |x| >= 9.0109.
  public static func tanh<M: MathEmitter>(_ m: M, _ x: M.F) -> M.F {
    let a = m.abs(x)
    let z = m.mul(a, a)
    let p = horner(m, z, tanhP)
    let small = m.fma(m.mul(p, z), a, a)
    // 1 - 2 / (e^2a + 1): e^2a = +inf (a > 44) gives 1, NaN gives NaN.
    let e = exp(m, m.add(a, a), .nonNegativeTo80)
    let large = m.sub(m.f(1), m.div(m.f(2), m.add(e, m.f(1))))
    return withSign(m, m.select(m.lt(a, m.f(0.625)), small, large), of: x)
  }

  /// The logistic function, 1 / (1 + e^-x), as (x >= 0 ? 1 : e) / (1 + e) with e = e^-|x|: no
  /// overflow, and subnormal results for x < -87.3 (1 / (1 + e^-x) would give 0 there).
  public static func sigmoid<M: MathEmitter>(_ m: M, _ x: M.F) -> M.F {
    let e = exp(m, m.sub(m.f(-0.0), m.abs(x)), .nonPositive)
    return m.div(m.select(m.le(m.f(0), x), m.f(1), e), m.add(m.f(1), e))
  }

  /// 2/pi in 32-bit windows: entry i is floor(2/pi * 2^(8(i+1))) mod 2^32.
  static let twoOverPi: [UInt32] = [
    0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
    0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1, 0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
    0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
  ]

  /// `table[table.startIndex + index]` for `index` in 0..<table.count (a power of two), as a
  /// tree of selects on the index's bits (which vectorizes, where a load per lane would need a
  /// gather).
  static func lookup<M: MathEmitter>(_ m: M, _ table: ArraySlice<UInt32>, _ index: M.I) -> M.I {
    if table.count == 1 { return m.i(Int32(bitPattern: table[table.startIndex])) }
    let half = table.count / 2
    let low = m.eq(m.and(index, m.i(Int32(half))), m.i(0))
    let mid = table.startIndex + half
    return m.select(low, lookup(m, table[..<mid], index), lookup(m, table[mid...], index))
  }

  /// sin x, or cos x when `cosine`: reduced to r = x - n pi/2 in f64, a polynomial of r by
  /// n mod 4, rounded once to f32.
  public static func sinCos<M: MathEmitter>(_ m: M, _ x: M.F, cosine: Bool) -> M.F {
    let a = m.abs(x)
    let isSmall = m.lt(a, m.f(120))
    // |x| < 120: n = rint(x 2/pi) (adding 1.5 * 2^52 rounds), r = x - n pi/2.
    let ad = m.select(isSmall, m.widen(a), m.d(0))
    let shifter: Double = 0x1.8p52
    let t = m.fma(ad, m.d(0x1.45f306dc9c883p-1), m.d(shifter))
    let nf = m.sub(t, m.d(shifter))
    let nSmall = m.trunc(m.sub(m.bits(t), m.l(Int64(bitPattern: shifter.bitPattern))))
    let rSmall = m.fma(nf, m.d(-0x1.1a62633145c07p-54), m.fma(nf, m.d(-0x1.921fb54442d18p+0), ad))
    // |x| >= 120 (exponent field E >= 133): x = M 2^(E-150) with M the 24-bit significand.
    // x 2/pi 2^62 mod 2^64 = (M << (E & 7)) * (the 96 bits of 2/pi 2^(8(E >> 3) - 88) around
    // the binary point, three table windows), keeping the product's bits 2^0 to 2^63: the top
    // two bits are n mod 4, the rest r / (pi/2) in 62-bit fixed point.
    let xi = m.bits(a)
    let q = m.and(m.lshr(xi, m.i(26)), m.i(15))
    let significand = m.or(m.and(xi, m.i(0x007f_ffff)), m.i(0x0080_0000))
    let mant = m.zext(m.shl(significand, m.and(m.lshr(xi, m.i(23)), m.i(7))))
    let w0 = m.zext(lookup(m, twoOverPi[0..<16], q))
    let w1 = m.zext(lookup(m, twoOverPi[4..<20], q))
    let w2 = m.zext(lookup(m, twoOverPi[8..<24], q))
    let high = m.shl(m.mul(mant, w0), m.l(32))
    let low = m.lshr(m.mul(mant, w2), m.l(32))
    let fixed = m.add(m.add(high, low), m.mul(mant, w1))
    let nLarge = m.lshr(m.add(fixed, m.l(1 << 61)), m.l(62))
    let rest = m.sub(fixed, m.shl(nLarge, m.l(62)))  // in [-2^61, 2^61) as a signed integer
    let rLarge = m.mul(m.double(rest), m.d(0x1.921fb54442d18p-62))

    let r = m.select(isSmall, rSmall, rLarge)
    var n = m.select(isSmall, nSmall, m.trunc(nLarge))
    if cosine { n = m.add(n, m.i(1)) }
    let r2 = m.mul(r, r)
    let sinR = m.fma(
      m.mul(r, r2),
      horner(m, r2, sinP), r)
    let cosR = m.fma(
      r2, horner(m, r2, cosP), m.d(1))
    let odd = m.not(m.eq(m.and(n, m.i(1)), m.i(0)))
    let negative = m.not(m.eq(m.and(n, m.i(2)), m.i(0)))
    var y = m.select(odd, cosR, sinR)
    y = m.select(negative, m.neg(y), y)
    var result = m.narrow(y)
    // sin is odd (computed on |x|; sin(-0) = -0); ±inf and NaN give NaN.
    if !cosine { result = m.float(bits: m.xor(m.bits(result), m.and(m.bits(x), m.i(Int32(bitPattern: 0x8000_0000))))) }
    return m.select(m.lt(a, m.f(.infinity)), result, m.f(.nan))
  }

  /// The error function, odd (erf(-0) = -0), ±1 from |x| >= 3.9192.
  public static func erf<M: MathEmitter>(_ m: M, _ x: M.F) -> M.F {
    let absX = m.abs(x)
    let a = m.widen(absX)
    let inner = m.mul(a, horner(m, m.mul(a, a), erfInnerP))
    let outer = horner(m, m.sub(a, m.d(2.5)), erfOuterP)
    var y = m.narrow(m.select(m.lt(absX, m.f(1)), inner, outer))
    y = m.select(m.le(m.f(4), absX), m.f(1), y)
    return m.select(m.isNaN(x), x, withSign(m, y, of: x))
  }
}

/// `MathEmitter` on Swift's scalars, as the interpreter runs the approximations: each primitive
/// is the IEEE operation the lowering emits (`addingProduct` is the fused multiply-add; Swift
/// neither contracts nor reassociates float arithmetic), so the interpreter's results equal the
/// compiled code's bit for bit.
public struct ScalarMath: MathEmitter {
  public init() {}

  public func f(_ v: Float) -> Float { v }
  public func d(_ v: Double) -> Double { v }
  public func i(_ v: Int32) -> Int32 { v }
  public func l(_ v: Int64) -> Int64 { v }

  public func add(_ a: Float, _ b: Float) -> Float { a + b }
  public func sub(_ a: Float, _ b: Float) -> Float { a - b }
  public func mul(_ a: Float, _ b: Float) -> Float { a * b }
  public func div(_ a: Float, _ b: Float) -> Float { a / b }
  public func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }
  public func abs(_ a: Float) -> Float { a.magnitude }
  public func lt(_ a: Float, _ b: Float) -> Bool { a < b }
  public func le(_ a: Float, _ b: Float) -> Bool { a <= b }
  public func eq(_ a: Float, _ b: Float) -> Bool { a == b }
  public func isNaN(_ a: Float) -> Bool { a.isNaN }
  public func select(_ c: Bool, _ a: Float, _ b: Float) -> Float { c ? a : b }
  public func bits(_ a: Float) -> Int32 { Int32(bitPattern: a.bitPattern) }
  public func float(bits a: Int32) -> Float { Float(bitPattern: UInt32(bitPattern: a)) }
  public func float(_ a: Int32) -> Float { Float(a) }
  public func widen(_ a: Float) -> Double { Double(a) }
  public func narrow(_ a: Double) -> Float { Float(a) }

  public func add(_ a: Double, _ b: Double) -> Double { a + b }
  public func sub(_ a: Double, _ b: Double) -> Double { a - b }
  public func mul(_ a: Double, _ b: Double) -> Double { a * b }
  public func fma(_ a: Double, _ b: Double, _ c: Double) -> Double { c.addingProduct(a, b) }
  public func neg(_ a: Double) -> Double { -a }
  public func select(_ c: Bool, _ a: Double, _ b: Double) -> Double { c ? a : b }
  public func bits(_ a: Double) -> Int64 { Int64(bitPattern: a.bitPattern) }
  public func double(_ a: Int64) -> Double { Double(a) }

  public func add(_ a: Int32, _ b: Int32) -> Int32 { a &+ b }
  public func sub(_ a: Int32, _ b: Int32) -> Int32 { a &- b }
  public func and(_ a: Int32, _ b: Int32) -> Int32 { a & b }
  public func or(_ a: Int32, _ b: Int32) -> Int32 { a | b }
  public func xor(_ a: Int32, _ b: Int32) -> Int32 { a ^ b }
  public func shl(_ a: Int32, _ n: Int32) -> Int32 { a &<< n }
  public func ashr(_ a: Int32, _ n: Int32) -> Int32 { a &>> n }
  public func lshr(_ a: Int32, _ n: Int32) -> Int32 { Int32(bitPattern: UInt32(bitPattern: a) &>> UInt32(bitPattern: n)) }
  public func eq(_ a: Int32, _ b: Int32) -> Bool { a == b }
  public func select(_ c: Bool, _ a: Int32, _ b: Int32) -> Int32 { c ? a : b }
  public func zext(_ a: Int32) -> Int64 { Int64(UInt32(bitPattern: a)) }
  public func trunc(_ a: Int64) -> Int32 { Int32(truncatingIfNeeded: a) }

  public func add(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
  public func sub(_ a: Int64, _ b: Int64) -> Int64 { a &- b }
  public func mul(_ a: Int64, _ b: Int64) -> Int64 { a &* b }
  public func shl(_ a: Int64, _ n: Int64) -> Int64 { a &<< n }
  public func lshr(_ a: Int64, _ n: Int64) -> Int64 { Int64(bitPattern: UInt64(bitPattern: a) &>> UInt64(bitPattern: n)) }
  public func select(_ c: Bool, _ a: Int64, _ b: Int64) -> Int64 { c ? a : b }

  public func and(_ a: Bool, _ b: Bool) -> Bool { a && b }
  public func or(_ a: Bool, _ b: Bool) -> Bool { a || b }
  public func not(_ a: Bool) -> Bool { !a }
}
