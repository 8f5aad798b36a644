// nnc-bench: figures for compiled code against the reference interpreter.
print("nnc-bench: not written yet")
