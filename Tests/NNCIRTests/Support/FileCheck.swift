// FileCheck-style matching of expected lines against a tool's output, for the golden-file tests
// (the directive syntax is documented at the top of GoldenTests.swift).

/// One check directive: what it asserts and where it was written.
struct CheckDirective: Equatable, Sendable {
  enum Kind: String, CaseIterable, Sendable {
    /// The pattern is on some later line.
    case check = "CHECK"
    /// The pattern is on the line right after the previous match.
    case next = "CHECK-NEXT"
    /// The line right after the previous match is empty.
    case empty = "CHECK-EMPTY"
    /// The pattern is on no line between the matches around this directive.
    case not = "CHECK-NOT"
    /// The pattern starts a block; the checks after it are confined to that block.
    case label = "CHECK-LABEL"
  }

  var kind: Kind
  /// Text a line must contain, surrounding whitespace trimmed; empty for CHECK-EMPTY.
  var pattern: String
  /// 1-based line of the directive in its file.
  var line: Int
}

/// A check that does not hold, with the reason in words.
struct CheckFailure: Error, Equatable, Sendable, CustomStringConvertible {
  var directive: CheckDirective
  var reason: String
  var description: String { "\(directive.kind.rawValue): \(directive.pattern): \(reason)" }
}

/// LLVM FileCheck semantics on whole lines, with literal substrings (no regexes).
enum FileCheck {
  /// The lines of `text`; a final newline does not start another line.
  static func lines(_ text: String) -> [String] {
    var out = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if out.last == "" { out.removeLast() }
    return out
  }

  /// Checks `directives` against `output` in order; nil when every one holds.
  static func match(_ directives: [CheckDirective], against output: String) -> CheckFailure? {
    let lines = lines(output)
    func show(_ n: Int) -> String { n < lines.count ? "output line \(n + 1) \"\(lines[n])\"" : "end of output" }

    // Labels are found first, in order; they split the output into blocks.
    var labelLines: [Int] = []
    var from = 0
    for d in directives where d.kind == .label {
      guard let l = (from..<lines.count).first(where: { lines[$0].contains(d.pattern) }) else {
        return CheckFailure(directive: d, reason: "no line from output line \(from + 1) on contains it")
      }
      labelLines.append(l)
      from = l + 1
    }

    var cursor = 0
    var end = labelLines.first ?? lines.count
    var labelIndex = 0
    var nots: [CheckDirective] = []
    /// The first pending CHECK-NOT that occurs in lines `range`.
    func violatedNot(_ range: Range<Int>) -> CheckFailure? {
      for d in nots {
        if let l = range.first(where: { lines[$0].contains(d.pattern) }) {
          return CheckFailure(directive: d, reason: "found on \(show(l))")
        }
      }
      return nil
    }

    for d in directives {
      switch d.kind {
      case .label:
        if let f = violatedNot(cursor..<end) { return f }
        nots = []
        cursor = labelLines[labelIndex] + 1
        labelIndex += 1
        end = labelIndex < labelLines.count ? labelLines[labelIndex] : lines.count
      case .check:
        guard let l = (cursor..<end).first(where: { lines[$0].contains(d.pattern) }) else {
          return CheckFailure(directive: d, reason: "no line from \(show(cursor)) on contains it")
        }
        if let f = violatedNot(cursor..<l) { return f }
        nots = []
        cursor = l + 1
      case .next, .empty:
        let holds = cursor < end && (d.kind == .next ? lines[cursor].contains(d.pattern) : lines[cursor].allSatisfy(\.isWhitespace))
        guard holds else {
          let wanted = d.kind == .next ? "the next line to contain it" : "the next line to be empty"
          return CheckFailure(directive: d, reason: "expected \(wanted), found \(show(cursor))")
        }
        nots = []
        cursor += 1
      case .not:
        nots.append(d)
      }
    }
    return violatedNot(cursor..<end)
  }
}
