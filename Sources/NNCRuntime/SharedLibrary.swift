// Loading compiled code: dlopen a shared library the system linker made and call its packed
// entry points. No code is generated in memory.

#if canImport(Glibc)
  import Glibc
#endif
import NNCIR

/// A loaded shared library. It stays loaded while this object lives.
public final class SharedLibrary: @unchecked Sendable {
  let handle: UnsafeMutableRawPointer
  public let path: String

  /// Loads the library at `path` (a new path each time: dlopen caches by path).
  public init(path: String) throws(RuntimeError) {
    guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
      let msg = dlerror().map { String(cString: $0) } ?? "unknown error"
      throw .kernel("cannot load \(path): \(msg)")
    }
    handle = h
    self.path = path
  }

  deinit { dlclose(handle) }

  /// The address of `name`, or nil.
  public func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
}

/// The packed entry ABI: buffers (parameters, then results) and symbol sizes.
public typealias PackedEntry = @convention(c) (UnsafePointer<UnsafeMutableRawPointer?>?, UnsafePointer<Int64>?) -> Int32

/// A compiled function: its IR (for shapes and messages) and its packed entry point.
public struct CompiledEntry: @unchecked Sendable {
  public let function: Function
  let entry: PackedEntry
  /// Keeps the library loaded.
  let library: SharedLibrary

  public init(function: Function, library: SharedLibrary, symbol: String) throws(RuntimeError) {
    guard let p = library.symbol(symbol) else { throw .kernel("\(library.path) has no symbol \(symbol)") }
    self.function = function
    self.library = library
    entry = unsafeBitCast(p, to: PackedEntry.self)
  }

  /// Calls the entry with raw buffers (parameters then results, each dense row-major and at
  /// least as large as its type needs) and the sizes of `function.sizeSymbols` in order.
  /// Returns the status code (0 on success). No checks: the caller owns the contract.
  public func callUnchecked(_ buffers: [UnsafeMutableRawPointer?], sizes: [Int64]) -> Int32 {
    buffers.withUnsafeBufferPointer { b in sizes.withUnsafeBufferPointer { s in entry(b.baseAddress, s.baseAddress) } }
  }

  /// Runs on arrays: checks inputs as the interpreter does, allocates the results, calls the
  /// compiled code, and turns a failed guard into `RuntimeError.guardFailed`.
  public func run(_ inputs: [NDArray]) throws(RuntimeError) -> [NDArray] {
    let bindings = try Interpreter.bindInputs(function, inputs)
    // With symbols bound, a shape rule can fail at run time (an argmax over an axis of size 0,
    // a result past 2^48 elements): the compiled code does not check, so let the reference
    // interpreter give its exact outcome (the error, or the result when it is in a branch not
    // taken) instead of computing garbage or failing to allocate the results.
    if !bindings.isEmpty && !shapeRulesHold(bindings) { return try Interpreter.run(function, inputs) }
    let symbols = function.sizeSymbols
    // Result sizes come from the inputs: an impossible one is an error, not a trap in malloc.
    // The compiled code mallocs every intermediate at entry; an impossible one is named here
    // rather than reported as a bare status 1.
    do {
      for (k, t) in function.resultTypes.enumerated() {
        try Memory.checkArray(t.resolved(bindings), what: "result \(k) of @\(function.name)")
      }
      var intermediates: [(TensorType, Instruction)] = []
      function.forEachInstruction { inst in
        for r in inst.results { if let t = function.type(of: r) { intermediates.append((t, inst)) } }
      }
      for (t, inst) in intermediates {
        try Memory.checkArray(t.resolved(bindings), what: "@\(function.name): \(inst.op.mnemonic)" + Self.place(inst))
      }
    } catch {
      throw .outOfMemory(error)
    }
    var outputs = function.resultTypes.map { t in NDArray.zeros(t.dtype, t.resolved(bindings).staticShape ?? []) }
    let sizes = symbols.map { Int64(bindings[$0] ?? 0) }
    // Capture only the entry pointer: capturing `self` copies the whole IR function per call.
    let entry = self.entry
    let status = withBuffers(inputs, &outputs) { ptrs in
      ptrs.withUnsafeBufferPointer { b in sizes.withUnsafeBufferPointer { s in entry(b.baseAddress, s.baseAddress) } }
    }
    if status == 0 { return outputs }
    if status == 1 { throw .kernel("@\(function.name): out of memory (an intermediate buffer could not be allocated)") }
    let k = Int(status) - 2
    let guards = function.guards
    guard k >= 0 && k < guards.count, case .guardTrue(let message) = guards[k].op else {
      throw .kernel("@\(function.name): compiled code returned status \(status)")
    }
    let at = guards[k].loc?.description ?? guards[k].textPos?.description ?? "@\(function.name)"
    throw .guardFailed(function: function.name, message: message, location: at)
  }
}

