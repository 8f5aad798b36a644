#include "CLLVM.h"
#include "llvm/Config/llvm-config.h"

LLVMBool cllvm_initialize_native(void) {
    if (LLVMInitializeNativeTarget()) return 1;
    if (LLVMInitializeNativeAsmPrinter()) return 1;
    if (LLVMInitializeNativeAsmParser()) return 1;
    return 0;
}

const char *cllvm_version_string(void) {
    return LLVM_VERSION_STRING;
}
