// The size check every tensor allocation makes first: a shape whose bytes cannot exist on this
// machine is a misuse ("zeros: f32[1048576,1048576] needs 4 TiB: out of memory"), reported
// like any other, instead of an abort inside the allocator.
//
// Internal on purpose: NNCRuntime will offer one public helper for the same check (used by the
// CLI too); this one can then be replaced by it without changing any caller.

#if canImport(Glibc)
  import Glibc
#endif
import NNCIR
import NNCRuntime

enum Memory {
  /// Bytes of physical memory (`sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE)`), or
  /// `Int.max` when the system does not say or the product overflows.
  static let physicalBytes: Int = {
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    let pageSize = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, pageSize > 0 else { return Int.max }
    let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
    return overflow ? Int.max : bytes
  }()

  /// The bytes `count` elements of `dtype` take, or nil when that overflows `Int`.
  static func byteCount(_ dtype: DType, count: Int) -> Int? {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
    return overflow || count < 0 ? nil : bytes
  }

  /// `bytes` in binary units: "512 B", "4 TiB", "1.5 GiB".
  static func text(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var unit = 0
    var whole = bytes
    while whole >= 1024 && unit < units.count - 1 {
      whole /= 1024
      unit += 1
    }
    let scale = Double(1 << (10 * unit))
    let value = Double(bytes) / scale
    if value == value.rounded() { return "\(Int(value)) \(units[unit])" }
    return "\(Double(Int(value * 10)) / 10) \(units[unit])"
  }
}

/// Checks that a tensor of `shape` and `dtype` can be allocated: the sizes must be >= 0 with at
/// most 2^48 elements, and its bytes must fit in physical memory. Returns the element count, or
/// nil after reporting the misuse (`what` names the API call).
func checkedAllocation(_ dtype: DType, _ shape: [Int], _ what: String, _ loc: Location?) -> Int? {
  guard let n = ShapeMath.elementCount(shape) else {
    misuse("\(what): bad shape \(shape) (sizes must be >= 0 and hold at most 2^48 elements)", loc)
    return nil
  }
  let type = TensorType(dtype, shape.map(Dim.int))
  guard let bytes = Memory.byteCount(dtype, count: n) else {
    misuse("\(what): \(type) needs more than \(Memory.text(Int.max)): out of memory", loc)
    return nil
  }
  if bytes > Memory.physicalBytes {
    misuse("\(what): \(type) needs \(Memory.text(bytes)): out of memory", loc)
    return nil
  }
  return n
}
