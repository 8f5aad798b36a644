// The sample models written with the Tensor API and traced on random weights: the MLP and
// LeNet-5 of Samples/models, for the tests that run them traced, interpreted and compiled.

import NNC

/// The MLP (x·w1 + b1, relu, ·w2 + b2) traced on a batch of `batch` random inputs and random
/// weights drawn from `seed`, parameters named as in Samples/models/mlp.swiftgraph.
func mlp(batch: Int = 4, seed: UInt64 = 50) -> (Trace, [Tensor]) {
  let g = RandomGenerator(seed: seed)
  let inputs = [
    Tensor.randn([batch, 784], generator: g), Tensor.randn([784, 256], generator: g) * 0.05,
    Tensor.randn([256], generator: g), Tensor.randn([256, 10], generator: g) * 0.05, Tensor.randn([10], generator: g),
  ]
  let t = trace(inputs, names: ["x", "w1", "b1", "w2", "b2"]) { p in
    [(p[0].matmul(p[1]) + p[2]).relu().matmul(p[3]) + p[4]]
  }
  return (t, inputs)
}

/// LeNet-5 (two conv/relu/max-pool stages, three dense layers) traced on a batch of 2 random
/// 28x28 images and random weights drawn from `seed`.
func lenet(seed: UInt64 = 51) -> (Trace, [Tensor]) {
  let g = RandomGenerator(seed: seed)
  let shapes = [[2, 1, 28, 28], [6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [256, 120], [120], [120, 84], [84], [84, 10], [10]]
  let inputs = shapes.map { Tensor.randn($0, generator: g) * 0.3 }
  let t = trace(inputs) { p in
    let c1 = p[0].conv2d(p[1], bias: p[2]).relu().maxPool2d(kernel: [2, 2])
    let c2 = c1.conv2d(p[3], bias: p[4]).relu().maxPool2d(kernel: [2, 2])
    let flat = c2.reshape(-1, 256)
    let h1 = (flat.matmul(p[5]) + p[6]).relu()
    let h2 = (h1.matmul(p[7]) + p[8]).relu()
    return [h2.matmul(p[9]) + p[10]]
  }
  return (t, inputs)
}
