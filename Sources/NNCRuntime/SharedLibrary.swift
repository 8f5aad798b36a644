// Loading compiled code: dlopen a shared library the system linker made and call its packed
// entry points, in a workspace kept between calls. No code is generated in memory.

#if canImport(Glibc)
  import Glibc
#endif
import NNCIR
import Synchronization

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
/// The packed entry in the caller's workspace: buffers, symbol sizes, workspace.
public typealias PackedEntryWithWorkspace =
  @convention(c) (UnsafePointer<UnsafeMutableRawPointer?>?, UnsafePointer<Int64>?, UnsafeMutableRawPointer?) -> Int32
/// The packed workspace size: the bytes of workspace a call at these symbol sizes needs.
public typealias PackedWorkspaceSize = @convention(c) (UnsafePointer<Int64>?) -> Int64

/// A 64-byte-aligned workspace kept between the calls of one compiled function: allocated on
/// first use, grown (freed and allocated anew) when a call needs more bytes than it holds,
/// reused otherwise, and freed when the last copy of its `CompiledEntry` goes away. Its pages
/// are touched once, so calls after the first do not page-fault on intermediates.
///
/// Thread safety: one call at a time uses it. A call that finds it in use by another thread
/// does not wait: it gets nil and runs in a workspace of its own for that call (the allocating
/// entry), so concurrent calls of one function never share bytes and never serialize.
public final class ReusableWorkspace: @unchecked Sendable {
  private struct Block {
    var pointer: UnsafeMutableRawPointer?
    var capacity = 0
  }
  private let block = Mutex(Block())

  public init() {}

  deinit { block.withLock { free($0.pointer) } }

  /// Bytes held now (0 before the first call that needed workspace).
  public var capacity: Int { block.withLock { $0.capacity } }

  /// Calls `body` with this workspace grown to at least `bytes` bytes (nil when `bytes` is 0),
  /// holding it for the call. Returns nil without calling `body` when another call holds it or
  /// growing it failed.
  public func withWorkspace<R>(bytes: Int, _ body: (UnsafeMutableRawPointer?) -> R) -> R? {
    // The closure must return a sending value; the result is moved out through a local.
    var result: R?
    let ran = block.withLockIfAvailable { (b: inout Block) -> Bool in
      if bytes > b.capacity {
        free(b.pointer)
        b = Block()
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, WorkspaceABI.alignment, bytes) == 0, let p else { return false }
        b = Block(pointer: p, capacity: bytes)
      }
      result = body(bytes == 0 ? nil : b.pointer)
      return true
    }
    return ran == true ? result : nil
  }
}

/// What the entry ABI asks of a caller's workspace (docs/abi.md).
public enum WorkspaceABI {
  /// A caller's workspace starts at a multiple of this many bytes.
  public static let alignment = 64
  /// The status of a `_with_workspace` entry given a null or misaligned workspace it needs.
  public static let invalidWorkspaceStatus: Int32 = -1
}

/// A compiled function: its IR (for shapes and messages), its packed entry points and the
/// workspace its checked calls (`run`) reuse.
public struct CompiledEntry: @unchecked Sendable {
  public let function: Function
  let entry: PackedEntry
  let entryWithWorkspace: PackedEntryWithWorkspace
  let workspaceSizeEntry: PackedWorkspaceSize
  /// The workspace `run` uses, shared by the copies of this entry.
  public let workspace = ReusableWorkspace()
  /// Keeps the library loaded.
  let library: SharedLibrary

  /// Resolves the entry points of `function` in `library`: `symbol` is its packed entry
  /// (`CEntrySymbols.packed`); the packed forms with a workspace and of the workspace size
  /// are found by their suffixes.
  public init(function: Function, library: SharedLibrary, symbol: String) throws(RuntimeError) {
    func resolve(_ name: String) throws(RuntimeError) -> UnsafeMutableRawPointer {
      guard let p = library.symbol(name) else { throw .kernel("\(library.path) has no symbol \(name)") }
      return p
    }
    self.function = function
    self.library = library
    entry = unsafeBitCast(try resolve(symbol), to: PackedEntry.self)
    entryWithWorkspace = unsafeBitCast(try resolve(symbol + CEntrySymbols.withWorkspaceSuffix), to: PackedEntryWithWorkspace.self)
    workspaceSizeEntry = unsafeBitCast(try resolve(symbol + CEntrySymbols.workspaceSizeSuffix), to: PackedWorkspaceSize.self)
  }

