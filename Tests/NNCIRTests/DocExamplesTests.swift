// The examples of docs/swiftgraph.md stay true: every ```swiftgraph block loads and prints to a
// fixpoint; every ```swiftgraph bad block fails with exactly the error text in the ```text block
// after it; every `code span` on an "Example:" line is one instruction that verifies inside the
// doc's @examples function. (tools/check_swiftgraph_doc.py checks the same through the binary.)

import Foundation
import NNCIR
import NNCPasses
import NNCTestSupport
import Testing

private struct DocBlock {
  var info: String
  var text: String
  var line: Int
}

private let doc: String = (try? String(contentsOf: packageRoot.appendingPathComponent("docs/swiftgraph.md"), encoding: .utf8)) ?? ""

/// Fenced blocks: info string, body, and the line of the opening fence.
private let blocks: [DocBlock] = {
  var out: [DocBlock] = []
  var current: DocBlock? = nil
  for (n, line) in doc.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
    if line.hasPrefix("```") {
      if var b = current {
        if line == "```" {
          b.text = b.text
          out.append(b)
          current = nil
          continue
        }
      } else {
        current = DocBlock(info: String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), text: "", line: n + 1)
        continue
      }
    }
    if current != nil { current!.text += line + "\n" }
  }
  return out
}()

@Suite struct DocExamplesTests {
  @Test func docHasExamples() {
    #expect(blocks.filter { $0.info == "swiftgraph" }.count >= 5)
    #expect(blocks.filter { $0.info == "swiftgraph bad" }.count >= 10)
  }

  @Test func goodExamplesLoadAndPrintToAFixpoint() throws {
    for b in blocks where b.info == "swiftgraph" {
      do {
        let once = try loadGraph(b.text, file: "in.swiftgraph").text()
        let twice = try loadGraph(once, file: "in.swiftgraph").text()
        #expect(once == twice, "docs/swiftgraph.md:\(b.line): dump is not a fixpoint")
      } catch {
        Issue.record("docs/swiftgraph.md:\(b.line): example does not load: \(error)")
      }
    }
  }

  @Test func badExamplesFailWithTheDocumentedError() throws {
    for (k, b) in blocks.enumerated() where b.info == "swiftgraph bad" {
      guard k + 1 < blocks.count, blocks[k + 1].info == "text" else {
        Issue.record("docs/swiftgraph.md:\(b.line): bad example has no ```text block after it")
        continue
      }
      let bytes = Array(b.text.utf8)
      do {
        _ = try loadGraph(bytes, file: "bad.swiftgraph")
        Issue.record("docs/swiftgraph.md:\(b.line): bad example was accepted")
      } catch {
        let expected = blocks[k + 1].text.trimmingCharacters(in: .newlines)
        #expect(error.rendered(source: bytes) == expected, "docs/swiftgraph.md:\(b.line)")
      }
    }
  }

  @Test func oneLineOpExamplesVerify() throws {
    let context = try #require(blocks.first { $0.info == "swiftgraph" && $0.text.contains("func @examples") }).text
    var checked = 0
    for (n, line) in doc.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.hasPrefix("Example:") {
      let spans = line.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
      for inst in spans {
        checked += 1
        let program = context.replacingOccurrences(of: "  return\n", with: "  \(inst)\n  return\n")
        do {
          _ = try loadGraph(program, file: "example.swiftgraph")
        } catch {
          Issue.record("docs/swiftgraph.md:\(n + 1): `\(inst)` does not verify: \(error)")
        }
      }
    }
    #expect(checked >= 30)
  }
}
