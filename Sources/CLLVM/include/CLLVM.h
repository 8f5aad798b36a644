#ifndef NNC_CLLVM_H
#define NNC_CLLVM_H

#include "llvm-c/Core.h"
#include "llvm-c/Analysis.h"
#include "llvm-c/Target.h"
#include "llvm-c/TargetMachine.h"
#include "llvm-c/Transforms/PassBuilder.h"
#include "llvm-c/BitWriter.h"
#include "llvm-c/IRReader.h"
#include "llvm-c/DebugInfo.h"
#include "llvm-c/ErrorHandling.h"

#include <stddef.h>

/// Wraps the static-inline LLVMInitializeNative{Target,AsmPrinter,AsmParser} and installs
/// nnc's fatal-error handler. Returns 0 on success (LLVMBool convention: nonzero = failure).
LLVMBool cllvm_initialize_native(void);

/// The LLVM version nnc was built against, e.g. "14.0.6" (LLVM_VERSION_STRING from
/// llvm/Config/llvm-config.h; LLVM-C has LLVMGetVersion only from LLVM 16).
const char *cllvm_version_string(void);

/// The process-wide LLVM lock, taken shared by every section of the process that uses LLVM
/// (building, verifying and disposing modules, target machines) and exclusively only around
/// the fork of `cllvm_codegen_isolated`. Reentrant per thread (a depth count).
void cllvm_lock_shared(void);
void cllvm_unlock_shared(void);

/// Exit status of a code generation child that hit an LLVM fatal error (after sending the
/// reason), and of one that could not set itself up or write its results.
#define CLLVM_FATAL_EXIT 86
/// Seconds without CPU time or output after which the parent takes a code generation child
/// for deadlocked, kills it, and reports `stalled`.
#define CLLVM_STALL_SECONDS 10
#define CLLVM_SETUP_EXIT 87

/// What the code generation child does, in this order.
typedef struct {
    LLVMModuleRef module;
    LLVMTargetMachineRef target_machine;
    /// Run `default<O3>` (LLVMRunPasses, with the vectorizers on).
    int optimize;
    /// Print the (optimized) module as LLVM IR text.
    int emit_llvm_ir;
    /// Emit assembly (from a clone of the module).
    int emit_assembly;
    /// Emit the object file.
    int emit_object;
    /// Tests only: nonzero makes the child raise this signal before doing anything.
    int test_signal;
} cllvm_codegen_request;

/// What came back. Every pointer is malloc'd (or NULL); free with cllvm_codegen_result_dispose.
typedef struct {
    char *object;
    size_t object_size;
    char *assembly;
    size_t assembly_size;
    char *llvm_ir;
    size_t llvm_ir_size;
    /// Error-severity LLVM diagnostics, each followed by a NUL.
    char *diagnostics;
    size_t diagnostics_size;
    /// A failure LLVM reported normally (LLVMRunPasses or emission returned an error).
    char *failure;
    /// The reason LLVM's fatal-error handler got in the child (report_fatal_error).
    char *fatal_reason;
    /// What the child wrote on stdout and stderr (at most 1 MiB: LLVM's own messages, such as
    /// its last words before a crash).
    char *messages;
    size_t messages_size;
    /// The pipe, fork or protocol went wrong (the child's outcome may be unknown).
    char *problem;
    /// The parent killed the child (it could not read or keep its results: `problem`).
    int killed_by_parent;
    /// The parent killed the child because it made no progress (no CPU time, no output) for
    /// `CLLVM_STALL_SECONDS`: deadlocked on a lock another thread held at the fork. The caller
    /// can run the step in process instead.
    int stalled;
    /// The child sent its end record: its results are complete.
    int complete;
    /// waitpid's status, or -1 when the child could not be waited for (then `wait_errno`).
    int wait_status;
    int wait_errno;
} cllvm_codegen_result;

/// Runs the request in a forked child process and reads its results back. Returns 0 when a
/// child ran (its outcome is in `result`), -1 when none could be started (`result->problem`).
/// The caller must not hold the LLVM lock; the module and target machine are only read (the
/// child works on its copy of the process), so the caller disposes them as usual.
int cllvm_codegen_isolated(const cllvm_codegen_request *request, cllvm_codegen_result *result);
void cllvm_codegen_result_dispose(cllvm_codegen_result *result);

#endif
