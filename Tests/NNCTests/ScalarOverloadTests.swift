// Swift numbers mixed with tensors: comparisons, pow, where, logical ops (hand-computed).

import NNC
import NNCIR
import Testing

@Suite struct ScalarOverloadTests {
  @Test func comparisonsWithSwiftNumbers() {
    let x = Tensor([1, 2, 3] as [Float])
    #expect((x .> 2).scalars(as: Bool.self) == [false, false, true])
    #expect((x .<= Float(2)).scalars(as: Bool.self) == [true, true, false])
    #expect((2 .< x).scalars(as: Bool.self) == [false, false, true])
    let i = Tensor([1, 2, 3] as [Int])
    #expect((i .== 2).scalars(as: Bool.self) == [false, true, false])
    #expect((i .!= 2).dtype == .bool)
  }

  @Test func powWhereAndLogic() {
    let x = Tensor([1, 2, 3] as [Float])
    #expect(x.pow(2).scalars(as: Float.self) == [1, 4, 9])
    #expect(Tensor.where(x .> 1.5, 0, x).scalars(as: Float.self) == [1, 0, 0])
    #expect(Tensor.where(x .> 1.5, x, -1).scalars(as: Float.self) == [-1, 2, 3])
    let a = Tensor([true, true, false, false])
    let b = Tensor([true, false, true, false])
    #expect(a.logicalAnd(b).scalars(as: Bool.self) == [true, false, false, false])
    #expect(a.logicalOr(b).scalars(as: Bool.self) == [true, true, true, false])
  }

  @Test func messagesUseTheAPIName() throws {
    let line = #line + 2
    do {
      _ = try withTensorErrors { Tensor.cat([Tensor.zeros([2, 3]), Tensor.zeros([2, 4])]) }
      Issue.record("no error")
    } catch let e as TensorError {
      #expect(e.message == "cat: operand shapes differ off axis 0: f32[2,3], f32[2,4]")
      #expect(e.location?.line == line)
    }
    #expect(throws: TensorError.self) { try withTensorErrors { Tensor.randint(3, 3, [2]) } }
  }
}

@Suite struct CreationEdgeTests {
  @Test func badShapesAreMisusesNotTraps() {
    for make in [{ Tensor.zeros([-1]) }, { Tensor.ones([2, -3]) }, { Tensor.randn([-2]) }, { Tensor.rand([1 << 40, 1 << 20]) }, { Tensor.randint(0, 3, [-1]) }] {
      #expect(throws: TensorError.self) { try withTensorErrors(make) }
    }
    #expect(throws: TensorError.self) { try withTensorErrors { Tensor.full([-1], 3) } }
  }

  @Test func closedRangeToIntMaxRunsToTheEnd() {
    let x = Tensor.arange(5)
    #expect(x[2...Int.max].scalars(as: Int.self) == [2, 3, 4])
    #expect(x[...Int.max].scalars(as: Int.self) == [0, 1, 2, 3, 4])
  }
}
