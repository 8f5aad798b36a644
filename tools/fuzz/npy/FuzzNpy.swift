// Fuzz target for the .npy decoder. Any bytes must decode or throw an NpyError, never crash;
// whatever decodes must encode, decode again to the same array (dtype, shape, every element's
// bits), and encode to the same bytes.

import NNCFuzzSupport
import NNCRuntime

func sameBits(_ a: NDArray, _ b: NDArray) -> Bool {
  guard a.dtype == b.dtype, a.shape == b.shape else { return false }
  switch (a.storage, b.storage) {
  case (.f32(let x), .f32(let y)): return x.map(\.bitPattern) == y.map(\.bitPattern)
  case (.f64(let x), .f64(let y)): return x.map(\.bitPattern) == y.map(\.bitPattern)
  case (.i32(let x), .i32(let y)): return x == y
  case (.i64(let x), .i64(let y)): return x == y
  case (.bool(let x), .bool(let y)): return x == y
  default: return false
  }
}

func fuzzNpy(_ bytes: [UInt8]) {
  let array: NDArray
  do {
    array = try Npy.decode(bytes)
  } catch {
    _ = error.description  // every error must describe itself
    return
  }
  let encoded = Npy.encode(array)
  let again: NDArray
  do {
    again = try Npy.decode(encoded)
  } catch {
    fuzzFailure("an array read from an input does not read back after writing: \(error) (\(array.type))")
  }
  if !sameBits(array, again) { fuzzFailure("write then read changed the array: \(array.type) -> \(again.type)") }
  if Npy.encode(again) != encoded { fuzzFailure("writing is not stable for \(array.type)") }
}

/// libFuzzer's entry point, which its own `main` (linked by -sanitize=fuzzer) refers to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  fuzzNpy(fuzzInput(data, size))
  return 0
}

/// The entry point of both builds (see NNCFuzzSupport).
@main struct FuzzNpyMain {
  static func main() { fuzzMain(fuzzNpy) }
}
