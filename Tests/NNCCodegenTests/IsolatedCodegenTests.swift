// LLVM's fatal errors and crashes in the optimizer and back end become `CodegenError`s: that
// step runs in a child process (`optimizeAndEmit`), and this process goes on compiling.

import CLLVM
import Foundation
@testable import NNCCodegen
import NNCIR
import NNCPasses
import NNCRuntime
import Testing

private let small = """
  swiftgraph 1
  func @f(%x: f32[N], %y: f32[N]) -> f32[N] {
    %0 = mul %x, %y
    %1 = add %0, %x
    return %1
  }
  """

/// A module built with the C API, with its context; dispose with `dispose()`.
private final class TestModule {
  let ctx: LLVMContextRef
  let module: LLVMModuleRef
  let sink = DiagnosticSink()

  /// `body` adds functions to the module.
  init(_ tm: TargetMachine, _ body: (LLVMContextRef, LLVMModuleRef, LLVMBuilderRef) -> Void) {
    (ctx, module) = withLLVMLock {
      let ctx = LLVMContextCreate()!
      let module = LLVMModuleCreateWithNameInContext("test", ctx)!
      tm.configure(module)
      let b = LLVMCreateBuilderInContext(ctx)!
      body(ctx, module, b)
      LLVMDisposeBuilder(b)
      return (ctx, module)
    }
    withLLVMLock { sink.install(on: ctx) }
  }

  deinit {
    withLLVMLock {
      LLVMDisposeModule(module)
      LLVMContextDispose(ctx)
    }
  }

  /// `float NAME(float a, float b)` returning `callee(a, b)`, or `a + b` without a callee.
  static func binary(_ tm: TargetMachine, name: String = "f", callee: String? = nil) -> TestModule {
    TestModule(tm) { ctx, module, b in
      let f32 = LLVMFloatTypeInContext(ctx)
      var params: [LLVMTypeRef?] = [f32, f32]
      let type = LLVMFunctionType(f32, &params, 2, 0)!
      let fn = LLVMAddFunction(module, name, type)!
      LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
      var args: [LLVMValueRef?] = [LLVMGetParam(fn, 0), LLVMGetParam(fn, 1)]
      let value: LLVMValueRef
      if let callee {
        let decl = LLVMAddFunction(module, callee, type)!
        value = LLVMBuildCall2(b, type, decl, &args, 2, "")
      } else {
        value = LLVMBuildFAdd(b, args[0], args[1], "")
      }
      LLVMBuildRet(b, value)
    }
  }

  /// LLVM 14's x86 back end cannot select `llvm.maximum.f32` (fmaximum): "LLVM ERROR: Cannot
  /// select", a fatal error that ends the process it happens in.
  static func unselectable(_ tm: TargetMachine) -> TestModule { binary(tm, callee: "llvm.maximum.f32") }

  /// Inline assembly that does not assemble: the back end reports an error diagnostic.
  static func badInlineAsm(_ tm: TargetMachine) -> TestModule {
    TestModule(tm) { ctx, module, b in
      let void = LLVMVoidTypeInContext(ctx)
      let type = LLVMFunctionType(void, nil, 0, 0)!
      let fn = LLVMAddFunction(module, "g", type)!
      LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
      var text = Array("bogus_instruction_xyz".utf8CString)
      var constraints = Array("".utf8CString)
      let asm = LLVMGetInlineAsm(type, &text, text.count - 1, &constraints, 0, 1, 0, LLVMInlineAsmDialectATT, 0)!
      _ = LLVMBuildCall2(b, type, asm, nil, 0, "")
      LLVMBuildRetVoid(b)
    }
  }
}

/// Compiles, links, loads and runs `small`, and checks the result: the process still compiles.
private func compileStillWorks() throws {
  let g = try loadGraph(small)
  let entry = try #require(try compileAndLoad(g)["f"])
  let x = NDArray([Float(1), 2, 3], shape: [3])
  let y = NDArray([Float(4), 5, 6], shape: [3])
  let r = try entry.run([x, y])
  #expect(r[0] == NDArray([Float(5), 12, 21], shape: [3]))
}

