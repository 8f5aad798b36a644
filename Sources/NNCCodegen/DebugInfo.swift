// Debug line information: each kernel and each function's body gets a DISubprogram, and every
// LLVM instruction the source line of the IR instruction it was lowered from (its `provenance`:
// a traced op's Swift `file:line`, else its line in the parsed `.swiftgraph`), so `perf report`,
// `gdb` and `objdump -S` show where hot code came from. Line tables only, DWARF 4.

import CLLVM
import NNCIR

/// The DWARF version of the line tables. LLVM 14 defaults to 5; 4 is read by every profiler,
/// debugger and `addr2line` still in use (binutils before 2.35 and older `perf` builds cannot
/// read version 5), and line tables gain nothing from 5.
let dwarfVersion: UInt64 = 4

/// The debug information of one module: one compile unit, a DIFile per source file, and a
/// subprogram per function given one (`FunctionLowering.beginDebugFunction`).
///
/// Line tables only (`LLVMDWARFEmissionLineTablesOnly`): the kernels have no source-level
/// variables or types to describe (their arguments are buffers of the graph's values), and
/// what a profiler or debugger needs is each function's name, which the symbol table gives,
/// and the line of every address, return addresses included (so a backtrace shows the line
/// of each frame), which the line table gives. The subprograms scope the locations in the IR;
/// LLVM emits no DWARF entries for them in this mode.
final class DebugInfo {
  let builder: LLVMDIBuilderRef
  let ctx: LLVMContextRef
  private var compileUnit: LLVMMetadataRef!
  /// The compile unit's file: where a function without a location is placed (at line 0).
  private var primaryFile: LLVMMetadataRef!
  private var files: [String: LLVMMetadataRef] = [:]
  /// Scopes for lines in another file than their function's: a lexical block file per
  /// (subprogram, file).
  private var blockFiles: [BlockFileKey: LLVMMetadataRef] = [:]
  private var subroutineType: LLVMMetadataRef!

  private struct BlockFileKey: Hashable {
    var subprogram: Int
    var file: String
  }

  /// The debug information for `graph` in `module`, nil when no instruction or function of
  /// the graph names a source file (a graph built without locations): such a module gets
  /// none, as before.
  init?(module: LLVMModuleRef, ctx: LLVMContextRef, graph: Graph) {
    guard let primary = DebugInfo.primaryFile(graph) else { return nil }
    self.ctx = ctx
    builder = LLVMCreateDIBuilder(module)
    let i32 = LLVMInt32TypeInContext(ctx)
    func flag(_ key: String, _ value: UInt64) {
      LLVMAddModuleFlag(
        module, LLVMModuleFlagBehaviorWarning, key, key.utf8.count, LLVMValueAsMetadata(LLVMConstInt(i32, value, 0)))
    }
    flag("Dwarf Version", dwarfVersion)
    flag("Debug Info Version", UInt64(LLVMDebugMetadataVersion()))
    let producer = "nnc \(nncVersion)"
    primaryFile = file(primary)
    compileUnit = LLVMDIBuilderCreateCompileUnit(
      builder, LLVMDWARFSourceLanguageC99, primaryFile, producer, producer.utf8.count, 1, "", 0, 0, "", 0,
      LLVMDWARFEmissionLineTablesOnly, 0, 0, 0, "", 0, "", 0)
    var none: [LLVMMetadataRef?] = []
    subroutineType = LLVMDIBuilderCreateSubroutineType(builder, primaryFile, &none, 0, LLVMDIFlagZero)
  }

  /// The first source file the graph names: the first function's, else the first located
  /// instruction's.
  static func primaryFile(_ graph: Graph) -> String? {
    for f in graph.functions {
      if let pos = f.textPos, !pos.file.isEmpty { return pos.file }
      var found: String?
      f.forEachInstruction { inst in
        if found == nil, let p = sourceLocation(inst.provenance) { found = p.file }
      }
      if let found { return found }
    }
    return nil
  }

  /// The DIFile of `path`, made once. The path is kept as the graph states it (relative paths
  /// stay relative, `<stdin>` and `<input>` stay as they are: the lines still count in what
  /// was read) with an empty directory, so the object does not depend on the directory it was
  /// compiled in.
  func file(_ path: String) -> LLVMMetadataRef {
    if let f = files[path] { return f }
    let f = LLVMDIBuilderCreateFile(builder, path, path.utf8.count, "", 0)!
    files[path] = f
    return f
  }

  /// A subprogram for `fn`, named `name`, at `loc` (line 0 of the compile unit's file when nil).
  func subprogram(for fn: LLVMValueRef, name: String, at loc: Location?) -> LLVMMetadataRef {
    let located = sourceLocation(loc)
    let file = located.map { self.file($0.file) } ?? primaryFile!
    let line = UInt32(clamping: located?.line ?? 0)
    let sp = LLVMDIBuilderCreateFunction(
      builder, file, name, name.utf8.count, "", 0, file, line, subroutineType, 1, 1, line, LLVMDIFlagPrototyped, 1)!
    LLVMSetSubprogram(fn, sp)
    return sp
  }

