// Storage and view semantics of the eager Tensor, PyTorch style: views share storage, strides
// describe them, in-place writes are seen through every view; plus random generators and the
// printed form. Every expectation here is worked out by hand.

import NNC
import NNCIR
import NNCRuntime
import Testing

/// `t`'s elements, row-major, as Ints.
private func ints(_ t: Tensor) -> [Int] { t.scalars(as: Int.self) }
/// `t`'s elements, row-major, as Floats.
private func floats(_ t: Tensor) -> [Float] { t.scalars(as: Float.self) }

/// The first misuse `body` makes, caught by `withTensorErrors`.
private func firstMisuse(_ body: () -> Void) -> TensorError? {
  do { try withTensorErrors(body) } catch let e as TensorError { return e } catch {}
  return nil
}

@Suite struct ViewTests {
  // MARK: - sharing storage

  @Test func classicViewDemo() {
    let a = Tensor.arange(6)
    let b = a.view(2, 3)
    a[1] = 10
    #expect(ints(b) == [0, 10, 2, 3, 4, 5])
    #expect(b[0, 1] as Int == 10)
    #expect(a.storage === b.storage)
    // And the other way round: a write through the view shows in the base.
    b[1, 2] = 50
    #expect(ints(a) == [0, 10, 2, 3, 4, 50])
  }

