// Checking allocations whose size comes from input before making them. Swift arrays trap when
// malloc fails, so a result of f32[100000,100000,10] would abort the process; it must be an
// error naming the buffer instead.
//
// The rule: a single buffer may not be larger than the memory the process could ever get, the
// smallest of the machine's physical memory (sysconf _SC_PHYS_PAGES * _SC_PAGESIZE) and the
// soft RLIMIT_AS and RLIMIT_DATA limits when they are set. A malloc probe is not used: with
// Linux's overcommit a huge malloc can succeed and the process is killed only when it touches
// the pages, and a successful probe of many gigabytes would take that memory from others. A
// buffer within the limit can still fail to be allocated when memory is in use elsewhere; the
// compiled code reports that as status 1 ("out of memory"), and the check cannot rule it out.

#if canImport(Glibc)
  import Glibc
#endif
import NNCIR

/// An allocation that cannot succeed: `what` needs `bytes`, more than the `available` bytes the
/// process can ever get (see `Memory.limit`).
public struct OutOfMemoryError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The buffer, e.g. `result 0 of @f: f32[100000,100000,10]`.
  public let what: String
  /// The bytes the buffer needs.
  public let bytes: Int
  /// The limit it exceeds.
  public let available: Int

  /// The error for `what`, which needs `bytes` of the `available` bytes.
  public init(what: String, bytes: Int, available: Int) {
    self.what = what
    self.bytes = bytes
    self.available = available
  }

  /// `result 0 of @f: f32[100000,100000,10] needs 400 GB: out of memory (at most 16.7 GB can be allocated)`.
  public var description: String {
    "\(what) needs \(Memory.format(bytes: bytes)): out of memory (at most \(Memory.format(bytes: available)) can be allocated)"
  }
}

/// Checks of allocation sizes that come from input (shapes of results, .npy headers).
public enum Memory {
  /// The largest single allocation the process could ever get, in bytes: the smallest of
  /// physical memory and the soft RLIMIT_AS / RLIMIT_DATA limits (unlimited ones ignored).
  public static let limit: Int = {
    var bound = Int.max
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    let pageSize = sysconf(Int32(_SC_PAGESIZE))
    if pages > 0 && pageSize > 0 {
      let (p, overflow) = pages.multipliedReportingOverflow(by: pageSize)
      if !overflow { bound = p }
    }
    for resource in [RLIMIT_AS, RLIMIT_DATA] {
      var r = rlimit()
      #if os(Linux)
        let code = getrlimit(__rlimit_resource_t(resource.rawValue), &r)
      #else
        let code = getrlimit(resource, &r)
      #endif
      if code == 0 && r.rlim_cur < rlim_t(Int.max) {  // RLIM_INFINITY is all ones
        bound = Swift.min(bound, Int(r.rlim_cur))
      }
    }
    return bound
  }()

  /// Throws when a buffer of `bytes` bytes can never be allocated (more than `limit`); does
  /// nothing otherwise. `what` names the buffer for the message, with its type when it has one:
  /// `result 0 of @f: f32[100000,100000,10]`. A negative `bytes` (an overflowed size) throws too.
  public static func checkAllocation(bytes: Int, what: @autoclosure () -> String) throws(OutOfMemoryError) {
    guard bytes < 0 || bytes > limit else { return }
    throw OutOfMemoryError(what: what(), bytes: bytes < 0 ? Int.max : bytes, available: limit)
  }

  /// The bytes a dense array of `count` elements of `dtype` takes (bool is one byte), or -1 on
  /// overflow.
  public static func bytes(count: Int, _ dtype: DType) -> Int {
    let (b, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
    return overflow ? -1 : b
  }

  /// Checks the array a result of type `type` (symbols resolved) would need.
  public static func checkArray(_ type: TensorType, what: @autoclosure () -> String) throws(OutOfMemoryError) {
    guard let shape = type.staticShape, let n = ShapeMath.elementCount(shape) else { return }
    try checkAllocation(bytes: bytes(count: n, type.dtype), what: what() + ": \(type)")
  }

  /// Bytes in decimal units with three significant digits: `512 bytes`, `1.5 kB`, `400 GB`.
  public static func format(bytes: Int) -> String {
    if bytes < 1000 { return bytes == 1 ? "1 byte" : "\(bytes) bytes" }
    let units = ["kB", "MB", "GB", "TB", "PB", "EB"]
    var value = Double(bytes) / 1000
    var k = 0
    while value >= 999.5 && k < units.count - 1 {
      value /= 1000
      k += 1
    }
    let digits = value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    var text = String(Int((value * scale).rounded()))
    if digits > 0 {
      while text.count <= digits { text = "0" + text }
      text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
      while text.hasSuffix("0") { text.removeLast() }
      if text.hasSuffix(".") { text.removeLast() }
    }
    return text + " " + units[k]
  }
}
