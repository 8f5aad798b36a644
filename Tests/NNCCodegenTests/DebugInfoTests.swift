// Provenance in the object: kernels are named after what they compute, and the DWARF line table
// maps each kernel's addresses to the lines of the instructions it was lowered from (the
// `.swiftgraph` lines of a parsed graph, the Swift `file:line` of a traced one). Read back with
// `nm` and `llvm-dwarfdump --debug-line`.

import CLLVM
import Foundation
import NNC
@testable import NNCCodegen
import NNCIR
import NNCPasses
import NNCTestSupport
import Testing

/// `llvm-dwarfdump` of LLVM 14, if installed.
private let dwarfdump: String? = ["/usr/bin/llvm-dwarfdump-14", "/usr/lib/llvm-14/bin/llvm-dwarfdump"].first {
  FileManager.default.isExecutableFile(atPath: $0)
}

/// One row of a line table: an address and the file and line it maps to.
private struct LineRow {
  var address: UInt64
  var file: String
  var line: Int
}

/// The rows of the line table of `object` (one compile unit), file names with their directory.
private func lineTable(_ object: String) throws -> [LineRow] {
  let text = try runTool(try #require(dwarfdump), ["--debug-line", object])
  var directories: [Int: String] = [:]
  var files: [Int: (name: String, dir: Int)] = [:]
  var current = 0
  var rows: [LineRow] = []
  func quoted(_ s: Substring) -> String {
    guard let a = s.firstIndex(of: "\""), let b = s.lastIndex(of: "\""), a < b else { return "" }
    return String(s[s.index(after: a)..<b])
  }
  func index(_ s: Substring) -> Int {
    Int(s.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces)) ?? -1
  }
  for line in text.split(separator: "\n") {
    let trimmed = line.trimmingCharacters(in: .whitespaces)
    if trimmed.hasPrefix("include_directories[") {
      directories[index(line[...])] = quoted(line)
    } else if trimmed.hasPrefix("file_names[") {
      current = index(line[...])
      files[current] = ("", 0)
    } else if trimmed.hasPrefix("name:") {
      files[current]?.name = quoted(line)
    } else if trimmed.hasPrefix("dir_index:") {
      files[current]?.dir = Int(trimmed.dropFirst("dir_index:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    } else if trimmed.hasPrefix("0x") {
      let fields = trimmed.split(separator: " ")
      guard fields.count >= 4, let address = UInt64(fields[0].dropFirst(2), radix: 16), let lineNo = Int(fields[1]),
        let file = Int(fields[3]), let entry = files[file]
      else { continue }
      let path = entry.dir == 0 ? entry.name : (directories[entry.dir] ?? "?") + "/" + entry.name
      rows.append(LineRow(address: address, file: path, line: lineNo))
    }
  }
  return rows
}

/// The functions `nm` lists in `object`'s text, with the address range each covers.
private func functionRanges(_ object: String) throws -> [String: Range<UInt64>] {
  let listing = try runTool("nm", ["--defined-only", object])
  let symbols: [(UInt64, String)] = listing.split(separator: "\n").compactMap { line in
    let fields = line.split(separator: " ")
    guard fields.count == 3, fields[1] == "t" || fields[1] == "T", let address = UInt64(fields[0], radix: 16) else { return nil }
    return (address, String(fields[2]))
  }.sorted { $0.0 < $1.0 }
  var out: [String: Range<UInt64>] = [:]
  for (k, (address, name)) in symbols.enumerated() {
    out[name] = address..<(k + 1 < symbols.count ? symbols[k + 1].0 : UInt64.max)
  }
  return out
}

/// The object of `graph` written to a temporary file.
private func objectFile(_ graph: Graph, name: String) throws -> String {
  let path = temporaryDirectory().appendingPathComponent(name + ".o").path
  try Data(try NNCCodegen.compile(graph).object).write(to: URL(fileURLWithPath: path))
  return path
}

/// The (file, line) pairs of the rows of `rows` in `range`, line 0 left out (LLVM's mark for
/// code with no single source line, such as instructions hoisted out of a loop).
private func lines(_ rows: [LineRow], in range: Range<UInt64>) -> Set<String> {
  Set(rows.filter { range.contains($0.address) && $0.line != 0 }.map { "\($0.file):\($0.line)" })
}

private let model = """
  swiftgraph 1
  func @f(%x: f32[64], %y: f32[64]) -> f32[64] {
    %0 = mul %x, %y
    %1 = tanh %0
    %2 = add %1, %x
    %3 = mul %2, %y
    return %3
  }
  """

@Suite struct DebugInfoTests {
  /// Each kernel's symbol says what it computes, and its addresses map to its instruction's
  /// line; the body's kernel calls map to their instructions' lines.
  @Test(.enabled(if: dwarfdump != nil)) func parsedGraphMapsKernelsToTheirLines() throws {
    let object = try objectFile(loadGraph(model, file: "models/model.swiftgraph"), name: "model")
    let ranges = try functionRanges(object)
    #expect(
      Set(ranges.keys.filter { $0.contains(".") }) == [
        "nnc_f.body", "nnc_f.k0.mul.f32x64", "nnc_f.k1.tanh.f32x64", "nnc_f.k2.add.f32x64",
      ])
    let rows = try lineTable(object)
    #expect(!rows.isEmpty)
    func at(_ n: Int) -> String { "models/model.swiftgraph:\(n)" }
    // The two muls share kernel k0: it keeps the first one's line.
    #expect(lines(rows, in: try #require(ranges["nnc_f.k0.mul.f32x64"])) == [at(3)])
    #expect(lines(rows, in: try #require(ranges["nnc_f.k1.tanh.f32x64"])) == [at(4)])
    #expect(lines(rows, in: try #require(ranges["nnc_f.k2.add.f32x64"])) == [at(5)])
    let body = lines(rows, in: try #require(ranges["nnc_f.body"]))
    #expect(body.isSuperset(of: [at(3), at(4), at(5), at(6)]), "\(body)")
    #expect(body.isSubset(of: [at(2), at(3), at(4), at(5), at(6)]), "\(body)")
    // The typed and packed entries only forward to the body: no lines of their own.
    #expect(lines(rows, in: try #require(ranges["nnc_f"])).isEmpty)
  }

  /// A fused kernel is named after the ops of its region and maps each op's code to its line.
  @Test(.enabled(if: dwarfdump != nil)) func fusedKernelMapsEachOpToItsLine() throws {
    var g = try loadGraph(model, file: "fused.swiftgraph")
    try PassManager(passes: [Passes.fuse], verifyEach: true).run(&g)
    let object = try objectFile(g, name: "fused")
    let ranges = try functionRanges(object)
    let kernel = try #require(ranges["nnc_f.k0.mul.tanh.add.mul.f32x64"], "\(ranges.keys.sorted())")
    let found = lines(try lineTable(object), in: kernel)
    #expect(found.isSuperset(of: ["fused.swiftgraph:4", "fused.swiftgraph:5", "fused.swiftgraph:6"]), "\(found)")
    #expect(found.isSubset(of: (2...6).map { "fused.swiftgraph:\($0)" }), "\(found)")
  }

  /// A traced function's object names the Swift file and the lines of the traced calls.
  @Test(.enabled(if: dwarfdump != nil)) func tracedFunctionMapsToSwiftLines() throws {
    let line = #line + 2
    let t = NNC.trace(Tensor([Float](repeating: 0.5, count: 64), shape: [64]), name: "traced") { x in
      let e = x.exp()
      return e.tanh()
    }
    let object = try objectFile(Graph(functions: [t.function]), name: "traced")
    let ranges = try functionRanges(object)
    let rows = try lineTable(object)
    let file = "NNCCodegenTests/DebugInfoTests.swift"
    #expect(lines(rows, in: try #require(ranges["nnc_traced.k0.exp.f32x64"])) == ["\(file):\(line)"])
    #expect(lines(rows, in: try #require(ranges["nnc_traced.k1.tanh.f32x64"])) == ["\(file):\(line + 1)"])
    #expect(lines(rows, in: try #require(ranges["nnc_traced.body"])).contains("\(file):\(line + 1)"))
  }

  /// A graph with no location at all gets no debug information.
  @Test func graphWithoutLocationsHasNoDebugInfo() throws {
    var g = try loadGraph(model)
    g.functions[0].textPos = nil
    g.functions[0].body.instructions = g.functions[0].body.instructions.map { var i = $0; i.textPos = nil; return i }
    let ir = try #require(try NNCCodegen.compile(g, options: CompileOptions(emitLLVMIR: true)).llvmIR)
    #expect(!ir.contains("!DICompileUnit"))
    let located = try #require(try NNCCodegen.compile(loadGraph(model), options: CompileOptions(emitLLVMIR: true)).llvmIR)
    #expect(located.contains("!DICompileUnit(language: DW_LANG_C99, file: !"))
    #expect(located.contains("producer: \"nnc \(nncVersion)\""))
    #expect(located.contains("emissionKind: LineTablesOnly"))
    #expect(located.contains("!\"Dwarf Version\", i32 4}"))
  }

  /// Names are plain symbols: odd characters become `_`, long names are cut.
  @Test func kernelNamesArePlainSymbols() {
    #expect(FunctionLowering.symbolName("tanh.f32x64xN") == "tanh.f32x64xN")
    #expect(FunctionLowering.symbolName("a b[1,2]é") == "a_b_1_2__")
    #expect(FunctionLowering.symbolName(String(repeating: "add.", count: 100)).count == FunctionLowering.maxKernelNameLength)
    #expect(FunctionLowering.typeName(TensorType(.f32, [.sym("N"), .int(3)])) == "f32xNx3")
    #expect(FunctionLowering.typeName(TensorType(.i64, [])) == "i64")
  }

  /// `withSourceLocation` nests: each level sets its line (another file's through a lexical
  /// block file of the function) and gives the previous one back; the module verifies.
  @Test func withSourceLocationNests() throws {
    let g = try loadGraph(model, file: "m.swiftgraph")
    let tm = try TargetMachine(TargetOptions())
    try withLLVMLock { () throws(CodegenError) in
      let ctx = LLVMContextCreate()!
      defer { LLVMContextDispose(ctx) }
      let module = LLVMModuleCreateWithNameInContext("t", ctx)!
      defer { LLVMDisposeModule(module) }
      tm.configure(module)
      let debug = DebugInfo(module: module, ctx: ctx, graph: g)
      let l = FunctionLowering(
        ctx: ctx, module: module, function: g.functions[0], vectorWidth: nil, kernels: KernelCache(), debugInfo: debug)
      let fn = l.declare("t", l.void, [l.i64])
      LLVMPositionBuilderAtEnd(l.b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
      func current() -> (line: UInt32, file: String) {
        let loc = LLVMGetCurrentDebugLocation2(l.b)!
        var n: UInt32 = 0
        let file = LLVMDIScopeGetFile(LLVMDILocationGetScope(loc))!
        let name = LLVMDIFileGetFilename(file, &n)!
        return (LLVMDILocationGetLine(loc), String(decoding: UnsafeRawBufferPointer(start: name, count: Int(n)), as: UTF8.self))
      }
      l.beginDebugFunction(fn, name: "t", at: Location(file: "m.swiftgraph", line: 2))
      #expect(current().line == 2)
      var x = LLVMGetParam(fn, 0)!
      l.withSourceLocation(Location(file: "m.swiftgraph", line: 3)) {
        x = LLVMBuildAdd(l.b, x, l.constI64(1), "")
        #expect(current().line == 3)
        l.withSourceLocation(Location(file: "Other.swift", line: 40, column: 7)) {
          x = LLVMBuildMul(l.b, x, x, "")
          #expect(current() == (40, "Other.swift"))
        }
        #expect(current() == (3, "m.swiftgraph"))
        l.withSourceLocation(nil) { #expect(current().line == 2) }
      }
      #expect(current().line == 2)
      LLVMBuildRetVoid(l.b)
      l.endDebugFunction()
      #expect(LLVMGetCurrentDebugLocation2(l.b) == nil)
      debug?.finalize()
      try verifyModule(module)
    }
  }

  /// The code generation child and the in-process path give the same bytes, debug
  /// information included.
  @Test func inProcessAndIsolatedGiveTheSameObjectWithDebugInfo() throws {
    let g = try loadGraph(model, file: "model.swiftgraph")
    let tm = try TargetMachine(TargetOptions())
    func build() -> (LLVMContextRef, LLVMModuleRef) {
      withLLVMLock {
        let ctx = LLVMContextCreate()!
        let module = LLVMModuleCreateWithNameInContext("nnc", ctx)!
        tm.configure(module)
        let debug = DebugInfo(module: module, ctx: ctx, graph: g)
        let kernels = KernelCache()
        for f in g.functions {
          FunctionLowering(ctx: ctx, module: module, function: f, vectorWidth: nil, kernels: kernels, debugInfo: debug)
            .lowerEntry()
        }
        debug?.finalize()
        return (ctx, module)
      }
    }
    let (ca, a) = build()
    let (cb, b) = build()
    defer {
      withLLVMLock {
        LLVMDisposeModule(a)
        LLVMDisposeModule(b)
        LLVMContextDispose(ca)
        LLVMContextDispose(cb)
      }
    }
    try withLLVMLock { () throws(CodegenError) in try verifyModule(a) }
    let isolated = try tm.optimizeAndEmit(a, emitAssembly: true, inProcess: false)
    let here = try tm.optimizeAndEmit(b, emitAssembly: true, inProcess: true)
    #expect(isolated.object == here.object)
    #expect(isolated.assembly == here.assembly)
    #expect(isolated.assembly?.contains(".file\t1 \"model.swiftgraph\"") == true)
    #expect(isolated.assembly?.contains(".loc\t1 4 ") == true)
  }
}
