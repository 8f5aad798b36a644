// The version of nnc itself (`nnc --version`).

/// The version of the nnc package: its IR, passes, runtime, code generator and CLI together.
public let nncVersion = "0.1.0"