  @Test func viewsShareStorageCopiesDoNot() {
    let m = Tensor.arange(12).view(3, 4)
    let views = [
      m.view(12), m.reshape(2, 6), m.t(), m.transpose(0, 1), m.permute(1, 0), m[1], m[.all, 2], m[1...],
      m[.stride(from: 0, by: 2)], m.unsqueeze(0), m.unsqueeze(0).squeeze(), m[0].expand(2, 4), m.flattened(),
      m.contiguous(),
    ]
    for v in views { #expect(v.storage === m.storage) }
    let copies = [m.clone(), m.t().contiguous(), m.t().reshape(12), m.t().flattened(), m + 0, m.to(.f32)]
    for c in copies { #expect(c.storage !== m.storage) }
  }

  // MARK: - strides

  @Test func contiguousStrides() {
    let x = Tensor.arange(24).view(2, 3, 4)
    #expect(x.shape == [2, 3, 4])
    #expect(x.strides == [12, 4, 1])
    #expect(x.storageOffset == 0)
    #expect(x.isContiguous)
    #expect(Tensor(scalar: Float(1)).strides == [])
    #expect(Tensor(scalar: Float(1)).isContiguous)
  }

  @Test func transposeAndPermuteStrides() {
    let x = Tensor.arange(24).view(2, 3, 4)
    let t = x.transpose(0, 2)
    #expect(t.shape == [4, 3, 2])
    #expect(t.strides == [1, 4, 12])
    #expect(!t.isContiguous)
    let p = x.permute(1, 2, 0)
    #expect(p.shape == [3, 4, 2])
    #expect(p.strides == [4, 1, 12])
    #expect(!p.isContiguous)
    // Element (i, j, k) of p is x[k, i, j] = 12k + 4i + j.
    #expect(p[2, 1, 1] as Int == 12 + 8 + 1)
    let m = Tensor.arange(12).view(3, 4).t()
    #expect(m.shape == [4, 3])
    #expect(m.strides == [1, 4])
    #expect(ints(m) == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    // Transposing back gives a contiguous view again.
    #expect(m.t().isContiguous)
    #expect(x.transpose(-1, -3).strides == [1, 4, 12])
  }

  @Test func sliceStrides() {
    let v = Tensor.arange(10)
    let s = v[.stride(from: 1, by: 3)]
    #expect(s.shape == [3])
    #expect(s.strides == [3])
    #expect(s.storageOffset == 1)
    #expect(!s.isContiguous)
    #expect(ints(s) == [1, 4, 7])

    let m = Tensor.arange(24).view(4, 6)
    let b = m[1..<3, .stride(0..<6, by: 2)]
    #expect(b.shape == [2, 3])
    #expect(b.strides == [6, 2])
    #expect(b.storageOffset == 6)
    #expect(ints(b) == [6, 8, 10, 12, 14, 16])
    // A slice of a slice composes strides and offsets.
    let bb = b[1, 1...]
    #expect(bb.shape == [2])
    #expect(bb.strides == [2])
    #expect(bb.storageOffset == 14)
    #expect(ints(bb) == [14, 16])

    // A row is contiguous (with an offset); a column is not.
    let row = m[2]
    #expect(row.strides == [1])
    #expect(row.storageOffset == 12)
    #expect(row.isContiguous)
    let col = m[.all, 1]
    #expect(col.shape == [4])
    #expect(col.strides == [6])
    #expect(col.storageOffset == 1)
    #expect(!col.isContiguous)
    // Whole rows of a matrix stay contiguous.
    #expect(m[1..<3].isContiguous)
    #expect(m[1..<3].storageOffset == 6)
  }

  @Test func expandStrides() {
    let c = Tensor([[1], [2], [3]] as [[Float]])
    let e = c.expand(3, 4)
    #expect(e.shape == [3, 4])
    #expect(e.strides == [1, 0])
    #expect(!e.isContiguous)
    #expect(floats(e) == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    let r = Tensor([1, 2, 3] as [Float]).expand([2, 2, 3])
    #expect(r.strides == [0, 0, 1])
    #expect(r.storage.count == 3)
  }

  @Test func unsqueezeAndSqueezeStrides() {
    let x = Tensor.arange(6).view(2, 3)
    #expect(x.unsqueeze(0).shape == [1, 2, 3])
    #expect(x.unsqueeze(0).strides == [6, 3, 1])
    #expect(x.unsqueeze(1).shape == [2, 1, 3])
    #expect(x.unsqueeze(1).strides == [3, 3, 1])
    #expect(x.unsqueeze(-1).shape == [2, 3, 1])
    #expect(x.unsqueeze(-1).strides == [3, 1, 1])
    #expect(x.unsqueeze(1).isContiguous)
    // Of a transposed view (strides [1, 3]): the new axis steps over the whole next axis,
    // 3 * 2, as in PyTorch.
    let t = x.t().unsqueeze(1)
    #expect(t.shape == [3, 1, 2])
    #expect(t.strides == [1, 6, 3])

    let s = Tensor.arange(6).view(1, 3, 1, 2)
    #expect(s.squeeze().shape == [3, 2])
    #expect(s.squeeze().strides == [2, 1])
    #expect(s.squeeze(2).shape == [1, 3, 2])
    #expect(s.squeeze(2).strides == [6, 2, 1])
    #expect(s.squeeze(-4).shape == [3, 1, 2])
    // Squeezing an axis that is not 1 changes nothing, as in PyTorch.
    #expect(s.squeeze(1).shape == [1, 3, 1, 2])
  }

  // MARK: - view, reshape, contiguous

  @Test func viewOfNonContiguousIsAnError() throws {
    let m = Tensor.arange(12).view(4, 3)
    let e = try #require(firstMisuse { _ = m.t().view(12) })
    #expect(e.message == "view: i64[3,4] with strides [1, 3] cannot be viewed as [12] without a copy; use reshape(), which copies")
    #expect(e.message.contains("reshape"))
  }

  @Test func reshapeViewsWhenItCanAndCopiesWhenItMust() {
    let m = Tensor.arange(12).view(4, 3)
    let v = m.reshape(2, 6)
    #expect(v.storage === m.storage)
    v[0, 0] = 100
    #expect(m[0, 0] as Int == 100)

    let c = m.t().reshape(12)
    #expect(c.storage !== m.storage)
    #expect(c.isContiguous)
    #expect(ints(c) == [100, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
    c[0] = -1
    #expect(m[0, 0] as Int == 100)
    #expect(ints(m.t().reshape([-1, 6])) == [100, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
  }

  @Test func contiguousCopiesOnlyWhenNeeded() {
    let m = Tensor.arange(6).view(2, 3)
    #expect(m.contiguous() === m)
    let t = m.t()
    let c = t.contiguous()
    #expect(c !== t)
    #expect(c.storage !== m.storage)
    #expect(c.isContiguous)
    #expect(c.strides == [2, 1])
    #expect(ints(c) == [0, 3, 1, 4, 2, 5])
    // A row slice with an offset is contiguous already.
    let row = m[1]
    #expect(row.contiguous() === row)
  }

  // MARK: - in-place writes

  @Test func inPlaceArithmeticIsSeenThroughViews() {
    let a = Tensor.arange(6)
    let b = a.view(2, 3)
    let col = b[.all, 1]
    a += 1
    #expect(ints(b) == [1, 2, 3, 4, 5, 6])
    #expect(ints(col) == [2, 5])
    col *= 10
    #expect(ints(a) == [1, 20, 3, 4, 50, 6])
    b[1] -= Tensor([1, 1, 1] as [Int])
    #expect(ints(a) == [1, 20, 3, 3, 49, 5])
    // `/=` is true division, a misuse on an integer tensor (as in PyTorch); rounding division
    // keeps the dtype.
    #expect(firstMisuse { b.t()[2] /= 2 }?.message == "in-place op: result type f32 can't be cast to the desired output type i64")
    #expect(ints(a) == [1, 20, 3, 3, 49, 5])
    b.t()[2].assign(b.t()[2].div(2, roundingMode: .trunc))
    #expect(ints(a) == [1, 20, 1, 3, 49, 2])
    #expect(a.storage === b.storage)
  }

  @Test func subscriptAssignment() {
    let m = Tensor.zeros([3, 4])
    m[1] = Tensor([1, 2, 3, 4] as [Float])
    m[0..<2, 1] = Tensor([7, 8] as [Float])
    m[2, 3] = 9.5
    m[.all, 0] = 5
    m[-1, -2] = -1.0
    #expect(floats(m) == [5, 7, 0, 0, 5, 8, 3, 4, 5, 0, -1, 9.5])
    m[.stride(from: 0, by: 2), 1...] = Tensor([-2] as [Float])
    #expect(floats(m) == [5, -2, -2, -2, 5, 8, 3, 4, 5, -2, -2, -2])
    m.assign(Tensor([0, 1, 2, 3] as [Float]))
    #expect(floats(m) == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3])
  }

  @Test func fillIsSeenThroughEveryView() {
    let base = Tensor.zeros([3, 4])
    let flat = base.view(12)
    let transposed = base.t()
    let strided = base[.all, .stride(from: 0, by: 2)]
    base.fill(7)
    for v in [flat, transposed, strided] { #expect(floats(v).allSatisfy { $0 == 7 }) }

    strided.fill(2)
    #expect(floats(base) == [2, 7, 2, 7, 2, 7, 2, 7, 2, 7, 2, 7])
    #expect(floats(transposed) == [2, 2, 2, 7, 7, 7, 2, 2, 2, 7, 7, 7])
    #expect(floats(flat) == floats(base))

    transposed[3].fill(-1)
    #expect(floats(base) == [2, 7, 2, -1, 2, 7, 2, -1, 2, 7, 2, -1])
    #expect(floats(strided) == [2, 2, 2, 2, 2, 2])
  }

  @Test func writingIntoAnExpandedViewIsAnError() throws {
    let src = Tensor([1, 2, 3] as [Float])
    let e = src.expand(2, 3)
    let msg = "cannot write into an expanded tensor f32[2,3]: several elements share one memory location"
    #expect(firstMisuse { e.fill(0) }?.message == msg)
    #expect(firstMisuse { e += 1 }?.message == msg)
    #expect(firstMisuse { e.assign(Tensor.zeros([2, 3])) }?.message == msg)
    #expect(firstMisuse { e[.all, 0] = 4.0 }?.message == "cannot write into an expanded tensor f32[2]: several elements share one memory location")
    #expect(floats(src) == [1, 2, 3])
    // A row of the expanded view has no repeated element, so writing it is allowed: it is the
    // source itself.
    e[1] = Tensor([4, 5, 6] as [Float])
    #expect(floats(src) == [4, 5, 6])
  }

  @Test func cloneSharesNothing() {
    let a = Tensor.arange(6).view(2, 3)
    let c = a.clone()
    #expect(c.storage !== a.storage)
    #expect(ints(c) == ints(a))
    c[0, 0] = 99
    #expect(a[0, 0] as Int == 0)
    a[1, 1] = -5
    #expect(c[1, 1] as Int == 4)
    // A clone of a view is a dense copy of just the view.
    let ct = a.t().clone()
    #expect(ct.isContiguous)
    #expect(ct.storage.count == 6)
    #expect(ints(ct) == [0, 3, 1, -5, 2, 5])
    let cs = a[.all, 1].clone()
    #expect(cs.storage.count == 2)
    #expect(cs.storageOffset == 0)
  }

  // MARK: - indexing

  @Test func negativeIndices() {
    let m = Tensor.arange(12).view(4, 3)
    #expect(ints(m[-1]) == [9, 10, 11])
    #expect(ints(m[-4]) == ints(m[0]))
    #expect(m[-1, -1] as Int == 11)
    #expect(m[-2, 0] as Int == 6)
    #expect(ints(m[.all, -2]) == [1, 4, 7, 10])
    #expect(ints(m[(-2)...]) == [6, 7, 8, 9, 10, 11])
    #expect(ints(m[..<(-2)]) == [0, 1, 2, 3, 4, 5])
    #expect(ints(m[...(-1), 0]) == [0, 3, 6, 9])
    #expect(ints(m[(-3)...(-2), -1]) == [5, 8])
  }

  @Test func integerIndexDropsAnAxisRangeKeepsIt() {
    let m = Tensor.arange(12).view(4, 3)
    #expect(m[1].shape == [3])
    #expect(m[1..<2].shape == [1, 3])
    #expect(m[1, 2].shape == [])
    #expect(m[.all, 1..<2].shape == [4, 1])
    #expect(m[1..<1].shape == [0, 3])
  }

  @Test func outOfRangeIndexMessage() {
    let m = Tensor.arange(12).view(4, 3)
    #expect(firstMisuse { _ = m[4] }?.message == "index 4 is out of range for axis 0 of size 4 in i64[4,3]")
    #expect(firstMisuse { _ = m[0, -4] }?.message == "index -4 is out of range for axis 1 of size 3 in i64[4,3]")
    #expect(firstMisuse { m[-5] = 1 }?.message == "index -5 is out of range for axis 0 of size 4 in i64[4,3]")
    // Ranges clamp like Python slices instead.
    #expect(firstMisuse { _ = m[2..<10] } == nil)
    #expect(m[2..<10].shape == [2, 3])
  }

  // MARK: - reading values

  @Test func readingValues() {
    let m = Tensor([[1.5, 2], [3, 4]] as [[Float]])
    #expect(m[0, 0].item() as Float == 1.5)
    #expect(m[1, 0].item(as: Int.self) == 3)
    #expect(m[0, 1] as Double == 2)
    #expect(m.t().scalars(as: Float.self) == [1.5, 3, 2, 4])
    #expect(m.t().array == NDArray([1.5, 3, 2, 4] as [Float], shape: [2, 2]))
    #expect((m.sum() .> 11.0).item() as Bool == false)
    #expect((m.sum() .> 10.0).item(as: Bool.self) == true)
    #expect(m.dtype == .f32)
    #expect(m.rank == 2)
    #expect(m.count == 4)
    #expect(m.type == TensorType(.f32, [2, 2]))
  }

  // MARK: - random

  @Test func randomIsReproducibleBySeed() {
    let a = Tensor.randn([4, 5], generator: RandomGenerator(seed: 11))
    let b = Tensor.randn([4, 5], generator: RandomGenerator(seed: 11))
    let c = Tensor.randn([4, 5], generator: RandomGenerator(seed: 12))
    #expect(floats(a) == floats(b))
    #expect(floats(a) != floats(c))
    let u1 = Tensor.rand([100], generator: RandomGenerator(seed: 3))
    let u2 = Tensor.rand([100], generator: RandomGenerator(seed: 3))
    let u3 = Tensor.rand([100], generator: RandomGenerator(seed: 4))
    #expect(floats(u1) == floats(u2))
    #expect(floats(u1) != floats(u3))
    #expect(floats(u1).allSatisfy { $0 >= 0 && $0 < 1 })
    let i1 = Tensor.randint(0, 1000, [50], generator: RandomGenerator(seed: 9))
    let i2 = Tensor.randint(0, 1000, [50], generator: RandomGenerator(seed: 9))
    let i3 = Tensor.randint(0, 1000, [50], generator: RandomGenerator(seed: 10))
    #expect(ints(i1) == ints(i2))
    #expect(ints(i1) != ints(i3))
    // One generator moves on: a second draw differs from the first.
    let g = RandomGenerator(seed: 11)
    let first = Tensor.randn([4, 5], generator: g)
    let second = Tensor.randn([4, 5], generator: g)
    #expect(floats(first) == floats(a))
    #expect(floats(second) != floats(first))
  }

  @Test func manualSeedReseedsTheGlobalGenerator() {
    RandomGenerator.manualSeed(1234)
    let a = Tensor.randn([6])
    let u = Tensor.rand([3])
    RandomGenerator.manualSeed(1234)
    let b = Tensor.randn([6])
    let v = Tensor.rand([3])
    #expect(floats(a) == floats(b))
    #expect(floats(u) == floats(v))
    // The global generator seeded with s gives what RandomGenerator(seed: s) gives.
    #expect(floats(a) == floats(Tensor.randn([6], generator: RandomGenerator(seed: 1234))))
  }

  @Test func randintStaysInRange() {
    let r = Tensor.randint(-3, 4, [2000], generator: RandomGenerator(seed: 5))
    #expect(r.dtype == .i64)
    #expect(r.shape == [2000])
    let values = ints(r)
    #expect(values.allSatisfy { (-3..<4).contains($0) })
    #expect(Set(values) == Set(-3..<4))
    let n = Tensor.randn([2000], generator: RandomGenerator(seed: 5))
    let mean = floats(n).reduce(0, +) / 2000
    #expect(Swift.abs(mean) < 0.1)
  }

  // MARK: - printing

  @Test func describeF32Matrix() {
    let t = Tensor([[1, -2.5, 3], [4, 5, 60]] as [[Float]])
    #expect(
      t.description == """
        [[ 1.0000, -2.5000,  3.0000],
         [ 4.0000,  5.0000, 60.0000]]
        [Tensor f32 2x3]
        """)
    #expect(
      Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]]).description == """
        [[1.0000, 2.0000, 3.0000],
         [4.0000, 5.0000, 6.0000]]
        [Tensor f32 2x3]
        """)
  }

  @Test func describeIntegersAndBools() {
    #expect(Tensor.arange(5).description == "[0, 1, 2, 3, 4]\n[Tensor i64 5]")
    #expect(
      Tensor([[3, -10], [7, 0]] as [[Int]]).description == """
        [[  3, -10],
         [  7,   0]]
        [Tensor i64 2x2]
        """)
    #expect(Tensor([true, false, true]).description == "[ true, false,  true]\n[Tensor bool 3]")
    #expect(
      Tensor.arange(8).view(2, 2, 2).description == """
        [[[0, 1],
          [2, 3]],

         [[4, 5],
          [6, 7]]]
        [Tensor i64 2x2x2]
        """)
  }

  @Test func describeScalarsAndSpecialValues() {
    #expect(Tensor(scalar: Float(3.5)).description == "3.5000\n[Tensor f32 scalar]")
    #expect(Tensor(scalar: 7).description == "7\n[Tensor i64 scalar]")
    #expect(Tensor([1e-5, 1] as [Float]).description == "[1.0000e-05, 1.0000e+00]\n[Tensor f32 2]")
    #expect(Tensor([.nan, .infinity, -1] as [Float]).description == "[    nan,     inf, -1.0000]\n[Tensor f32 3]")
    // A view prints its own elements.
    #expect(Tensor.arange(6).view(2, 3).t().description == "[[0, 3],\n [1, 4],\n [2, 5]]\n[Tensor i64 3x2]")
  }

  @Test func describeLargeTensorsSummarized() {
    #expect(Tensor.arange(2000).description == "[   0,    1,    2, ..., 1997, 1998, 1999]\n[Tensor i64 2000]")
    #expect(
      Tensor.arange(1200).view(40, 30).description == """
        [[   0,    1,    2, ...,   27,   28,   29],
         [  30,   31,   32, ...,   57,   58,   59],
         [  60,   61,   62, ...,   87,   88,   89],
         ...,
         [1110, 1111, 1112, ..., 1137, 1138, 1139],
         [1140, 1141, 1142, ..., 1167, 1168, 1169],
         [1170, 1171, 1172, ..., 1197, 1198, 1199]]
        [Tensor i64 40x30]
        """)
    // Up to 1000 elements everything prints.
    #expect(!Tensor.arange(1000).description.contains("..."))
  }
}
