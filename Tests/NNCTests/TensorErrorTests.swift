// Misuse of the tensor API: inside `withTensorErrors` each throws a TensorError whose message
// names the op and the shapes, located at the caller's line in this file.

import NNC
import NNCIR
import Testing

/// The error `body` throws inside `withTensorErrors` (nil when none).
private func misuse(_ body: () -> Void) -> TensorError? {
  do { try withTensorErrors(body) } catch let e as TensorError { return e } catch {}
  return nil
}

/// A line of this file, as a TensorError locates it.
private func line(_ n: Int) -> Location { Location(file: "NNCTests/TensorErrorTests.swift", line: n) }

@Suite struct TensorErrorTests {
  let a23 = Tensor.zeros([2, 3])

  @Test func addShapeMismatchNamesBothShapes() throws {
    let b = Tensor.zeros([4])
    let e = try #require(misuse { _ = a23.add(b) })
    #expect(e.message == "add: cannot broadcast f32[2,3], f32[4]")
    #expect(e.location == line(#line - 2))
    #expect(e.description == "NNCTests/TensorErrorTests.swift:\(#line - 3): add: cannot broadcast f32[2,3], f32[4]")
    // Swift operators cannot take the caller's location: outside a trace they have none.
    let op = try #require(misuse { _ = a23 + b })
    #expect(op.message == "add: cannot broadcast f32[2,3], f32[4]")
    #expect(op.location == nil)
    #expect(misuse { _ = a23.mul(Tensor.zeros([3, 2])) }?.message == "mul: cannot broadcast f32[2,3], f32[3,2]")
  }

  @Test func matmulInnerDims() throws {
    let e = try #require(misuse { _ = a23.matmul(Tensor.zeros([4, 5])) })
    #expect(e.message == "matmul: inner dims differ: f32[2,3] x f32[4,5]")
    #expect(e.location == line(#line - 2))
    let batched = try #require(misuse { _ = Tensor.zeros([2, 2, 3]).matmul(Tensor.zeros([2, 2, 3])) })
    #expect(batched.message == "matmul: inner dims differ: f32[2,2,3] x f32[2,2,3]")
    #expect(batched.location == line(#line - 2))
  }

  @Test func badAxisInReductionsAndSoftmax() throws {
    let sum = try #require(misuse { _ = a23.sum(axis: 2) })
    #expect(sum.message == "sum: axis 2 is out of range for shape [2, 3]")
    #expect(sum.location == line(#line - 2))
    let axes = try #require(misuse { _ = a23.sum(axes: [0, -3], keepDims: true) })
    #expect(axes.message == "sum: axis -3 is out of range for shape [2, 3]")
    #expect(axes.location == line(#line - 2))
    let mean = try #require(misuse { _ = a23.mean(axis: -3) })
    #expect(mean.message == "mean: axis -3 is out of range for shape [2, 3]")
    #expect(mean.location == line(#line - 2))
    let softmax = try #require(misuse { _ = a23.softmax(axis: 2) })
    #expect(softmax.message == "softmax: axis 2 is out of range for shape [2, 3]")
    #expect(softmax.location == line(#line - 2))
    let logSoftmax = try #require(misuse { _ = a23.logSoftmax(axis: -3) })
    #expect(logSoftmax.message == "logSoftmax: axis -3 is out of range for shape [2, 3]")
    #expect(logSoftmax.location == line(#line - 2))
    let argmax = try #require(misuse { _ = a23.argmax(axis: 5) })
    #expect(argmax.message == "argmax: axis 5 is out of range for shape [2, 3]")
    #expect(argmax.location == line(#line - 2))
  }

  @Test func outOfRangeIndex() throws {
    let m = Tensor.arange(12).view(4, 3)
    let e = try #require(misuse { _ = m[4] })
    #expect(e.message == "index 4 is out of range for axis 0 of size 4 in i64[4,3]")
    #expect(e.location == line(#line - 2))
    let neg = try #require(misuse { _ = m[1, -4] })
    #expect(neg.message == "index -4 is out of range for axis 1 of size 3 in i64[4,3]")
    #expect(neg.location == line(#line - 2))
    let set = try #require(misuse { m[7] = 1 })
    #expect(set.message == "index 7 is out of range for axis 0 of size 4 in i64[4,3]")
    #expect(set.location == line(#line - 2))
    let many = try #require(misuse { _ = m[0, 0, 0] })
    #expect(many.message == "index: 3 indices for i64[4,3]")
    #expect(many.location == line(#line - 2))
    let step = try #require(misuse { _ = m[.stride(0..<4, by: 0)] })
    #expect(step.message == "slice step 0 on axis 0 must be at least 1")
    #expect(step.location == line(#line - 2))
  }

