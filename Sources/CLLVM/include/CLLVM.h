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

/// Wraps the static-inline LLVMInitializeNative{Target,AsmPrinter,AsmParser}.
/// Returns 0 on success (LLVMBool convention: nonzero = failure).
LLVMBool cllvm_initialize_native(void);

/// The LLVM version nnc was built against, e.g. "14.0.6" (LLVM_VERSION_STRING from
/// llvm/Config/llvm-config.h; LLVM-C has LLVMGetVersion only from LLVM 16).
const char *cllvm_version_string(void);

#endif