/// The description of the `CodegenError` `body` throws, nil when it throws nothing.
private func codegenError(_ body: () throws -> Void) -> String? {
  do {
    try body()
    return nil
  } catch let error as CodegenError {
    return error.description
  } catch {
    return "not a CodegenError: \(error)"
  }
}

@Suite struct IsolatedCodegenTests {
  @Test func cannotSelectIsAnErrorAndTheProcessGoesOn() throws {
    let tm = try TargetMachine(TargetOptions())
    let m = TestModule.unselectable(tm)
    let message = try #require(codegenError { _ = try tm.optimizeAndEmit(m.module) })
    #expect(message.hasPrefix("LLVM: Cannot select"), "\(message)")
    #expect(message.contains("fmaximum"), "\(message)")
    try compileStillWorks()
  }

  @Test func cannotSelectThroughTheCompilePath() throws {
    let tm = try TargetMachine(TargetOptions())
    let m = TestModule.unselectable(tm)
    let options = CompileOptions(emitAssembly: true, emitLLVMIR: true)
    let message = try #require(codegenError { _ = try finishCompile(m.module, tm, m.sink, header: "", options: options) })
    #expect(message.hasPrefix("LLVM: Cannot select"), "\(message)")
    // The module is left as it was: an in-process look at it still shows the call.
    let ir = withLLVMLock { takeMessage(LLVMPrintModuleToString(m.module)) }
    #expect(ir.contains("call float @llvm.maximum.f32"))
    try compileStillWorks()
  }

  @Test func errorDiagnosticsOfTheChildReachTheCaller() throws {
    let tm = try TargetMachine(TargetOptions())
    let m = TestModule.badInlineAsm(tm)
    let message = try #require(codegenError { _ = try finishCompile(m.module, tm, m.sink, header: "", options: CompileOptions()) })
    #expect(message.hasPrefix("LLVM: "), "\(message)")
    #expect(message.contains("invalid instruction mnemonic 'bogus_instruction_xyz'"), "\(message)")
  }

  @Test func childKilledBySignalIsNamed() throws {
    let tm = try TargetMachine(TargetOptions())
    let m = TestModule.binary(tm)
    let killed = try #require(codegenError { _ = try tm.optimizeAndEmit(m.module, testSignal: SIGKILL) })
    #expect(killed == "LLVM code generation process was killed by SIGKILL, likely out of memory (the OOM killer)")
    let crashed = try #require(codegenError { _ = try tm.optimizeAndEmit(m.module, testSignal: SIGSEGV) })
    #expect(crashed.hasPrefix("LLVM crashed: the code generation process died from SIGSEGV"), "\(crashed)")
    // The same module still compiles.
    let out = try tm.optimizeAndEmit(m.module)
    #expect(out.object.starts(with: [0x7f, 0x45, 0x4c, 0x46]))  // ELF
  }

  /// A child that stops making progress (here stopped by SIGSTOP; in real life deadlocked on a
  /// lock another thread held at the fork) is killed after `CLLVM_STALL_SECONDS` and the step
  /// runs in process instead: the compile succeeds with the same code.
  @Test func stalledChildFallsBackToInProcess() throws {
    let tm = try TargetMachine(TargetOptions())
    let m = TestModule.binary(tm)
    let stalled = try tm.optimizeAndEmit(m.module, emitAssembly: true, testSignal: SIGSTOP)
    let fresh = TestModule.binary(tm)
    let direct = try tm.optimizeAndEmit(fresh.module, emitAssembly: true)
    #expect(stalled.object.starts(with: [0x7f, 0x45, 0x4c, 0x46]))  // ELF
    #expect(stalled.assembly == direct.assembly)
  }

