// Memory planning for a compiled entry: the live interval of every value that lives in the
// entry's workspace, and where in the workspace each one goes, so that values whose lifetimes
// do not overlap share bytes. LLVM-free: the code generator asks it for offsets, tests check it
// without compiling.
//
// Which values: every instruction result (regions included) except the results a top-level
// instruction makes and the function returns; those are written straight into the caller's
// output buffers (`lowerEntry` in NNCCodegen/EntryLowering.swift). Parameters are the caller's.
// A `fused` instruction is one instruction to the plan: what its region computes never reaches
// memory, so it has no workspace.
//
// Liveness, in program order: each instruction gets a position; a `cond` gets one position for
// itself (its predicate is read and its results are defined there), then its regions' positions
// (then before else, each region's `yield` a position of its own), then one for its end. A value
// lives over the closed interval [definition, last use]. A use inside a region of a value
// defined before that region's `cond` counts at the end of the outermost such `cond`; the
// results of a `cond` are live from its start to (at least) its end, so they never share with
// anything its regions compute or read (the yields are copied into them at the end of a
// region, also into a result nothing reads). Intervals are
// closed: an operand last used by instruction i and a result of i both contain i, so a kernel
// never reads and writes one buffer (kernels take their results `noalias`). A value nothing
// uses still lives at its definition (its kernel writes it).
//
// Placement, for values whose sizes are static: "greedy by size" offset assignment (Pisarchyk
// and Lee, "Efficient Memory Management for Deep Neural Net Inference", 2020; TensorFlow Lite's
// `GreedyBySizeAssignment` in tflite/delegates/gpu/common/memory_management): values in order of
// decreasing size (ties: earlier definition, then lower id); each goes into the smallest gap
// between the already placed values whose intervals overlap its own that fits it (best fit),
// or above the highest of them. Sizes are rounded up to 64 bytes, so every offset is a multiple
// of 64. The workspace's static part is the highest end, the plan's peak.
//
// Values whose sizes depend on size symbols are not given offsets (their sizes are known only
// at run time): they are grouped into *slots*, "shared objects" in TFLite's terms, assigned
// greedily in program order (a value joins a slot whose last value's interval has ended, the
// one closest in size at a probe binding of every symbol to `probeSymbolValue`, else a new
// slot). Every value of a slot starts at the slot's offset; a slot is as large as its largest
// value, computed at run time; slots are laid out one after another above the static part.
// Within a slot intervals never overlap, and slots never overlap each other or the static
// part, whatever the symbols' values.

import NNCIR

/// A closed interval of program positions: a value is live from `start` (its definition) to
/// `end` (its last use), both included.
public struct LiveInterval: Hashable, Sendable, CustomStringConvertible {
  public var start: Int
  public var end: Int
  public init(_ start: Int, _ end: Int) {
    self.start = start
    self.end = end
  }
  /// Whether the two share a position (closed intervals).
  public func overlaps(_ other: LiveInterval) -> Bool { start <= other.end && other.start <= end }
  public var description: String { "[\(start), \(end)]" }
}

/// Where each workspace value of one function goes (see the file comment).
public struct WorkspacePlan: Sendable {
  /// Regions start at multiples of this many bytes (cache lines, the widest vector loads).
  public static let alignment = 64
  /// The symbol value used to compare symbolic sizes when choosing slots (a heuristic only:
  /// any value gives a correct plan).
  public static let probeSymbolValue = 64

  /// The workspace values in program order (regions included, in text order).
  public private(set) var values: [Value] = []
  /// The live interval of each workspace value, by value id.
  public private(set) var intervals: [Int: LiveInterval] = [:]
  /// The byte offset of each statically sized workspace value, by value id.
  public private(set) var offsets: [Int: Int] = [:]
  /// The byte size of each statically sized workspace value rounded up to `alignment`.
  public private(set) var alignedSizes: [Int: Int] = [:]
  /// Bytes of the static part: the highest end of a planned region (a multiple of 64).
  public private(set) var staticBytes = 0
  /// The symbolically sized values, grouped into slots (each slot's values in program order).
  public private(set) var slots: [[Value]] = []
  /// The slot of each symbolically sized value, by value id.
  public private(set) var slotOf: [Int: Int] = [:]
  /// The number of program positions (the function's end, where results are read, is the last).
  public private(set) var positionCount = 0

  private var types: [Int: TensorType] = [:]

  /// Whether every workspace value has a static size (the whole plan is constants).
  public var isStatic: Bool { slots.isEmpty }

