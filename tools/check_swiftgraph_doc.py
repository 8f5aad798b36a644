#!/usr/bin/env python3
"""Checks the examples of docs/swiftgraph.md against nnc.

- every ```swiftgraph block must pass `nnc verify`, and `nnc dump` of it must be a fixpoint;
- every ```swiftgraph bad block must fail `nnc dump bad.swiftgraph` with exactly the text of the
  ```text block that follows it;
- every code span on a line starting with "Example:" is one instruction, checked inside the
  function of the block that defines @examples.

Usage: tools/check_swiftgraph_doc.py [path/to/nnc] (default .build/debug/nnc)
"""
import os, re, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
nnc = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/nnc"))
doc = open(os.path.join(root, "docs/swiftgraph.md")).read()

blocks = [(m.group(1).strip(), m.group(2), doc.count("\n", 0, m.start()) + 1)
          for m in re.finditer(r"^```([^\n]*)\n(.*?)^```$", doc, re.M | re.S)]
failures = 0
tmp = tempfile.mkdtemp()

def run(args, text, name="in.swiftgraph"):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([nnc] + args + [name], cwd=tmp, capture_output=True, text=True)

def fail(line, message):
    global failures
    failures += 1
    print(f"docs/swiftgraph.md:{line}: {message}")

checked = 0
context = None
for k, (info, text, line) in enumerate(blocks):
    if info == "swiftgraph":
        checked += 1
        if "func @examples" in text:
            context = text
        r = run(["verify"], text)
        if r.returncode != 0:
            fail(line, "example does not verify:\n" + r.stderr)
            continue
        once = run(["dump"], text).stdout
        if run(["dump"], once).stdout != once:
            fail(line, "nnc dump is not a fixpoint on this example")
    elif info == "swiftgraph bad":
        checked += 1
        r = run(["dump"], text, "bad.swiftgraph")
        expected = blocks[k + 1][1] if k + 1 < len(blocks) and blocks[k + 1][0] == "text" else None
        if r.returncode != 1:
            fail(line, "bad example was accepted")
        elif expected is None:
            fail(line, "bad example has no ```text block with its error after it")
        elif r.stderr.rstrip("\n") != expected.rstrip("\n"):
            fail(line, f"error differs:\n--- doc\n{expected}--- nnc\n{r.stderr}")

assert context, "no block defines @examples"
for n, text in enumerate(doc.split("\n"), 1):
    if not text.startswith("Example:"):
        continue
    for inst in re.findall(r"`([^`]+)`", text):
        checked += 1
        program = context.replace("  return\n", "  " + inst + "\n  return\n")
        r = run(["verify"], program)
        if r.returncode != 0:
            fail(n, f"`{inst}` does not verify:\n" + r.stderr)

print(f"{checked} examples checked, {failures} failed")
sys.exit(1 if failures else 0)
