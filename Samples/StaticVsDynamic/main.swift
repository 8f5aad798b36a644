// Static vs dynamic graphs, the PyTorch tutorial's comparison in nnc.
//
// Static (TensorFlow 1.x style): the graph is built first, both branches live in it as a `cond`,
// and it runs later with feeds. Here that graph is Samples/models/select_branch.swiftgraph,
// run by the reference interpreter.
//
// Dynamic (PyTorch style): ordinary Swift `if` decides what runs. Tracing one run captures only
// the branch taken, so the two traces (z = 10 and z = -1) are two different graphs.
//
// The seed's second version makes z a constant (Samples/models/select_branch_const.swiftgraph):
// then only one branch can ever run, and nnc's passes see it. The sample prints their remarks
// (fold evaluates `lt 10.0, 0.0`, prune keeps the else-branch) next to the two traces.
//
// Run: swift run StaticVsDynamic [path/to/select_branch.swiftgraph]

import Foundation
import NNC
import NNCIR
import NNCPasses
import NNCRuntime

let defaultPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("models/select_branch.swiftgraph").path
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : defaultPath

guard let data = FileManager.default.contents(atPath: path) else {
  FileHandle.standardError.write(Data("StaticVsDynamic: cannot read \(path)\n".utf8))
  exit(1)
}
let staticGraph: Function
do {
  staticGraph = try loadGraph([UInt8](data), file: path).functions[0]
} catch {
  FileHandle.standardError.write(Data((error.rendered(source: [UInt8](data)) + "\n").utf8))
  exit(1)
}

RandomGenerator.manualSeed(0)
let x = Tensor.randn([3, 4])
let w1 = Tensor.randn([4, 5])
let w2 = Tensor.randn([4, 5])

/// The tutorial's dynamic program: plain Swift control flow.
func dynamicProgram(_ x: Tensor, _ w1: Tensor, _ w2: Tensor, z: Float) -> Tensor {
  var y: Tensor
  if z > 0 {
    y = x.mm(w1)
  } else {
    y = x.mm(w2)
  }
  return y
}

func close(_ a: NDArray, _ b: NDArray) -> Bool {
  a.shape == b.shape && (0..<a.count).allSatisfy { Swift.abs(a.storage.double($0) - b.storage.double($0)) <= 1e-5 }
}

print("== Static graph (\(path)) ==")
print(Graph(functions: [staticGraph]).text(), terminator: "")
let xw1 = x.mm(w1).array
let xw2 = x.mm(w2).array

for z: Float in [10, -1] {
  print("\n== z = \(z) ==")
  do {
    let out = try Interpreter.run(staticGraph, [x.array, Tensor(scalar: z).array, w1.array, w2.array])[0]
    let which = close(out, xw1) ? "x·w1" : close(out, xw2) ? "x·w2" : "neither"
    print("static cond (z < 0 picks w1):  \(which)")
    print(Tensor(out))
  } catch {
    print("static graph failed: \(error)")
    exit(1)
  }
  let eager = dynamicProgram(x, w1, w2, z: z)
  print("eager Swift if (z > 0 picks w1): \(close(eager.array, xw1) ? "x·w1" : "x·w2")")
  print(eager)
  let t = trace(x, w1, w2, names: ["x", "w1", "w2"], name: "dynamic") { x, w1, w2 in
    dynamicProgram(x, w1, w2, z: z)
  }
  print("trace of this run (only the branch taken is in the graph):")
  print(t.text, terminator: "")
}
// The static graph with z = tf.constant(10): the default pipeline prunes the cond.
let constPath = URL(fileURLWithPath: path).deletingLastPathComponent()
  .appendingPathComponent("select_branch_const.swiftgraph").path
if let constData = FileManager.default.contents(atPath: constPath) {
  do {
    var constGraph = try loadGraph([UInt8](constData), file: constPath)
    var remarks: [Remark] = []
    try PassManager(passes: Passes.defaultPipeline, remarks: { remarks.append($0) }).run(&constGraph)
    print("\n== Static graph with z = constant 10 (\(constPath)), after the default passes ==")
    for r in remarks where r.pass == "fold" || r.pass == "prune" { print(r) }
    print(constGraph.text(), terminator: "")
  } catch {
    print("static graph with a constant z failed: \(error)")
    exit(1)
  }
}

print("""

Note: the tutorial's two versions test opposite conditions (tf.less(z, 0) picks w1; `if z > 0`
picks w1), so for the same z they take different branches. The static graph holds both branches
and decides at run time; each dynamic trace holds one.
""")
