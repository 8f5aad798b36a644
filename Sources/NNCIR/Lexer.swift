// Tokenizer for `.swiftgraph` text: works on bytes, reports every error with its position.

enum TokenKind: Equatable {
  case percent(String)  // %name
  case at(String)  // @name
  case ident(String)
  case int(Int)
  case float(Double)
  case string(String)
  case punct(String)  // ( ) [ ] { } , : = ->
  case eof
}

struct Token {
  var kind: TokenKind
  var pos: SourcePos
  /// The token's text, for messages.
  var text: String
}

struct Lexer {
  let bytes: [UInt8]
  let file: String
  var i = 0
  var line = 1
  var lineStart = 0

  init(bytes: [UInt8], file: String) {
    self.bytes = bytes
    self.file = file
  }

  var pos: SourcePos { SourcePos(file: file, line: line, column: i - lineStart + 1) }

  /// The position of the first byte that is not valid UTF-8, if any.
  static func firstInvalidUTF8(_ b: [UInt8], file: String) -> SourcePos? {
    var i = 0
    var line = 1
    var lineStart = 0
    while i < b.count {
      let c = b[i]
      var need = 0
      var lo: UInt8 = 0x80
      var hi: UInt8 = 0xBF
      switch c {
      case 0x00...0x7F: need = 0
      case 0xC2...0xDF: need = 1
      case 0xE0: need = 2; lo = 0xA0
      case 0xE1...0xEC, 0xEE...0xEF: need = 2
      case 0xED: need = 2; hi = 0x9F
      case 0xF0: need = 3; lo = 0x90
      case 0xF1...0xF3: need = 3
      case 0xF4: need = 3; hi = 0x8F
      default: return SourcePos(file: file, line: line, column: i - lineStart + 1)
      }
      for k in 0..<need {
        let j = i + 1 + k
        let (l, h): (UInt8, UInt8) = k == 0 ? (lo, hi) : (0x80, 0xBF)
        guard j < b.count, b[j] >= l, b[j] <= h else {
          return SourcePos(file: file, line: line, column: i - lineStart + 1)
        }
      }
      if c == UInt8(ascii: "\n") {
        line += 1
        lineStart = i + 1
      }
      i += need + 1
    }
    return nil
  }

  private static func isIdentStart(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_")
  }
  private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
  private static func isIdentChar(_ c: UInt8) -> Bool {
    isIdentStart(c) || isDigit(c) || c == UInt8(ascii: ".")
  }

  private func peekByte(_ k: Int = 0) -> UInt8? { i + k < bytes.count ? bytes[i + k] : nil }

  private mutating func skipTrivia() {
    while let c = peekByte() {
      if c == UInt8(ascii: "\n") {
        i += 1
        line += 1
        lineStart = i
      } else if c == 0x20 || c == 0x09 || c == 0x0D {
        i += 1
      } else if c == UInt8(ascii: "/") && peekByte(1) == UInt8(ascii: "/") {
        while let d = peekByte(), d != UInt8(ascii: "\n") { i += 1 }
      } else {
        return
      }
    }
  }

  private mutating func word() -> String {
    let s = i
    while let c = peekByte(), Lexer.isIdentChar(c) { i += 1 }
    return String(decoding: bytes[s..<i], as: UTF8.self)
  }

  mutating func next() throws(Diagnostic) -> Token {
    skipTrivia()
    let p = pos
    let start = i
    guard let c = peekByte() else { return Token(kind: .eof, pos: p, text: "end of file") }
    func tok(_ k: TokenKind) -> Token {
      Token(kind: k, pos: p, text: String(decoding: bytes[start..<i], as: UTF8.self))
    }
    if c == UInt8(ascii: "%") || c == UInt8(ascii: "@") {
      i += 1
      let w = word()
      if w.isEmpty { throw Diagnostic(p, "expected a name after '\(Character(Unicode.Scalar(c)))'") }
      return tok(c == UInt8(ascii: "%") ? .percent(w) : .at(w))
    }
    if Lexer.isIdentStart(c) { return tok(.ident(word())) }
    if Lexer.isDigit(c) || (c == UInt8(ascii: "-") && (peekByte(1).map(Lexer.isDigit) ?? false)) {
      return try number(p, start)
    }
    if c == UInt8(ascii: "-") && peekByte(1) == UInt8(ascii: ">") {
      i += 2
      return tok(.punct("->"))
    }
    if c == UInt8(ascii: "-"), let n = peekByte(1), Lexer.isIdentStart(n) {
      i += 1
      let w = word()
      if w == "inf" { return tok(.float(-.infinity)) }
      if w == "nan" { return tok(.float(-Double.nan)) }
      throw Diagnostic(p, "unexpected '-\(w)'")
    }
    if c == UInt8(ascii: "\"") { return tok(.string(try string(p))) }
    if "()[]{},:=".utf8.contains(c) {
      i += 1
      return tok(.punct(String(Unicode.Scalar(c))))
    }
    let shown = c < 0x80 && c >= 0x20 ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x" + String(c, radix: 16)
    throw Diagnostic(p, "unexpected character \(shown)")
  }