  /// Calls the entry with raw buffers (parameters then results, each dense row-major and at
  /// least as large as its type needs) and the sizes of `function.sizeSymbols` in order; the
  /// entry allocates its workspace. Returns the status code (0 on success). No checks: the
  /// caller owns the contract.
  public func callUnchecked(_ buffers: [UnsafeMutableRawPointer?], sizes: [Int64]) -> Int32 {
    buffers.withUnsafeBufferPointer { b in sizes.withUnsafeBufferPointer { s in entry(b.baseAddress, s.baseAddress) } }
  }

  /// Calls the entry in the caller's `workspace` (at least `workspaceSize(sizes:)` bytes,
  /// 64-byte aligned; status -1 otherwise): allocates nothing. Otherwise as
  /// `callUnchecked(_:sizes:)`.
  public func callUnchecked(_ buffers: [UnsafeMutableRawPointer?], sizes: [Int64], workspace: UnsafeMutableRawPointer?) -> Int32 {
    buffers.withUnsafeBufferPointer { b in
      sizes.withUnsafeBufferPointer { s in entryWithWorkspace(b.baseAddress, s.baseAddress, workspace) }
    }
  }

  /// The bytes of workspace a call at these symbol sizes needs (the compiled
  /// `nnc_NAME_packed_workspace_size`; 0 when none).
  public func workspaceSize(sizes: [Int64]) -> Int {
    Int(sizes.withUnsafeBufferPointer { workspaceSizeEntry($0.baseAddress) })
  }

  /// Runs on arrays: checks inputs as the interpreter does, allocates the results, calls the
  /// compiled code in the workspace this entry keeps (`ReusableWorkspace`), and turns a failed
  /// guard into `RuntimeError.guardFailed`.
  public func run(_ inputs: [NDArray]) throws(RuntimeError) -> [NDArray] {
    // Capture only the entry points: capturing `self` copies the whole IR function per call.
    let (entry, entryWithWorkspace, workspace) = (self.entry, self.entryWithWorkspace, self.workspace)
    return try run(inputs) { b, s, bytes in
      // The kept workspace; when another thread is using it, or it cannot grow, the entry
      // allocates one for this call.
      workspace.withWorkspace(bytes: bytes) { entryWithWorkspace(b, s, $0) } ?? entry(b, s)
    }
  }

  /// Runs on arrays as `run(_:)` does, in the caller's `workspace`, which must hold at least
  /// `workspaceSize(sizes:)` bytes at these inputs' sizes and be 64-byte aligned (else the
  /// entry computes nothing and this throws `RuntimeError.kernel` naming status -1).
  public func run(_ inputs: [NDArray], workspace: UnsafeMutableRawPointer?) throws(RuntimeError) -> [NDArray] {
    let entryWithWorkspace = self.entryWithWorkspace
    return try run(inputs) { b, s, _ in entryWithWorkspace(b, s, workspace) }
  }

  /// `run`'s work, with `call` running the compiled code on the buffer and size arrays, given
  /// the workspace bytes the call needs.
  private func run(
    _ inputs: [NDArray],
    call: (UnsafePointer<UnsafeMutableRawPointer?>?, UnsafePointer<Int64>?, Int) -> Int32
  ) throws(RuntimeError) -> [NDArray] {
    let bindings = try Interpreter.bindInputs(function, inputs)
    // With symbols bound, a shape rule can fail at run time (an argmax over an axis of size 0,
    // a result past 2^48 elements): the compiled code does not check, so let the reference
    // interpreter give its exact outcome (the error, or the result when it is in a branch not
    // taken) instead of computing garbage or failing to allocate the results.
    if !bindings.isEmpty && !shapeRulesHold(bindings) { return try Interpreter.run(function, inputs) }
    let symbols = function.sizeSymbols
    // Result sizes come from the inputs: an impossible one is an error, not a trap in malloc.
    // Every intermediate lives in the workspace; an impossible one is named here rather than
    // reported as a bare status 1 (or an overflowing workspace size).
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
    let bytes = workspaceSize(sizes: sizes)
    let status = withBuffers(inputs, &outputs) { ptrs in
      ptrs.withUnsafeBufferPointer { b in sizes.withUnsafeBufferPointer { s in call(b.baseAddress, s.baseAddress, bytes) } }
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
      case .cond, .fused:
        // Declared results; a fused op's region is checked op by op (the walk enters it).
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
