// Clocks, repeated measurement and medians. Figures only: nothing here asserts a timing.

#if canImport(Glibc)
  import Glibc
#endif

/// Monotonic time in seconds.
func now() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Minor page faults of this process so far (first touches of fresh memory).
func minorFaults() -> Int {
  var u = rusage()
  getrusage(RUSAGE_SELF.rawValue, &u)
  return Int(u.ru_minflt)
}

func median(_ xs: [Double]) -> Double {
  precondition(!xs.isEmpty)
  let s = xs.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Per-call times from one measurement.
struct Stats {
  /// Seconds per call: median and minimum over samples.
  var median: Double
  var min: Double
  /// Number of samples and calls per sample.
  var samples: Int
  var batch: Int
  /// Minor page faults per call.
  var faultsPerCall: Double
  /// Every sample (seconds per call).
  var times: [Double] = []
}

/// How long to spend on each measurement.
struct Budget {
  /// Seconds of sampling after warm-up (at least `minSamples` samples are always taken).
  var seconds: Double
  var minSamples: Int
  var maxSamples: Int
  /// A sample repeats the call until it lasts about this long (short calls are batched so the
  /// clock's resolution and overhead do not matter).
  var sampleSeconds: Double
  var warmup: Int
}

/// Calls `body` `warmup` times, picks a batch size, then times batches until the budget is spent.
func measure(_ budget: Budget, _ body: () -> Void) -> Stats {
  var single = 0.0
  for _ in 0..<max(1, budget.warmup) {
    let t0 = now()
    body()
    single = now() - t0
  }
  let batch = max(1, min(1_000_000, Int(budget.sampleSeconds / max(single, 1e-9))))
  var times: [Double] = []
  let start = now()
  let faults0 = minorFaults()
  while times.count < budget.maxSamples && (times.count < budget.minSamples || now() - start < budget.seconds) {
    let t0 = now()
    for _ in 0..<batch { body() }
    times.append((now() - t0) / Double(batch))
  }
  let calls = times.count * batch
  return Stats(
    median: median(times), min: times.min()!, samples: times.count, batch: batch,
    faultsPerCall: Double(minorFaults() - faults0) / Double(calls), times: times)
}

/// Measures several bodies in `rounds` alternating rounds (A B C A B C ...), each round with a
/// share of every budget, so drifting load on a shared machine hits all of them alike.
func measureRounds(_ rounds: Int, _ items: [(Budget, () -> Void)]) -> [Stats] {
  measureRounds(rounds, measurers: items.map { item in (item.0, { b in measure(b, item.1) }) })
}

/// As `measureRounds(_:_:)`, with each item measured by its own function of the round's share
/// of the budget (e.g. a measurement made by another process).
func measureRounds(_ rounds: Int, measurers items: [(Budget, (Budget) -> Stats)]) -> [Stats] {
  var all: [[Stats]] = Array(repeating: [], count: items.count)
  for r in 0..<rounds {
    for (k, (budget, measurer)) in items.enumerated() {
      var b = budget
      b.seconds /= Double(rounds)
      b.minSamples = max(1, (budget.minSamples + rounds - 1) / rounds)
      b.maxSamples = max(1, budget.maxSamples / rounds)
      if r > 0 { b.warmup = 1 }
      all[k].append(measurer(b))
    }
  }
  return all.map { parts in
    let times = parts.flatMap(\.times)
    let calls = parts.reduce(0) { $0 + $1.samples * $1.batch }
    let faults = parts.reduce(0.0) { $0 + $1.faultsPerCall * Double($1.samples * $1.batch) }
    return Stats(
      median: median(times), min: times.min()!, samples: times.count, batch: parts[0].batch,
      faultsPerCall: faults / Double(calls), times: times)
  }
}

// MARK: - Formatting

/// A duration with a unit that keeps 3-4 significant digits: 812 ns, 12.3 µs, 4.56 ms, 1.23 s.
func fmtTime(_ s: Double) -> String {
  if s < 1e-6 { return fmt(s * 1e9, 0) + " ns" }
  if s < 1e-3 { return fmt(s * 1e6, s < 1e-5 ? 2 : 1) + " µs" }
  if s < 1 { return fmt(s * 1e3, s < 1e-2 ? 2 : 1) + " ms" }
  return fmt(s, 2) + " s"
}

/// `x` with `digits` decimals.
func fmt(_ x: Double, _ digits: Int) -> String {
  if x.isNaN { return "nan" }
  if x.isInfinite { return x > 0 ? "inf" : "-inf" }
  var p = 1.0
  for _ in 0..<digits { p *= 10 }
  let r = (abs(x) * p).rounded()
  let whole = Int(r / p)
  let frac = Int(r - Double(whole) * p)
  var s = (x < 0 && r != 0 ? "-" : "") + String(whole)
  if digits > 0 {
    let f = String(frac)
    s += "." + String(repeating: "0", count: digits - f.count) + f
  }
  return s
}

/// A ratio: 3.1x, 42x, 1234x.
func fmtRatio(_ x: Double) -> String {
  if x >= 100 { return fmt(x, 0) + "x" }
  if x >= 10 { return fmt(x, 1) + "x" }
  return fmt(x, 2) + "x"
}

/// A plain-text table with right-aligned numeric columns.
struct Table {
  var headers: [String]
  var rows: [[String]] = []
  /// Columns aligned left (the rest right).
  var leftColumns: Set<Int> = [0]

  init(_ headers: [String]) { self.headers = headers }

  mutating func add(_ row: [String]) { rows.append(row) }

  func render(indent: String = "  ") -> String {
    let all = [headers] + rows
    let widths = headers.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
    func line(_ r: [String]) -> String {
      let cells = headers.indices.map { c -> String in
        let v = c < r.count ? r[c] : ""
        let pad = String(repeating: " ", count: widths[c] - v.count)
        return leftColumns.contains(c) ? v + pad : pad + v
      }
      return indent + cells.joined(separator: "  ")
    }
    var out = [line(headers)]
    out.append(indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for r in rows { out.append(line(r)) }
    return out.joined(separator: "\n")
  }
}