  private mutating func number(_ p: SourcePos, _ start: Int) throws(Diagnostic) -> Token {
    if peekByte() == UInt8(ascii: "-") { i += 1 }
    var isFloat = false
    while let c = peekByte(), Lexer.isDigit(c) { i += 1 }
    if peekByte() == UInt8(ascii: "."), let d = peekByte(1), Lexer.isDigit(d) {
      isFloat = true
      i += 1
      while let c = peekByte(), Lexer.isDigit(c) { i += 1 }
    }
    if peekByte() == UInt8(ascii: "e") || peekByte() == UInt8(ascii: "E") {
      var k = 1
      if peekByte(k) == UInt8(ascii: "+") || peekByte(k) == UInt8(ascii: "-") { k += 1 }
      if let d = peekByte(k), Lexer.isDigit(d) {
        isFloat = true
        i += k
        while let c = peekByte(), Lexer.isDigit(c) { i += 1 }
      }
    }
    if let c = peekByte(), Lexer.isIdentStart(c) {
      throw Diagnostic(p, "malformed number '\(String(decoding: bytes[start...i], as: UTF8.self))'")
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    if isFloat {
      guard let v = Double(text), v.isFinite else { throw Diagnostic(p, "number \(text) does not fit f64") }
      return Token(kind: .float(v), pos: p, text: text)
    }
    guard let v = Int(text) else { throw Diagnostic(p, "integer \(text) does not fit in 64 bits") }
    return Token(kind: .int(v), pos: p, text: text)
  }

  private mutating func string(_ p: SourcePos) throws(Diagnostic) -> String {
    i += 1
    var out: [UInt8] = []
    while true {
      guard let c = peekByte(), c != UInt8(ascii: "\n") else { throw Diagnostic(p, "unterminated string") }
      i += 1
      if c == UInt8(ascii: "\"") { break }
      if c == UInt8(ascii: "\\") {
        // Escape errors point at the backslash.
        let escape = SourcePos(file: file, line: line, column: i - lineStart)
        guard let e = peekByte() else { throw Diagnostic(p, "unterminated string") }
        i += 1
        switch e {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
        case UInt8(ascii: "u"):
          guard peekByte() == UInt8(ascii: "{") else { throw Diagnostic(escape, "expected '{' after \\u") }
          i += 1
          let s = i
          while let h = peekByte(), h != UInt8(ascii: "}"), i - s < 8 { i += 1 }
          guard peekByte() == UInt8(ascii: "}"),
            let v = UInt32(String(decoding: bytes[s..<i], as: UTF8.self), radix: 16),
            let scalar = Unicode.Scalar(v)
          else { throw Diagnostic(escape, "bad \\u{...} escape") }
          i += 1
          out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
          let shown = e < 0x80 && e >= 0x20 ? "'\\\(Character(Unicode.Scalar(e)))'" : "'\\' before byte 0x" + String(e, radix: 16)
          throw Diagnostic(escape, "unknown escape \(shown)")
        }
      } else {
        out.append(c)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}

/// The names the `.swiftgraph` text can spell after `%` and `@`, so that every graph the library
/// builds prints as text that parses back.
public enum Identifier {
  /// A parameter or function name: `[A-Za-z_][A-Za-z0-9_.]*`. Names starting with a digit are
  /// the printer's numbered values. (A function's C entry name maps '.' to '_'; colliding C
  /// names are rejected by the code generator.)
  public static func isValid(_ s: String) -> Bool {
    guard let first = s.utf8.first, isStart(first) else { return false }
    return s.utf8.allSatisfy { isStart($0) || isDigit($0) || $0 == UInt8(ascii: ".") }
  }

  private static func isStart(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_")
  }
  private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}