  /// The values whose buffers are the caller's output buffers: results of top-level
  /// instructions that the function returns (the first time it returns them; a value returned
  /// twice is copied into the second output at the end).
  public static func callerOutputValues(_ f: Function) -> Set<Int> {
    var topLevel: Set<Int> = []
    for inst in f.body.instructions { for r in inst.results { topLevel.insert(r.id) } }
    return Set(f.body.terminator.map(\.id).filter(topLevel.contains))
  }

  /// The byte size of a buffer of `t` rounded up to `alignment`, when its shape is static.
  public static func alignedByteSize(_ t: TensorType) -> Int? {
    guard let shape = t.staticShape else { return nil }
    let bytes = shape.reduce(1, *) * t.dtype.byteSize
    return (bytes + alignment - 1) / alignment * alignment
  }

  /// The aligned byte size of `t` with the symbols bound as `symbols` says (a missing one is 0).
  public static func alignedByteSize(_ t: TensorType, symbols: [String: Int]) -> Int {
    let bytes = t.shape.reduce(1) { acc, d in
      switch d {
      case .int(let v): return acc * v
      case .sym(let s): return acc * (symbols[s] ?? 0)
      }
    } * t.dtype.byteSize
    return (bytes + alignment - 1) / alignment * alignment
  }

  /// Plans the workspace of `f` (verified, every value typed).
  public init(_ f: Function) {
    let callerOwned = Self.callerOutputValues(f)
    var types: [Int: TensorType] = [:]
    // Positions: definitions, the spans of conds, and uses (resolved once spans are known).
    var def: [Int: Int] = [:]
    var uses: [(value: Int, position: Int, enclosing: [Int])] = []
    var condSpans: [(start: Int, end: Int)] = []
    var values: [Value] = []
    var resultEnds: [Int: Int] = [:]
    var position = 0
    func use(_ v: Value, _ enclosing: [Int]) { uses.append((v.id, position, enclosing)) }
    func walk(_ block: Block, _ enclosing: [Int]) {
      for inst in block.instructions {
        let at = position
        for o in inst.operands { use(o, enclosing) }
        for r in inst.results where !callerOwned.contains(r.id) {
          def[r.id] = at
          values.append(r)
          types[r.id] = f.type(of: r)
        }
        position += 1
        // A fused kernel's region lives in registers and cache: to the plan it is one
        // instruction reading its operands and writing its results.
        if case .fused = inst.op { continue }
        if !inst.regions.isEmpty {
          let k = condSpans.count
          condSpans.append((at, 0))
          for region in inst.regions {
            walk(region, enclosing + [k])
            for y in region.terminator { use(y, enclosing + [k]) }
            position += 1
          }
          condSpans[k].end = position
          // The yields are copied into the results at the end of a region: they are written
          // there, so they live to the cond's end even when nothing reads them.
          for r in inst.results where def[r.id] != nil { resultEnds[r.id] = position }
          position += 1
        }
      }
    }
    walk(f.body, [])
    for v in f.body.terminator { use(v, []) }
    self.values = values
    positionCount = position + 1
    for v in values { intervals[v.id] = LiveInterval(def[v.id]!, resultEnds[v.id] ?? def[v.id]!) }
    for u in uses {
      guard let d = def[u.value] else { continue }
      // The outermost enclosing cond that began after the definition holds the use.
      var at = u.position
      if let k = u.enclosing.first(where: { condSpans[$0].start > d }) { at = max(at, condSpans[k].end) }
      intervals[u.value]!.end = max(intervals[u.value]!.end, at)
    }
    self.types = types
    placeStatic()
    assignSlots()
  }