  @Test func viewOfNonContiguous() throws {
    let t = a23.t()
    let e = try #require(misuse { _ = t.view(6) })
    #expect(e.message == "view: f32[3,2] with strides [1, 3] cannot be viewed as [6] without a copy; use reshape(), which copies")
    #expect(e.location == line(#line - 2))
    let shape = try #require(misuse { _ = a23.view(4, 2) })
    #expect(shape.message == "view: shape [4, 2] does not hold the 6 elements of f32[2,3]")
    #expect(shape.location == line(#line - 2))
    let infer = try #require(misuse { _ = a23.reshape([-1, 4]) })
    #expect(infer.message == "reshape: cannot infer -1 in [-1, 4] for 6 elements of f32[2,3]")
    #expect(infer.location == line(#line - 2))
  }

  @Test func mmOf3d() throws {
    let e = try #require(misuse { _ = Tensor.zeros([2, 2, 3]).mm(Tensor.zeros([3, 4])) })
    #expect(e.message == "mm: expects two matrices, got f32[2,2,3] x f32[3,4]")
    #expect(e.location == line(#line - 2))
  }

  @Test func catAndStackWithMismatchedShapes() throws {
    let e = try #require(misuse { _ = Tensor.cat([a23, Tensor.zeros([2, 4])]) })
    #expect(e.message == "cat: operand shapes differ off axis 0: f32[2,3], f32[2,4]")
    #expect(e.location == line(#line - 2))
    let axis = try #require(misuse { _ = Tensor.cat([a23, a23], axis: 2) })
    #expect(axis.message == "cat: axis 2 is out of range for shape [2, 3]")
    #expect(axis.location == line(#line - 2))
    let empty = try #require(misuse { _ = Tensor.cat([]) })
    #expect(empty.message == "cat: needs at least one tensor")
    #expect(empty.location == line(#line - 2))
    let stack = try #require(misuse { _ = Tensor.stack([a23, Tensor.zeros([3, 2])], axis: 1) })
    #expect(stack.message == "stack: shapes differ: f32[2,3] and f32[3,2]")
    #expect(stack.location == line(#line - 2))
  }

  @Test func itemOfMultiElementTensor() throws {
    let e = try #require(misuse { let _: Float = a23.item() })
    #expect(e.message == "item: f32[2,3] has 6 elements, not 1")
    #expect(e.location == line(#line - 2))
    let typed = try #require(misuse { _ = Tensor.arange(3).item(as: Int.self) })
    #expect(typed.message == "item: i64[3] has 3 elements, not 1")
    #expect(typed.location == line(#line - 2))
  }

  @Test func otherMisuses() throws {
    let values = try #require(misuse { _ = Tensor([1, 2, 3, 4, 5] as [Float], shape: [2, 3]) })
    #expect(values.message == "Tensor(_:shape:): 5 values do not fill shape [2, 3]")
    #expect(values.location == line(#line - 2))
    let ragged = try #require(misuse { _ = Tensor([[1, 2], [3]] as [[Float]]) })
    #expect(ragged.message == "Tensor(_:): rows have different lengths [2, 1]")
    #expect(ragged.location == line(#line - 2))
    let expand = try #require(misuse { _ = a23.expand(2, 4) })
    #expect(expand.message == "expand: cannot expand f32[2,3] to [2, 4]")
    #expect(expand.location == line(#line - 2))
    let permute = try #require(misuse { _ = a23.permute(0, 0) })
    #expect(permute.message == "permute: [0, 0] is not a permutation of the axes of f32[2,3]")
    #expect(permute.location == line(#line - 2))
    let write = try #require(misuse { Tensor([1, 2, 3] as [Float]).expand(2, 3).fill(1) })
    #expect(write.message == "cannot write into an expanded tensor f32[2,3]: several elements share one memory location")
    #expect(write.location == line(#line - 2))
    let assign = try #require(misuse { a23[0].assign(Tensor.zeros([2])) })
    #expect(assign.message == "expand: cannot expand f32[2] to [3]")
    #expect(assign.location == line(#line - 2))
    let whereShapes = try #require(misuse { _ = Tensor.where(Tensor([true, false]), a23, a23) })
    #expect(whereShapes.message == "select: cannot broadcast bool[2], f32[2,3], f32[2,3]")
    #expect(whereShapes.location == line(#line - 2))
  }

  @Test func onlyTheFirstMisuseIsThrown() throws {
    // (Not inside `#require(...)`: a `#line` default argument within a macro's argument takes
    // the macro's line.)
    let first = misuse {
      _ = a23.sum(axis: 7)
      _ = a23.matmul(a23)
    }
    let e = try #require(first)
    #expect(e.message == "sum: axis 7 is out of range for shape [2, 3]")
    #expect(e.location == line(#line - 5))
    // Without a misuse, the body's result comes back.
    #expect(try withTensorErrors { a23.sum().item() as Float } == 0)
  }

  @Test func misuseOutsideWithTensorErrorsTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = Tensor.zeros([2, 3]).add(Tensor.zeros([4]))
    }
  }
}