extension CompiledEntry {
  /// ` at FILE:LINE[:COL]` for an instruction with a location, else "".
  static func place(_ inst: Instruction) -> String {
    (inst.loc?.description ?? inst.textPos?.description).map { " at \($0)" } ?? ""
  }

  /// Whether every instruction's shape rule (and every declared cond result) holds at these
  /// symbol sizes.
  func shapeRulesHold(_ bindings: [String: Int]) -> Bool {
    var ok = true
    function.forEachInstruction { inst in
      guard ok else { return }
      switch inst.op {
      case .cond:
        ok = inst.results.allSatisfy { function.type(of: $0)?.resolved(bindings).isWithinLimits ?? false }
      case .guardTrue:
        break
      default:
        let operands = inst.operands.map { function.type(of: $0)?.resolved(bindings) ?? .scalar(.f32) }
        ok = (try? inst.op.resolved(bindings).resultTypes(for: operands)) != nil
      }
    }
    return ok
  }
}

/// One output's storage, boxed so each is borrowed separately.
private final class Box {
  var storage: ArrayStorage
  init(_ s: ArrayStorage) { storage = s }
}

/// Calls `body` with raw pointers to every input's and output's elements, without copying.
func withBuffers<R>(_ inputs: [NDArray], _ outputs: inout [NDArray], _ body: ([UnsafeMutableRawPointer?]) -> R) -> R {
  func readOnly(_ s: ArrayStorage, _ k: (UnsafeMutableRawPointer?) -> R) -> R {
    switch s {
    case .f32(let v): return v.withUnsafeBytes { k(UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
    case .f64(let v): return v.withUnsafeBytes { k(UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
    case .i32(let v): return v.withUnsafeBytes { k(UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
    case .i64(let v): return v.withUnsafeBytes { k(UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
    case .bool(let v): return v.withUnsafeBytes { k(UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
    }
  }
  func writable(_ box: Box, _ k: (UnsafeMutableRawPointer?) -> R) -> R {
    switch box.storage {
    case .f32(var v): box.storage = .f32([]); defer { box.storage = .f32(v) }; return v.withUnsafeMutableBytes { k($0.baseAddress) }
    case .f64(var v): box.storage = .f64([]); defer { box.storage = .f64(v) }; return v.withUnsafeMutableBytes { k($0.baseAddress) }
    case .i32(var v): box.storage = .i32([]); defer { box.storage = .i32(v) }; return v.withUnsafeMutableBytes { k($0.baseAddress) }
    case .i64(var v): box.storage = .i64([]); defer { box.storage = .i64(v) }; return v.withUnsafeMutableBytes { k($0.baseAddress) }
    case .bool(var v): box.storage = .bool([]); defer { box.storage = .bool(v) }; return v.withUnsafeMutableBytes { k($0.baseAddress) }
    }
  }
  let boxes = outputs.map { Box($0.storage) }
  for k in outputs.indices { outputs[k].storage = .f32([]) }  // drop the second reference: no copy on write
  var pointers = [UnsafeMutableRawPointer?](repeating: nil, count: inputs.count + boxes.count)
  func step(_ i: Int) -> R {
    if i < inputs.count {
      return readOnly(inputs[i].storage) { p in
        pointers[i] = p
        return step(i + 1)
      }
    }
    let j = i - inputs.count
    if j < boxes.count {
      return writable(boxes[j]) { p in
        pointers[i] = p
        return step(i + 1)
      }
    }
    return body(pointers)
  }
  let r = step(0)
  for k in outputs.indices { outputs[k].storage = boxes[k].storage }
  return r
}