  /// A DILocation for `loc` (its first origin: a fused location has several, a line table row
  /// one) in the function of subprogram `sp`; the function's own line when `loc` is nil.
  func location(_ loc: Location?, in sp: LLVMMetadataRef) -> LLVMMetadataRef {
    guard let l = sourceLocation(loc) else {
      return LLVMDIBuilderCreateDebugLocation(ctx, LLVMDISubprogramGetLine(sp), 0, sp, nil)
    }
    var scope = sp
    if l.file != fileName(of: sp) {
      let key = BlockFileKey(subprogram: Int(bitPattern: sp), file: l.file)
      if let s = blockFiles[key] {
        scope = s
      } else {
        scope = LLVMDIBuilderCreateLexicalBlockFile(builder, sp, file(l.file), 0)
        blockFiles[key] = scope
      }
    }
    return LLVMDIBuilderCreateDebugLocation(ctx, UInt32(clamping: l.line), UInt32(clamping: l.column ?? 0), scope, nil)
  }

  private func fileName(of scope: LLVMMetadataRef) -> String {
    var length: UInt32 = 0
    guard let file = LLVMDIScopeGetFile(scope), let p = LLVMDIFileGetFilename(file, &length) else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: Int(length)), as: UTF8.self)
  }

  /// Completes the debug information (call once, after every function is built, before the
  /// module is verified or emitted).
  func finalize() {
    LLVMDIBuilderFinalize(builder)
    LLVMDisposeDIBuilder(builder)
  }
}

/// The origin a line table can show for `loc`: its first, when it names a file (an empty file
/// name is no location) and a line.
private func sourceLocation(_ loc: Location?) -> (file: String, line: Int, column: Int?)? {
  guard let loc, !loc.file.isEmpty, loc.line >= 0 else { return nil }
  return (loc.file, loc.line, loc.column)
}

/// The source positions the debug information of `graph`'s object reads, as text: per function
/// its position, per instruction (in `forEachInstruction` order) its `provenance`. The compile
/// cache puts it in the key, so a graph is never handed another graph's line table.
public func debugProvenanceText(_ graph: Graph) -> String {
  var out = ""
  for f in graph.functions {
    out += "@\(f.name) \(f.textPos?.description ?? "-")\n"
    f.forEachInstruction { inst in out += "  \(inst.provenance?.description ?? "-")\n" }
  }
  return out
}

/// The state `beginDebugFunction` replaces, for `endDebugFunction` to put back.
struct DebugFunctionState {
  var scope: LLVMMetadataRef?
  var location: LLVMMetadataRef?
}

extension FunctionLowering {
  /// Gives `fn` (named `name`) a subprogram at `loc` and attributes the instructions built from
  /// now on to `loc` (the function's line), until `endDebugFunction`. Returns what it replaced:
  /// a kernel is built while its caller is half built. Does nothing without debug information.
  @discardableResult
  func beginDebugFunction(_ fn: LLVMValueRef, name: String, at loc: Location?) -> DebugFunctionState {
    let saved = DebugFunctionState(scope: debugScope, location: LLVMGetCurrentDebugLocation2(b))
    guard let debugInfo else { return saved }
    let sp = debugInfo.subprogram(for: fn, name: name, at: loc)
    debugScope = sp
    LLVMSetCurrentDebugLocation2(b, debugInfo.location(loc, in: sp))
    return saved
  }

  /// Ends the function `beginDebugFunction` began: puts back the scope and location it replaced.
  func endDebugFunction(_ saved: DebugFunctionState = DebugFunctionState()) {
    debugScope = saved.scope
    LLVMSetCurrentDebugLocation2(b, saved.location)
  }

  /// Runs `body`, attributing the LLVM instructions it builds to `loc` (an IR instruction's
  /// `provenance`), then restores the location that was current before: calls nest, so a
  /// fused kernel can give each op of its body its own line inside the kernel's function.
  /// A nil `loc` stands for the function's own line. Outside a function with a subprogram, or
  /// without debug information, it only runs `body`.
  func withSourceLocation<T>(_ loc: Location?, _ body: () -> T) -> T {
    guard let debugInfo, let scope = debugScope else { return body() }
    let saved = LLVMGetCurrentDebugLocation2(b)
    LLVMSetCurrentDebugLocation2(b, debugInfo.location(loc, in: scope))
    defer { LLVMSetCurrentDebugLocation2(b, saved) }
    return body()
  }

  /// Where the function's body is attributed: the `func` line of a parsed function, else its
  /// first located instruction (a traced function has no line of its own).
  var functionLocation: Location? {
    if let pos = f.textPos { return Location(pos) }
    var first: Location?
    f.forEachInstruction { inst in if first == nil { first = inst.provenance } }
    return first
  }
}
