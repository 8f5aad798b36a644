// Located errors about user input, rendered as `file:line:col: error: message` plus the line
// and a caret.

/// An error in user input, with the place it was found.
public struct Diagnostic: Error, Equatable, Sendable, CustomStringConvertible {
  public var pos: SourcePos
  public var message: String

  public init(_ pos: SourcePos, _ message: String) {
    self.pos = pos
    self.message = message
  }

  /// `file:line:col: error: message`.
  public var description: String { "\(pos): error: \(message)" }

  /// How many bytes of a source line a rendered diagnostic shows at most on each side of the
  /// column; a longer line is clipped around the column, with "..." where bytes were left out.
  public static let contextBytes = 80

  /// The one-line form followed by the offending source line (clipped to about
  /// 2 x `contextBytes` bytes around the column) and a caret under the column.
  public func rendered(source: [UInt8]?) -> String {
    guard let source, let line = Diagnostic.line(pos.line, of: source) else { return description }
    var bytes = Array(line.utf8)
    var column = max(0, pos.column - 1)
    var head = ""
    var tail = ""
    if column > Diagnostic.contextBytes {
      var cut = column - Diagnostic.contextBytes
      while cut < bytes.count && (bytes[cut] & 0xC0) == 0x80 { cut += 1 }  // not inside a character
      bytes.removeFirst(min(cut, bytes.count))
      column -= cut
      head = "..."
    }
    if bytes.count > column + Diagnostic.contextBytes {
      var end = column + Diagnostic.contextBytes
      while end > 0 && end < bytes.count && (bytes[end] & 0xC0) == 0x80 { end -= 1 }
      bytes.removeLast(bytes.count - end)
      tail = "..."
    }
    // Columns count bytes; pad with one space per character before the column (a tab for a tab)
    // so the caret lines up under multi-byte characters and tabs too.
    let before = String(decoding: bytes.prefix(column), as: UTF8.self)
    let caretPad = String(repeating: " ", count: head.count) + String(before.map { $0 == "\t" ? "\t" : " " })
    return description + "\n" + head + String(decoding: bytes, as: UTF8.self) + tail + "\n" + caretPad + "^"
  }

  /// Line `n` (1-based) of `source` as text, tabs kept, invalid UTF-8 replaced.
  static func line(_ n: Int, of source: [UInt8]) -> String? {
    var current = 1
    var start = 0
    for (i, b) in source.enumerated() where b == UInt8(ascii: "\n") {
      if current == n { return String(decoding: source[start..<i], as: UTF8.self) }
      current += 1
      start = i + 1
    }
    if current == n { return String(decoding: source[start...], as: UTF8.self) }
    return nil
  }
}

/// Quotes a string for `.swiftgraph` text (`"a \"b\""`).
public func quoteString(_ s: String) -> String {
  var out = "\""
  for ch in s.unicodeScalars {
    switch ch {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    default:
      if ch.value < 0x20 || ch.value == 0x7F {
        out += "\\u{" + String(ch.value, radix: 16) + "}"
      } else {
        out.unicodeScalars.append(ch)
      }
    }
  }
  return out + "\""
}

/// Shortest text that reads back to the same value of `dtype` (f32 printed as Float).
public func formatFloat(_ v: Double, _ dtype: DType) -> String {
  // Swift prints every NaN as "nan"; keep the sign so the value reads back bit for bit.
  if v.isNaN { return v.sign == .minus ? "-nan" : "nan" }
  let s = dtype == .f32 ? Float(v).description : v.description
  if s.contains(".") || s.contains("e") || s.contains("n") { return s }
  return s + ".0"
}
