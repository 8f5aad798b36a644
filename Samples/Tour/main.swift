// The README's library tour as one complete program (a test checks that the README shows this
// file verbatim, builds it and runs it). Run from the repository root: swift run Tour
import Foundation
import NNC         // Tensor, trace, compile, withTensorErrors
import NNCPasses   // loadGraph: .swiftgraph text -> verified graph
import NNCRuntime  // Npy (.npy files), NDArray, Interpreter

// Tensors and views, as in the PyTorch tutorials: a view shares storage with its base.
let a = Tensor.arange(6)
let b = a.view(2, 3)
a[1] = 10  // b shows 10 too
print(b)

// Dynamic graphs: Swift control flow picks what is traced.
let x = Tensor.randn([4, 3], generator: RandomGenerator(seed: 1))
let w1 = Tensor.randn([3, 2], generator: RandomGenerator(seed: 2))
let w2 = Tensor.randn([3, 2], generator: RandomGenerator(seed: 3))
let z = 10
let t = trace(x, w1, w2, names: ["x", "w1", "w2"]) { x, w1, w2 in
  if z > 0 { return x.mm(w1) } else { return x.mm(w2) }
}
print(t.text)  // only the branch taken: one matmul, with loc("Tour/main.swift":line)

// Compiled to native code and linked back in (cached on disk by content).
let f = try compile(t)
let y = try f(x, w1, w2)[0]  // shapes and dtypes are checked first
print("compiled == eager:", y.array == t.outputs[0].array)

// A graph from a .swiftgraph file, run on .npy inputs by the reference interpreter.
let path = "Samples/models/mlp.swiftgraph"
let mlp = try loadGraph(Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path)
let dir = FileManager.default.temporaryDirectory.path
let shapes = ["x": [2, 784], "w1": [784, 256], "b1": [256], "w2": [256, 10], "b2": [10]]
for (name, shape) in shapes {
  try Npy.write(Tensor.rand(shape).array, to: "\(dir)/\(name).npy")
}
let inputs = try mlp.functions[0].parameters.map { try Npy.read(contentsOf: "\(dir)/\($0.name).npy") }
print(try Interpreter.run(mlp.functions[0], inputs)[0].shape)  // [2, 10]

// Misuse (wrong shapes, bad axes) traps with a message, like an Array index out of range;
// inside withTensorErrors the first misuse is thrown instead.
do {
  try withTensorErrors { _ = x.mm(x) }
} catch {
  print(error)  // Tour/main.swift:...: matmul: inner dims differ: f32[4,3] x f32[4,3]
}
