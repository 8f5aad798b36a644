// Printing tensors the way PyTorch does: aligned columns, 4 decimals (scientific notation when
// magnitudes call for it), long dims summarized with "...", then a `[Tensor f32 3x5]` footer.

import Foundation
import NNCIR
import NNCRuntime

extension Tensor: CustomStringConvertible {
  /// Dims longer than this many elements print their first and last 3 entries.
  static let summarizeAbove = 1000

  public var description: String {
    let a = array
    let summarize = count > Tensor.summarizeAbove
    let shown = (0..<a.count)
    let formatter = ElementFormatter(a, indices: shown)
    var out = ""
    func render(_ axis: Int, _ base: Int, _ indent: String) {
      if axis == shape.count {
        out += formatter.pad(formatter.text(base))
        return
      }
      out += "["
      let n = shape[axis]
      let inner = shape[(axis + 1)...].reduce(1, *)
      let items: [Int?] = summarize && n > 6 ? [0, 1, 2, nil, n - 3, n - 2, n - 1] : Array(0..<n)
      for (k, i) in items.enumerated() {
        if k > 0 {
          out += ","
          if axis == shape.count - 1 {
            out += " "
          } else {
            out += String(repeating: "\n", count: shape.count - axis - 1) + indent + " "
          }
        }
        if let i { render(axis + 1, base + i * inner, indent + " ") } else { out += "..." }
      }
      out += "]"
    }
    render(0, 0, "")
    let dims = shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "x")
    return out + "\n[Tensor \(dtype) \(dims)]"
  }
}

/// Formats elements to one width, like PyTorch's printer.
private struct ElementFormatter {
  let array: NDArray
  let scientific: Bool
  let width: Int

  init(_ a: NDArray, indices: Range<Int>) {
    array = a
    var sci = false
    if a.dtype.isFloat {
      let finite = indices.map { Swift.abs(a.storage.double($0)) }.filter { $0.isFinite && $0 != 0 }
      if let mx = finite.max(), let mn = finite.min() {
        sci = mx >= 1e8 || mn < 1e-4 || mx / mn > 1000 && mx > 1e4
      }
    }
    scientific = sci
    var w = 0
    for i in indices { w = Swift.max(w, ElementFormatter.format(a, i, sci).count) }
    width = w
  }

  static func format(_ a: NDArray, _ i: Int, _ sci: Bool) -> String {
    switch a.storage {
    case .bool(let v): return v[i] ? "true" : "false"
    case .i32, .i64: return String(Int64(a.storage.double(i)))
    case .f32, .f64:
      let d = a.storage.double(i)
      if d.isNaN { return "nan" }
      if d.isInfinite { return d > 0 ? "inf" : "-inf" }
      return String(format: sci ? "%.4e" : "%.4f", d)
    }
  }

  func text(_ i: Int) -> String { ElementFormatter.format(array, i, scientific) }
  func pad(_ s: String) -> String { String(repeating: " ", count: Swift.max(0, width - s.count)) + s }
}
