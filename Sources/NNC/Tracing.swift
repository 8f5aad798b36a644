// Tracing: running Swift code on tensors while recording the ops that actually ran as an SSA
// function. Swift control flow picks what is recorded; a branch on a tensor's value (`item()`)
// records a guard. Views and in-place writes are recorded functionally: a write through a view
// becomes a new value of the whole storage, built from pure ops.

import NNCIR
import NNCPasses
import NNCRuntime
import Synchronization

/// Records the ops run while it is current.
final class Tracer: @unchecked Sendable {
  @TaskLocal static var current: Tracer?

  /// Source of trace ids. A tracer's id is never reused in the process, unlike its object
  /// identity (a later tracer may be allocated at a freed tracer's address), so a value cached
  /// on a tensor by one trace can never be taken for a value of another.
  private static let ids = Atomic<UInt64>(0)
  /// This trace's process-unique id (the key of `Tensor.traceCache`).
  let id: UInt64 = Tracer.ids.add(1, ordering: .relaxed).newValue
  /// Copies of inputs that share storage with another input (their storages, which `bases`
  /// keeps alive), with the inputs' names: an in-place write to one of them is rejected, since
  /// the traced function takes the inputs as separate buffers and could not show the write
  /// through the other.
  var aliasedInputs: [ObjectIdentifier: [String]] = [:]

  var builder: FunctionBuilder
  /// The IR value holding each storage's current contents, in its base shape. The storage is
  /// kept alive so its ObjectIdentifier cannot be reused during the trace.
  var bases: [ObjectIdentifier: (storage: TensorStorage, value: Value)] = [:]
  /// Where `trace` was called; used for ops that cannot receive a call site (Swift operators).
  let location: Location

  init(name: String, location: Location) {
    builder = FunctionBuilder(name: name)
    self.location = location
  }

  /// Emits an op the eager run already checked; a rejection here is an internal inconsistency
  /// reported as a misuse rather than a crash.
  func emit(_ op: Op, _ operands: [Value], _ loc: Location?) -> [Value] {
    do {
      return try builder.emit(op, operands, loc: loc)
    } catch {
      misuse("trace: \(error.message)", loc)
      return []
    }
  }

  /// The value holding `storage`'s contents: a parameter, an earlier result, or (for a tensor
  /// the trace did not create, such as a captured weight or a literal) a constant.
  func baseValue(_ storage: TensorStorage) -> Value {
    if let b = bases[ObjectIdentifier(storage)] { return b.value }
    let array = NDArray(shape: storage.baseShape, storage: storage.data)
    let v = emit(.constant(Tracer.constant(array)), [], nil).first ?? Value(0)
    bases[ObjectIdentifier(storage)] = (storage, v)
    return v
  }

  /// A splat when every element is equal, else a dense literal.
  static func constant(_ a: NDArray) -> Constant {
    let type = a.type
    func pack<T>(_ v: [T], _ same: (T, T) -> Bool, _ make: ([T]) -> ConstantData) -> Constant {
      if let f = v.first, v.allSatisfy({ same($0, f) }) { return Constant(type: type, data: make([f])) }
      return Constant(type: type, data: make(v))
    }
    // Floats compare by bits: -0.0 is not 0.0, and equal NaNs are equal.
    let sameBits: (Double, Double) -> Bool = { $0.bitPattern == $1.bitPattern }
    switch a.storage {
    case .f32(let v): return pack(v.map { Double($0) }, sameBits, ConstantData.floats)
    case .f64(let v): return pack(v, sameBits, ConstantData.floats)
    case .i32(let v): return pack(v.map { Int64($0) }, ==, ConstantData.ints)
    case .i64(let v): return pack(v, ==, ConstantData.ints)
    case .bool(let v): return pack(v, ==, ConstantData.bools)
    }
  }

  /// The value of `t`'s current contents: its storage's base value with its view steps replayed.
  func value(of t: Tensor) -> Value {
    if let (tid, version, v) = t.traceCache, tid == id, version == t.storage.version { return v }
    var v = baseValue(t.storage)
    for s in t.viewSteps { v = emit(Tracer.op(s.step), [v], s.loc).first ?? v }
    t.traceCache = (id, t.storage.version, v)
    return v
  }

