// Printing tensors the way PyTorch does: aligned columns, 4 decimals (scientific notation when
// magnitudes call for it), long dims summarized with "...", then a `[Tensor f32 3x5]` footer.

import Foundation
import NNCIR
import NNCRuntime

extension Tensor: CustomStringConvertible {
  /// Tensors with more elements than this print summarized (PyTorch's `threshold`): every dim
  /// longer than 6 shows its first and last 3 entries (`edgeitems`) around "...".
  static let summarizeAbove = 1000

  /// PyTorch-style text: aligned columns, 4 decimals for floats (scientific notation when the
  /// magnitudes call for it), integers exact, long dims summarized with "...", and a
  /// `[Tensor f32 3x5]` footer. Only the elements shown are read and formatted, so printing a
  /// huge tensor costs as much as printing a small one.
  public var description: String {
    let summarize = count > Tensor.summarizeAbove
    // The positions shown along each axis; nil stands for "...".
    let items: [[Int?]] = shape.map { n in summarize && n > 6 ? [0, 1, 2, nil, n - 3, n - 2, n - 1] : Array(0..<n) }
    var shown: [Int] = []
    func collect(_ axis: Int, _ index: Int) {
      if axis == rank {
        shown.append(index)
        return
      }
      for case let i? in items[axis] { collect(axis + 1, index + i * strides[axis]) }
    }
    collect(0, storageOffset)
    let formatter = ElementFormatter(storage.data, indices: shown)
    var out = ""
    func render(_ axis: Int, _ index: Int, _ indent: String) {
      if axis == rank {
        out += formatter.pad(formatter.text(index))
        return
      }
      out += "["
      for (k, i) in items[axis].enumerated() {
        if k > 0 {
          out += ","
          if axis == rank - 1 {
            out += " "
          } else {
            out += String(repeating: "\n", count: rank - axis - 1) + indent + " "
          }
        }
        if let i { render(axis + 1, index + i * strides[axis], indent + " ") } else { out += "..." }
      }
      out += "]"
    }
    render(0, storageOffset, "")
    let dims = shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "x")
    return out + "\n[Tensor \(dtype) \(dims)]"
  }
}

/// Formats elements of a storage to one width, like PyTorch's printer, looking only at the
/// storage indices it is given.
private struct ElementFormatter {
  let storage: ArrayStorage
  let scientific: Bool
  let width: Int

  init(_ storage: ArrayStorage, indices: [Int]) {
    self.storage = storage
    var sci = false
    if storage.dtype.isFloat {
      let finite = indices.map { Swift.abs(storage.double($0)) }.filter { $0.isFinite && $0 != 0 }
      if let mx = finite.max(), let mn = finite.min() {
        sci = mx >= 1e8 || mn < 1e-4 || mx / mn > 1000 && mx > 1e4
      }
    }
    scientific = sci
    var w = 0
    for i in indices { w = Swift.max(w, ElementFormatter.format(storage, i, sci).count) }
    width = w
  }

  /// Integers print exactly (never through Double); floats with 4 decimals.
  static func format(_ s: ArrayStorage, _ i: Int, _ sci: Bool) -> String {
    switch s {
    case .bool(let v): return v[i] ? "true" : "false"
    case .i32(let v): return String(v[i])
    case .i64(let v): return String(v[i])
    case .f32, .f64:
      let d = s.double(i)
      if d.isNaN { return "nan" }
      if d.isInfinite { return d > 0 ? "inf" : "-inf" }
      return String(format: sci ? "%.4e" : "%.4f", d)
    }
  }

  func text(_ i: Int) -> String { ElementFormatter.format(storage, i, scientific) }
  func pad(_ s: String) -> String { String(repeating: " ", count: Swift.max(0, width - s.count)) + s }
}
