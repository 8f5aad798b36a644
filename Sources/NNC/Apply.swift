// The one path every tensor op takes: check shapes by the op's rule, compute eagerly with the
// reference kernels, and record the op when a trace is running.

import NNCIR
import NNCRuntime

extension DType {
  /// bool < integers < floats.
  var category: Int { isFloat ? 2 : isInteger ? 1 : 0 }
}

extension Tensor {
  /// A placeholder result after a misuse inside `withTensorErrors`.
  /// Shapes of more than 2^20 elements give an empty placeholder instead: the misuse may have
  /// been that the shape is too big to allocate.
  static func placeholder(_ dtype: DType = .f32, _ shape: [Int] = []) -> Tensor {
    let small = ShapeMath.elementCount(shape).map { $0 <= 1 << 20 } ?? false
    return Tensor(array: NDArray.zeros(dtype, small ? shape : [0]))
  }

  /// Applies a primitive op. Shapes are checked by the op's rule, so a misuse names the op and
  /// the operand types.
  /// `name` is the API call's name for messages (defaults to the op's mnemonic).
  static func apply(_ op: Op, _ inputs: [Tensor], _ loc: Location?, name: String? = nil) -> Tensor {
    let types = inputs.map(\.type)
    let outTypes: [TensorType]
    do {
      outTypes = try op.resultTypes(for: types)
    } catch {
      misuse("\(name ?? op.mnemonic): \(error.message)", loc)
      return placeholder()
    }
    let outShapes = outTypes.map { $0.staticShape ?? [] }
    // Every buffer the kernel touches must fit in memory: the results, and the dense copies of
    // inputs that are views (an expanded view can stand for far more elements than it stores).
    for (t, s) in zip(outTypes, outShapes) + inputs.map({ ($0.type, $0.shape) }) {
      guard checkedAllocation(t.dtype, s, name ?? op.mnemonic, loc) != nil else {
        return placeholder(outTypes.first?.dtype ?? .f32)
      }
    }
    let results: [NDArray]
    do {
      results = try Kernels.apply(op, inputs.map(\.array), resultShapes: outShapes)
    } catch {
      misuse("\(name ?? op.mnemonic): \(error)", loc)
      return placeholder()
    }
    let out = Tensor(array: results[0])
    if let tracer = Tracer.current { tracer.record(op, inputs, out, loc) }
    return out
  }

  /// A 0-d tensor from a Swift scalar; it adopts the dtype of the tensor it is combined with.
  /// A float scalar stays f64 until then (only its kind matters for promotion), so an f64
  /// tensor sees the full Double and not the value rounded to f32 first.
  static func weak(_ value: Double, _ dtype: DType) -> Tensor {
    let storage = ArrayStorage.f64([value])
    let kept = dtype.isFloat ? storage : Kernels.cast(storage, to: dtype)
    return Tensor(array: NDArray(shape: [], storage: kept), weakScalar: true)
  }

  /// A 0-d tensor from a Swift integer (i64 unless `dtype` says otherwise). Kept as an integer:
  /// going through Double would round integers beyond 2^53.
  static func weak(_ value: Int, _ dtype: DType) -> Tensor {
    let storage = ArrayStorage.i64([Int64(value)])
    let kept = dtype == .i64 ? storage : Kernels.cast(storage, to: dtype)
    return Tensor(array: NDArray(shape: [], storage: kept), weakScalar: true)
  }

  /// The result dtype of combining `a` and `b`, PyTorch style: a Swift scalar adopts the tensor's
  /// dtype unless it is of a higher kind (a float scalar with an integer tensor gives f32);
  /// tensors promote to the higher kind, then the wider type.
  static func promoted(_ a: Tensor, _ b: Tensor) -> DType {
    if a.dtype == b.dtype { return a.dtype }
    if a.isWeakScalar != b.isWeakScalar {
      let (scalar, tensor) = a.isWeakScalar ? (a, b) : (b, a)
      if scalar.dtype.category <= tensor.dtype.category { return tensor.dtype }
      return scalar.dtype.isFloat ? .f32 : .i64
    }
    if a.dtype.category != b.dtype.category { return a.dtype.category > b.dtype.category ? a.dtype : b.dtype }
    return a.dtype.byteSize >= b.dtype.byteSize ? a.dtype : b.dtype
  }

  /// `self` as `dtype` (itself when it already is).
  func converted(_ dtype: DType, _ loc: Location?) -> Tensor {
    if self.dtype == dtype { return self }
    if isWeakScalar { return Tensor(array: NDArray(shape: [], storage: Kernels.cast(storage.data, to: dtype)), weakScalar: true) }
    return Tensor.apply(.cast(to: dtype), [self], loc)
  }

  /// Applies an op to operands brought to one dtype first.
  static func applyPromoted(_ op: Op, _ a: Tensor, _ b: Tensor, _ loc: Location?) -> Tensor {
    let t = promoted(a, b)
    return apply(op, [a.converted(t, loc), b.converted(t, loc)], loc)
  }
}
