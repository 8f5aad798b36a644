// Convolution, pooling and padding on NCHW tensors, like torch.nn.functional.

import NNCIR

extension Tensor {
  /// 2-d convolution of `self` [N,C,H,W] with `weight` [O,C/groups,KH,KW], plus an optional
  /// `bias` [O]; like `torch.nn.functional.conv2d`.
  public func conv2d(
    _ weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1], padding: [Int] = [0, 0],
    dilation: [Int] = [1, 1], groups: Int = 1, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    let loc = here(file, line)
    let t = Tensor.promoted(self, weight)
    let attrs = Conv2DAttrs(stride: stride, padding: padding, dilation: dilation, groups: groups)
    let y = Tensor.apply(.conv2d(attrs), [converted(t, loc), weight.converted(t, loc)], loc)
    guard let bias else { return y }
    guard bias.rank == 1, y.rank == 4, bias.shape[0] == y.shape[1] else {
      misuse("conv2d: bias \(bias.type) does not match \(y.shape.count == 4 ? y.shape[1] : 0) output channels", loc)
      return y
    }
    return Tensor.applyPromoted(.binary(.add), y, bias.reshape([1, bias.shape[0], 1, 1], file: file, line: line), loc)
  }

  /// 2-d max pooling over [N,C,H,W]; `stride` defaults to the kernel.
  public func maxPool2d(
    kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    Tensor.apply(.pool2d(.max, Pool2DAttrs(kernel: kernel, stride: stride, padding: padding)), [self], here(file, line))
  }

  /// 2-d average pooling over [N,C,H,W]; padded positions count as zeros in the average.
  public func avgPool2d(
    kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor {
    Tensor.apply(.pool2d(.avg, Pool2DAttrs(kernel: kernel, stride: stride, padding: padding)), [self], here(file, line))
  }

  /// `self` with `low[i]` elements before and `high[i]` after along each axis, set to `value`.
  public func padded(low: [Int], high: [Int], value: Double = 0, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.apply(.pad(low: low, high: high, value: .float(value)), [self], here(file, line))
  }

  /// `padded` with an integer fill, kept exact for integer tensors (an i64 fill of 2^53 + 1
  /// stays itself; through `Double` it would round). For float tensors it is rounded once.
  public func padded(low: [Int], high: [Int], value: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    Tensor.apply(.pad(low: low, high: high, value: .int(Int64(value))), [self], here(file, line))
  }
}