  static func op(_ step: ViewStep) -> Op {
    switch step {
    case .reshape(let s): return .reshape(shape: s.map(Dim.int))
    case .permute(let p): return .permute(perm: p)
    case .slice(let start, let end, let step): return .slice(start: start, end: end.map(Dim.int), step: step)
    case .expand(let s): return .expand(shape: s.map(Dim.int))
    }
  }

  /// Records `op` on `inputs` producing the fresh tensor `output`.
  func record(_ op: Op, _ inputs: [Tensor], _ output: Tensor, _ loc: Location?) {
    let operands = inputs.map { value(of: $0) }
    guard let r = emit(op, operands, loc).first else { return }
    bases[ObjectIdentifier(output.storage)] = (output.storage, r)
    output.traceCache = (id, output.storage.version, r)
  }

  /// Records that `t` (a view) now holds `newValue`: the storage's base becomes the old base with
  /// the view's elements replaced, computed by pure ops.
  func recordWrite(_ t: Tensor, _ newValue: Value, _ loc: Location?) {
    if let names = aliasedInputs[ObjectIdentifier(t.storage)] {
      let list = names.map { "'\($0)'" }.joined(separator: " and ")
      misuse(
        "trace: inputs \(list) share storage and one is written in place; the traced function takes "
          + "them as separate buffers, so the write could not be seen through the other. Pass a clone() "
          + "of one of them, or one input and derive the other inside the body", loc)
      return
    }
    let base = baseValue(t.storage)
    let newBase = writeThrough(ArraySlice(t.viewSteps.map(\.step)), shape: t.storage.baseShape, base: base, new: newValue, loc)
    bases[ObjectIdentifier(t.storage)] = (t.storage, newBase)
  }

  /// `base` (of `shape`) with the part that `steps` select replaced by `new`.
  private func writeThrough(
    _ steps: ArraySlice<ViewStep>, shape: [Int], base: Value, new: Value, _ loc: Location?
  ) -> Value {
    guard let step = steps.first else { return new }
    let inner = emit(Tracer.op(step), [base], loc).first ?? base
    let innerShape = builder.type(of: inner)?.staticShape ?? []
    let updated = writeThrough(steps.dropFirst(), shape: innerShape, base: inner, new: new, loc)
    switch step {
    case .reshape:
      return emit(.reshape(shape: shape.map(Dim.int)), [updated], loc).first ?? base
    case .permute(let p):
      var inverse = p
      for (i, a) in p.enumerated() { inverse[a] = i }
      return emit(.permute(perm: inverse), [updated], loc).first ?? base
    case .expand(let target):
      // `assign` rejects a view that repeats an element, so the steps below reach each axis
      // this step broadcasts (a new one, or 1 -> n) at one index only: the new base is the
      // updated value at that index (written elements there, old ones elsewhere).
      guard let at = Tracer.firstReached(steps.dropFirst(), in: target) else { return base }
      let lead = target.count - shape.count
      var start = [Int](repeating: 0, count: target.count)
      var end = target
      for a in 0..<target.count where a < lead || shape[a - lead] != target[a] {
        start[a] = at[a]
        end[a] = at[a] + 1
      }
      let ones = [Int](repeating: 1, count: target.count)
      let row = emit(.slice(start: start, end: end.map(Dim.int), step: ones), [updated], loc).first ?? updated
      return emit(.reshape(shape: shape.map(Dim.int)), [row], loc).first ?? base
    case .slice(let start, let end, let stride):
      return scatterSlice(updated, into: base, shape: shape, start: start, end: end, stride: stride, loc)
    }
  }

  /// The coordinates, in a tensor of `shape`, of the first element the view `steps` reaches
  /// (nil when it reaches none): the steps replayed on the flat indices.
  static func firstReached(_ steps: ArraySlice<ViewStep>, in shape: [Int]) -> [Int]? {
    let n = shape.reduce(1, *)
    var x = NDArray((0..<n).map { Int64($0) }, shape: shape)
    for step in steps {
      let op = Tracer.op(step)
      guard let s = (try? op.resultTypes(for: [x.type]))?.first?.staticShape,
        let y = (try? Kernels.apply(op, [x], resultShapes: [s]))?.first
      else { return nil }
      x = y
    }
    guard case .i64(let v) = x.storage, let first = v.first else { return nil }
    let strides = ShapeMath.strides(shape)
    return shape.indices.map { (Int(first) / strides[$0]) % shape[$0] }
  }