  @Test func waitStatusesBecomeMessages() {
    func message(_ status: Int32, reason: String? = nil, problem: String? = nil, complete: Bool = true, _ said: String = "")
      -> String?
    {
      isolatedCodegenFailure(waitStatus: status, fatalReason: reason, problem: problem, complete: complete, messages: said)
    }
    #expect(message(0) == nil)
    #expect(message(0, complete: false) == "LLVM code generation process ended without sending its results")
    #expect(message(CLLVM_FATAL_EXIT << 8, reason: "Cannot select: x") == "LLVM: Cannot select: x")
    #expect(message(CLLVM_FATAL_EXIT << 8) == "LLVM: fatal error (no reason given)")
    #expect(message(3 << 8, "oops\n") == "LLVM code generation process exited with status 3; it printed: oops")
    #expect(
      message(SIGKILL) == "LLVM code generation process was killed by SIGKILL, likely out of memory (the OOM killer)")
    #expect(
      message(SIGABRT | 0x80, "LLVM ERROR: out of memory\nAllocation failed\n")  // 0x80: core dumped
        == "LLVM crashed: the code generation process died from SIGABRT (aborted); it printed: LLVM ERROR: out of memory; Allocation failed")
    #expect(message(SIGSEGV)?.hasPrefix("LLVM crashed: the code generation process died from SIGSEGV") == true)
    #expect(message(77)?.contains("signal 77") == true)
    // Not waited for (the program reaps its children itself): the records decide.
    #expect(message(-1) == nil)
    #expect(message(-1, reason: "Cannot select: x") == "LLVM: Cannot select: x")
    #expect(message(-1, complete: false)?.hasSuffix("cannot be waited for") == true)
    #expect(message(-1, problem: "pipe broke") == "LLVM code generation: pipe broke")
    #expect(message(0, problem: "truncated record") == "LLVM code generation: truncated record")
  }

  @Test func inProcessAndIsolatedGiveTheSameCode() throws {
    let tm = try TargetMachine(TargetOptions())
    let a = TestModule.binary(tm)
    let b = TestModule.binary(tm)
    let isolated = try tm.optimizeAndEmit(a.module, emitLLVMIR: true, emitAssembly: true, inProcess: false)
    let here = try tm.optimizeAndEmit(b.module, emitLLVMIR: true, emitAssembly: true, inProcess: true)
    #expect(isolated.object == here.object)
    #expect(isolated.assembly == here.assembly)
    #expect(isolated.llvmIR == here.llvmIR)
    #expect(isolated.llvmIR?.contains("fadd float") == true)
    #expect(isolated.assembly?.contains("vaddss") == true || isolated.assembly?.contains("addss") == true)
  }

  /// Large artifacts cross the pipe whole (the parent reads while the child writes).
  @Test func largeArtifactsArriveWhole() throws {
    let tm = try TargetMachine(TargetOptions())
    let m = TestModule(tm) { ctx, module, b in
      let f32 = LLVMFloatTypeInContext(ctx)
      var params: [LLVMTypeRef?] = [f32, f32]
      let type = LLVMFunctionType(f32, &params, 2, 0)!
      for k in 0..<3000 {
        let fn = LLVMAddFunction(module, "f\(k)", type)!
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"))
        var v = LLVMGetParam(fn, 0)!
        for _ in 0..<8 { v = LLVMBuildFMul(b, LLVMBuildFAdd(b, v, LLVMGetParam(fn, 1), ""), v, "") }
        LLVMBuildRet(b, v)
      }
    }
    let out = try tm.optimizeAndEmit(m.module, emitLLVMIR: true, emitAssembly: true)
    #expect(out.object.count > 100_000)
    #expect((out.assembly?.utf8.count ?? 0) > 1_000_000)
    #expect(out.assembly?.contains("f2999:") == true)
    #expect(out.llvmIR?.contains("define float @f2999(") == true)
  }

  /// Compiles from several threads at once, failing ones among them: every fork happens while
  /// other threads build modules, and each thread gets its own outcome.
  @Test func concurrentCompilesAndFailures() async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for k in 0..<8 {
        group.addTask {
          if k % 3 == 2 {
            let tm = try TargetMachine(TargetOptions())
            let m = TestModule.unselectable(tm)
            let message = codegenError { _ = try tm.optimizeAndEmit(m.module) }
            #expect(message?.hasPrefix("LLVM: Cannot select") == true)
          } else {
            try compileStillWorks()
          }
        }
      }
      try await group.waitForAll()
    }
  }
}