  /// Greedy by size, best fit (see the file comment).
  private mutating func placeStatic() {
    var sized: [(value: Value, size: Int)] = []
    for v in values {
      if let s = Self.alignedByteSize(types[v.id]!) {
        alignedSizes[v.id] = s
        sized.append((v, s))
      }
    }
    let starts = Dictionary(uniqueKeysWithValues: sized.map { ($0.value.id, intervals[$0.value.id]!.start) })
    sized.sort { a, b in
      if a.size != b.size { return a.size > b.size }
      let (da, db) = (starts[a.value.id]!, starts[b.value.id]!)
      return da != db ? da < db : a.value.id < b.value.id
    }
    // The placed values by the position where they start, so a value's conflicts are found
    // among those starting at most `longest` positions before it (the longest placed interval)
    // or within its own interval, not among every placed value: an unrolled loop's values
    // live a few positions each, so planning stays near linear in the graph; memory stays
    // linear (each placed value is in one list). When a value has many candidates (thousands
    // of values live at once, all read by one concat), sorting its conflicts would cost more
    // than walking every placed value in offset order (`byOffset`), so it does that: the
    // worst case stays O(n^2), as when every value conflicts with every other.
    var placed: [(offset: Int, size: Int, start: Int, end: Int)] = []
    var byOffset: [Int] = []
    var startsAt = [[Int]](repeating: [], count: positionCount)
    var longest = 0
    for (v, size) in sized {
      let interval = intervals[v.id]!
      if size == 0 {
        offsets[v.id] = 0
        continue
      }
      let first = max(0, interval.start - longest)
      var candidates = 0
      for p in first...interval.end { candidates += startsAt[p].count }
      var conflicts: [(offset: Int, size: Int)] = []
      conflicts.reserveCapacity(candidates)
      if candidates >= 64 && candidates * 8 > placed.count {
        for k in byOffset {
          let c = placed[k]
          if c.start <= interval.end && c.end >= interval.start { conflicts.append((c.offset, c.size)) }
        }
      } else {
        for p in first...interval.end {
          for k in startsAt[p] where placed[k].end >= interval.start {
            conflicts.append((placed[k].offset, placed[k].size))
          }
        }
        conflicts.sort { $0.offset < $1.offset }
      }
      var best: (offset: Int, gap: Int)? = nil
      var low = 0
      for c in conflicts {
        let gap = c.offset - low
        if gap >= size && (best == nil || gap < best!.gap) { best = (low, gap) }
        low = max(low, c.offset + c.size)
      }
      let offset = best?.offset ?? low
      offsets[v.id] = offset
      var lo = 0
      var hi = byOffset.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if placed[byOffset[mid]].offset <= offset { lo = mid + 1 } else { hi = mid }
      }
      byOffset.insert(placed.count, at: lo)
      startsAt[interval.start].append(placed.count)
      placed.append((offset, size, interval.start, interval.end))
      longest = max(longest, interval.end - interval.start)
      staticBytes = max(staticBytes, offset + size)
    }
  }

  /// Shared slots for symbolically sized values, greedy in program order (see the file comment).
  private mutating func assignSlots() {
    var probe: [String: Int] = [:]
    for v in values { for s in types[v.id]!.symbols { probe[s] = Self.probeSymbolValue } }
    var slotEnd: [Int] = []
    var slotSize: [Int] = []
    for v in values where alignedSizes[v.id] == nil {
      let interval = intervals[v.id]!
      let size = Self.alignedByteSize(types[v.id]!, symbols: probe)
      var choice: Int? = nil
      for k in slotEnd.indices where slotEnd[k] < interval.start {
        guard let c = choice else {
          choice = k
          continue
        }
        // Prefer the smallest slot that holds it, else the largest.
        let (sk, sc) = (slotSize[k], slotSize[c])
        if sk >= size ? (sc < size || sk < sc) : (sc < size && sk > sc) { choice = k }
      }
      let k = choice ?? slots.count
      if k == slots.count {
        slots.append([])
        slotEnd.append(0)
        slotSize.append(0)
      }
      slots[k].append(v)
      slotOf[v.id] = k
      slotEnd[k] = interval.end
      slotSize[k] = max(slotSize[k], size)
    }
  }

  /// The type of workspace value `v`.
  public func type(of v: Value) -> TensorType? { types[v.id] }

  /// Each slot's size with the symbols bound as `symbols` says: its largest value's aligned size.
  public func slotSizes(symbols: [String: Int]) -> [Int] {
    slots.map { members in members.map { Self.alignedByteSize(types[$0.id]!, symbols: symbols) }.max() ?? 0 }
  }

  /// The planned workspace bytes with the symbols bound: the static part, then every slot.
  public func plannedBytes(symbols: [String: Int] = [:]) -> Int {
    staticBytes + slotSizes(symbols: symbols).reduce(0, +)
  }

  /// What the workspace took without planning: every value's aligned size, summed.
  public func unplannedBytes(symbols: [String: Int] = [:]) -> Int {
    values.reduce(0) { $0 + Self.alignedByteSize(types[$1.id]!, symbols: symbols) }
  }

  /// The byte offset of workspace value `v` with the symbols bound (slots above the static
  /// part, in order).
  public func offset(of v: Value, symbols: [String: Int] = [:]) -> Int? {
    if let o = offsets[v.id] { return o }
    guard let k = slotOf[v.id] else { return nil }
    return staticBytes + slotSizes(symbols: symbols)[..<k].reduce(0, +)
  }

  /// The symbols the workspace's size depends on, sorted.
  public var sizeSymbols: [String] {
    Array(Set(values.flatMap { types[$0.id]!.symbols })).sorted()
  }
}