  /// `base` with the strided box `start..<end` (step `stride`) replaced by `part`:
  /// select(mask, placed, base), where `placed` spreads `part` to its positions with
  /// pad/concat/reshape and `mask` is a constant marking those positions.
  private func scatterSlice(
    _ part: Value, into base: Value, shape: [Int], start: [Int], end: [Int], stride: [Int], _ loc: Location?
  ) -> Value {
    guard let dtype = builder.type(of: base)?.dtype else { return base }
    var placed = part
    var placedShape = builder.type(of: part)?.staticShape ?? []
    for axis in 0..<shape.count {
      let k = placedShape[axis]
      if stride[axis] > 1 && k > 1 {
        // [.., k, ..] -> [.., k, 1, ..] -> pad the new axis to s -> [.., k*s, ..] -> first (k-1)*s+1.
        let s = stride[axis]
        var withAxis = placedShape
        withAxis.insert(1, at: axis + 1)
        placed = emit(.reshape(shape: withAxis.map(Dim.int)), [placed], loc).first ?? placed
        var high = Array(repeating: 0, count: withAxis.count)
        high[axis + 1] = s - 1
        placed = emit(.pad(low: Array(repeating: 0, count: withAxis.count), high: high, value: 0), [placed], loc).first ?? placed
        var spread = placedShape
        spread[axis] = k * s
        placed = emit(.reshape(shape: spread.map(Dim.int)), [placed], loc).first ?? placed
        var sliceEnd = spread
        sliceEnd[axis] = (k - 1) * s + 1
        placed = emit(
          .slice(start: Array(repeating: 0, count: spread.count), end: sliceEnd.map(Dim.int), step: Array(repeating: 1, count: spread.count)),
          [placed], loc
        ).first ?? placed
        placedShape = sliceEnd
      }
    }
    var low = Array(repeating: 0, count: shape.count)
    var high = low
    for axis in 0..<shape.count {
      low[axis] = placedShape[axis] == 0 ? 0 : start[axis]
      high[axis] = shape[axis] - low[axis] - placedShape[axis]
    }
    placed = emit(.pad(low: low, high: high, value: 0), [placed], loc).first ?? placed
    // The mask: true where the slice reaches.
    let n = shape.reduce(1, *)
    let rowMajor = ShapeMath.strides(shape)
    let mask = (0..<n).map { i in
      (0..<shape.count).allSatisfy { a in
        let c = (i / rowMajor[a]) % shape[a]
        return c >= start[a] && c < end[a] && (c - start[a]) % stride[a] == 0
      }
    }
    _ = dtype
    let maskValue = emit(.constant(Tracer.constant(NDArray(mask, shape: shape))), [], loc).first ?? base
    return emit(.select, [maskValue, placed, base], loc).first ?? base
  }
}

/// A function captured from a run of Swift code, with the outputs of that run.
public struct Trace {
  /// The ops that ran, as an SSA function (parameters for the inputs, results for the outputs).
  public var function: Function
  /// What the traced run returned, computed eagerly.
  public var outputs: [Tensor]

  /// The function as `.swiftgraph` text.
  public var text: String { Graph(functions: [function]).text() }
}

