// The size check every tensor allocation makes first: a shape whose bytes cannot exist in this
// process is a misuse ("zeros: f32[1048576,1048576] needs 4.4 TB: out of memory (at most ...
// can be allocated)"), reported like any other, instead of an abort inside the allocator. The
// limit is NNCRuntime's `Memory.limit`, the one the CLI and the interpreter use.

import NNCIR
import NNCRuntime

/// Checks that a tensor of `shape` and `dtype` can be allocated: the sizes must be >= 0 with at
/// most 2^48 elements, and its bytes at most `Memory.limit`. Returns the element count, or nil
/// after reporting the misuse (`what` names the API call).
func checkedAllocation(_ dtype: DType, _ shape: [Int], _ what: String, _ loc: Location?) -> Int? {
  guard let n = ShapeMath.elementCount(shape) else {
    misuse("\(what): bad shape \(shape) (sizes must be >= 0 and hold at most 2^48 elements)", loc)
    return nil
  }
  do {
    try Memory.checkArray(TensorType(dtype, shape.map(Dim.int)), what: what)
  } catch {
    misuse("\(error)", loc)
    return nil
  }
  return n
}
