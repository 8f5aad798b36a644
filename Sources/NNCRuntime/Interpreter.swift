// The reference interpreter: runs any verified function on concrete arrays. It defines what the
// IR means; compiled code is checked against it.

import NNCIR

/// Why a run failed: wrong inputs or a failed guard. Each message names the function and the
/// shapes involved.
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
  case inputCount(function: String, expected: Int, got: Int)
  case inputType(function: String, parameter: String, expected: TensorType, got: TensorType)
  case symbolConflict(function: String, symbol: String, first: Int, second: Int, parameter: String)
  case guardFailed(function: String, message: String, location: String)
  case kernel(String)
  /// A buffer the run needs is larger than the process can ever allocate (`Memory.limit`).
  case outOfMemory(OutOfMemoryError)
  /// The function does not verify.
  case invalidFunction(String)

  public var description: String {
    switch self {
    case .inputCount(let f, let e, let g): return "@\(f) takes \(e) inputs, got \(g)"
    case .inputType(let f, let p, let e, let g): return "@\(f): input %\(p) must be \(e), got \(g)"
    case .symbolConflict(let f, let s, let a, let b, let p):
      return "@\(f): symbol \(s) is \(a) from an earlier input but \(b) in %\(p)"
    case .guardFailed(let f, let m, let l):
      return "@\(f): guard failed at \(l)" + (m.isEmpty ? "" : ": \(m)")
    case .kernel(let m): return m
    case .outOfMemory(let e): return e.description
    case .invalidFunction(let m): return "invalid function: \(m)"
    }
  }
}

/// Runs functions of the IR on concrete arrays.
public enum Interpreter {
  /// Binds each parameter's symbols from the inputs' shapes, checking dtypes and known dims.
  public static func bindInputs(_ f: Function, _ inputs: [NDArray]) throws(RuntimeError) -> [String: Int] {
    guard inputs.count == f.parameters.count else {
      throw .inputCount(function: f.name, expected: f.parameters.count, got: inputs.count)
    }
    var bindings: [String: Int] = [:]
    for (p, x) in zip(f.parameters, inputs) {
      // A hand-made NDArray may hold fewer elements than its shape says: compiled code would
      // read past the end of its buffer.
      guard ShapeMath.elementCount(x.shape) == x.count else {
        throw .kernel("@\(f.name): input %\(p.name) has shape \(x.shape) but holds \(x.count) elements")
      }
      guard let t = f.type(of: p.value) else { continue }
      let mismatch = RuntimeError.inputType(function: f.name, parameter: p.name, expected: t, got: x.type)
      guard t.dtype == x.dtype, t.rank == x.shape.count else { throw mismatch }
      for (d, n) in zip(t.shape, x.shape) {
        switch d {
        case .int(let v): if v != n { throw mismatch }
        case .sym(let s):
          if let prior = bindings[s], prior != n {
            throw .symbolConflict(function: f.name, symbol: s, first: prior, second: n, parameter: p.name)
          }
          bindings[s] = n
        }
      }
    }
    return bindings
  }

  /// Runs `f` on `inputs` (one per parameter, in order) and returns its results.
  public static func run(_ f: Function, _ inputs: [NDArray]) throws(RuntimeError) -> [NDArray] {
    do { try f.verify() } catch { throw .invalidFunction(error.description) }
    let bindings = try bindInputs(f, inputs)
    var env: [Int: NDArray] = [:]
    for (p, x) in zip(f.parameters, inputs) { env[p.value.id] = x }
    return try runBlock(f.body, f, bindings, &env)
  }

  static func runBlock(
    _ block: Block, _ f: Function, _ bindings: [String: Int], _ env: inout [Int: NDArray]
  ) throws(RuntimeError) -> [NDArray] {
    for inst in block.instructions {
      let xs = inst.operands.map { env[$0.id]! }
      switch inst.op {
      case .cond:
        guard case .bool(let p) = xs[0].storage, let taken = p.first else {
          throw .kernel("@\(f.name): cond predicate is not a bool scalar")
        }
        let results = try runBlock(inst.regions[taken ? 0 : 1], f, bindings, &env)
        for (r, v) in zip(inst.results, results) { env[r.id] = v }
      case .fused:
        // A fused kernel means its region, op by op: compiled fused code is checked against
        // the unfused meaning.
        let results = try runBlock(inst.regions[0], f, bindings, &env)
        for (r, v) in zip(inst.results, results) { env[r.id] = v }
      case .guardTrue(let message):
        guard case .bool(let p) = xs[0].storage, p.first == true else {
          let at = inst.loc?.description ?? inst.textPos?.description ?? "@\(f.name)"
          throw .guardFailed(function: f.name, message: message, location: at)
        }
      default:
        let op = inst.op.resolved(bindings)
        let types: [TensorType]
        do {
          types = try op.resultTypes(for: xs.map(\.type))
        } catch {
          throw .kernel("@\(f.name): \(op.mnemonic): \(error.message)")
        }
        // Result arrays get their sizes from the inputs: check them before the kernel allocates.
        // (The kernels' temporary index tables, 8 bytes per element, are not counted.)
        for t in types {
          do {
            let at = inst.loc?.description ?? inst.textPos?.description
            try Memory.checkArray(t, what: "@\(f.name): \(op.mnemonic)" + (at.map { " at \($0)" } ?? ""))
          } catch {
            throw .outOfMemory(error)
          }
        }
        let shapes = types.map { $0.staticShape ?? [] }
        let results: [NDArray]
        do {
          results = try Kernels.apply(op, xs, resultShapes: shapes)
        } catch {
          throw .kernel("@\(f.name): \(error)")
        }
        for (r, v) in zip(inst.results, results) { env[r.id] = v }
      }
    }
    return block.terminator.map { env[$0.id]! }
  }
}