/// Runs `body` on copies of `inputs` while recording the ops it runs, and returns them as an IR
/// function with one parameter per input (named by `names`, default `x0`, `x1`, ...) and one
/// result per returned tensor. Swift control flow decides what is recorded; reading a traced
/// value (`item()`) records a guard saying which value the trace is valid for. Tensors the body
/// uses without receiving them as inputs (captured weights, literals) become constants.
/// Inputs are captured by value: an in-place write to one inside the body is part of the
/// function, not a write to the caller's tensor. Inputs that share storage (`trace(x, x)`,
/// `trace(x, x[0])`) may be read, but an in-place write to one of them is a misuse naming both,
/// since the function takes them as separate buffers.
/// `name` and `names` (one per input, distinct) must be `.swiftgraph` names
/// (`[A-Za-z_][A-Za-z0-9_.]*`), so the trace prints as text that parses back; otherwise the call
/// is a misuse reported at the call (traps, or throws inside `withTensorErrors`).
public func trace(
  _ inputs: [Tensor], names: [String]? = nil, name: String = "main",
  file: StaticString = #fileID, line: UInt = #line,
  _ body: ([Tensor]) throws -> [Tensor]
) rethrows -> Trace {
  let loc = here(file, line)
  let paramNames = inputs.indices.map { i in names.flatMap { i < $0.count ? $0[i] : nil } ?? "x\(i)" }
  if let problem = traceNameProblem(name: name, parameters: paramNames, inputCount: inputs.count, given: names) {
    misuse("trace: \(problem)", loc)
  }
  let tracer = Tracer(name: name, location: loc)
  var copies: [Tensor] = []
  for (i, x) in inputs.enumerated() {
    let copy = Tensor(array: x.array)
    let v = tracer.builder.parameter(paramNames[i], copy.type)
    tracer.bases[ObjectIdentifier(copy.storage)] = (copy.storage, v)
    copies.append(copy)
  }
  // Inputs on one storage (`x` twice, or `x` and `x[0]`): reads are fine on the copies, writes
  // are rejected (Tracer.recordWrite).
  for i in inputs.indices {
    let sharing = inputs.indices.filter { inputs[$0].storage === inputs[i].storage }
    if sharing.count > 1 {
      tracer.aliasedInputs[ObjectIdentifier(copies[i].storage)] = sharing.map { paramNames[$0] }
    }
  }
  let outputs = try Tracer.$current.withValue(tracer) { try body(copies) }
  let results = Tracer.$current.withValue(tracer) { outputs.map { tracer.value(of: $0) } }
  var function = tracer.builder.finish(returning: results)
  // Functional capture of views re-derives some values; merge them and drop what is unused.
  var context = PassContext(function: function.name, wantsRemarks: false)
  _ = try? Passes.cse.run(&function, &context)
  _ = try? Passes.dce.run(&function, &context)
  return Trace(function: function.canonicalized(), outputs: outputs)
}

/// `trace` for a closure of one tensor returning one tensor.
public func trace(
  _ x: Tensor, names: [String]? = nil, name: String = "main", file: StaticString = #fileID, line: UInt = #line,
  _ body: (Tensor) throws -> Tensor
) rethrows -> Trace {
  try trace([x], names: names, name: name, file: file, line: line) { [try body($0[0])] }
}

/// `trace` for a closure of two tensors returning one tensor.
public func trace(
  _ x: Tensor, _ y: Tensor, names: [String]? = nil, name: String = "main", file: StaticString = #fileID,
  line: UInt = #line, _ body: (Tensor, Tensor) throws -> Tensor
) rethrows -> Trace {
  try trace([x, y], names: names, name: name, file: file, line: line) { [try body($0[0], $0[1])] }
}

/// `trace` for a closure of three tensors returning one tensor.
public func trace(
  _ x: Tensor, _ y: Tensor, _ z: Tensor, names: [String]? = nil, name: String = "main",
  file: StaticString = #fileID, line: UInt = #line, _ body: (Tensor, Tensor, Tensor) throws -> Tensor
) rethrows -> Trace {
  try trace([x, y, z], names: names, name: name, file: file, line: line) { [try body($0[0], $0[1], $0[2])] }
}

/// Why `name`/`parameters` cannot name a traced function, or nil when they can.
func traceNameProblem(name: String, parameters: [String], inputCount: Int, given: [String]?) -> String? {
  if !Identifier.isValid(name) {
    return "function name '\(name)' is not a .swiftgraph name ([A-Za-z_][A-Za-z0-9_.]*)"
  }
  if let given, given.count != inputCount {
    return "\(given.count) names for \(inputCount) inputs"
  }
  for (i, p) in parameters.enumerated() {
    if !Identifier.isValid(p) {
      return "input name '\(p)' is not a .swiftgraph name ([A-Za-z_][A-Za-z0-9_.]*)"
    }
    if parameters[..<i].contains(p) { return "input name '\(p)' is used twice" }
  }
  return nil
}
