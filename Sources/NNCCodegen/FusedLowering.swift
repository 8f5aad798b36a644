// Fused kernels: one loop nest computing a `fused` instruction's region per element or per row.

import CLLVM
import NNCIR

extension FunctionLowering {
  func fusedKernel(_ inst: Instruction, out: [LLVMValueRef], ins: [LLVMValueRef]) {
  }
}
