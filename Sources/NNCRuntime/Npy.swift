// NumPy `.npy` files: reading (format versions 1.0 and 2.0) and writing (1.0, or 2.0 when the
// header does not fit 1.0's 16-bit length) of dense C-order arrays of the dtypes the IR has:
// f32 `<f4`, f64 `<f8`, i32 `<i4`, i64 `<i8` and bool `|b1`. Malformed input is reported as an
// `NpyError`, never by trapping.
//
// The format (numpy.lib.format): the magic `\x93NUMPY`, two version bytes, the header length
// (little-endian u16 in 1.0, u32 in 2.0), the header — a Python dict literal such as
// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and a final
// newline so that the data starts at a multiple of 64 bytes — and then the elements, row-major.

#if canImport(Glibc)
  import Glibc
#endif
import NNCIR

/// Why a `.npy` file could not be read or written.
public enum NpyError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file does not start with `\x93NUMPY`.
  case badMagic
  /// A format version other than 1.0 and 2.0.
  case unsupportedVersion(major: UInt8, minor: UInt8)
  /// The file ends inside the preamble or the header.
  case truncatedHeader(expected: Int, got: Int)
  /// The header is not the dict literal the format prescribes.
  case malformedHeader(String)
  /// A dtype other than `<f4`, `<f8`, `<i4`, `<i8` and `|b1` (the descr as written).
  case unsupportedDType(String)
  /// `fortran_order` is True: only C (row-major) order is read.
  case fortranOrder
  /// The shape has more than `ShapeMath.maxElements` elements (or a dim beyond Int).
  case shapeTooLarge(String)
  /// Fewer data bytes than the shape and dtype need.
  case truncatedData(shape: [Int], dtype: DType, expectedBytes: Int, gotBytes: Int)
  /// More data bytes than the shape and dtype need.
  case sizeMismatch(shape: [Int], dtype: DType, expectedBytes: Int, gotBytes: Int)
  /// Reading or writing the file failed.
  case io(path: String, message: String)
  /// The file or its array is larger than the process can ever allocate (`Memory.limit`).
  case outOfMemory(OutOfMemoryError)

  public var description: String {
    switch self {
    case .badMagic: return "not a .npy file (it does not start with \\x93NUMPY)"
    case .unsupportedVersion(let a, let b):
      return "unsupported .npy format version \(a).\(b) (1.0 and 2.0 are read)"
    case .truncatedHeader(let e, let g):
      return "truncated .npy header: the file has \(g) bytes, the header needs \(e)"
    case .malformedHeader(let m): return "malformed .npy header: \(m)"
    case .unsupportedDType(let d):
      var why = ""
      if d.hasPrefix(">") { why = " (big-endian data is not supported)" }
      return "unsupported dtype '\(d)'\(why); supported: '<f4' (f32), '<f8' (f64), '<i4' (i32), "
        + "'<i8' (i64), '|b1' (bool)"
    case .fortranOrder: return "fortran_order is True: only C-order (row-major) arrays are supported"
    case .shapeTooLarge(let s): return "shape \(s) is too large (more than 2^48 elements)"
    case .truncatedData(let s, let t, let e, let g):
      return "truncated data: shape \(shapeText(s)) of \(t) needs \(e) bytes, the file has \(g)"
    case .sizeMismatch(let s, let t, let e, let g):
      return "data size mismatch: shape \(shapeText(s)) of \(t) needs \(e) bytes, the file has \(g)"
    case .io(let p, let m): return "\(p): \(m)"
    case .outOfMemory(let e): return e.description
    }
  }
}

private func shapeText(_ s: [Int]) -> String {
  "(" + s.map(String.init).joined(separator: ", ") + (s.count == 1 ? ",)" : ")")
}

/// Reading and writing NumPy `.npy` files.
public enum Npy {
  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

  /// The descr written for each dtype.
  public static func descr(_ t: DType) -> String {
    switch t {
    case .f32: return "<f4"
    case .f64: return "<f8"
    case .i32: return "<i4"
    case .i64: return "<i8"
    case .bool: return "|b1"
    }
  }

  /// The dtype a descr names, when supported. One-byte bools take any byte-order mark.
  static func dtype(descr: String) -> DType? {
    switch descr {
    case "<f4": return .f32
    case "<f8": return .f64
    case "<i4": return .i32
    case "<i8": return .i64
    case "|b1", "<b1", ">b1", "=b1": return .bool
    default: return nil
    }
  }

  // MARK: - reading

  /// Where the header and the data start, from the preamble at the front of `bytes` (magic,
  /// version, header length: 10 bytes for version 1, 12 for version 2). Throws what is wrong
  /// with the preamble, or `truncatedHeader` when `bytes` end inside it.
  static func layout(_ bytes: [UInt8]) throws(NpyError) -> (headerStart: Int, dataStart: Int) {
    guard bytes.count >= 6, Array(bytes[0..<6]) == magic else {
      // A file too short to hold the magic is bad magic too, unless it is a prefix of it.
      if !bytes.isEmpty && bytes.count < 6 && Array(magic.prefix(bytes.count)) == bytes {
        throw .truncatedHeader(expected: 10, got: bytes.count)
      }
      throw .badMagic
    }
    guard bytes.count >= 8 else { throw .truncatedHeader(expected: 10, got: bytes.count) }
    let (major, minor) = (bytes[6], bytes[7])
    let lengthBytes: Int
    switch (major, minor) {
    case (1, 0): lengthBytes = 2
    case (2, 0): lengthBytes = 4
    default: throw .unsupportedVersion(major: major, minor: minor)
    }
    let preamble = 8 + lengthBytes
    guard bytes.count >= preamble else { throw .truncatedHeader(expected: preamble, got: bytes.count) }
    var headerLength = 0
    for k in 0..<lengthBytes { headerLength |= Int(bytes[8 + k]) << (8 * k) }
    return (preamble, preamble + headerLength)
  }

  /// Decodes a whole `.npy` file.
  public static func decode(_ bytes: [UInt8]) throws(NpyError) -> NDArray {
    let (preamble, dataStart) = try layout(bytes)
    guard bytes.count >= dataStart else { throw .truncatedHeader(expected: dataStart, got: bytes.count) }
    let header = try parseHeader(bytes[preamble..<dataStart])
    let available = bytes.count - dataStart
    let needed = header.count * header.dtype.byteSize
    if available < needed {
      throw .truncatedData(shape: header.shape, dtype: header.dtype, expectedBytes: needed, gotBytes: available)
    }
    if available > needed {
      throw .sizeMismatch(shape: header.shape, dtype: header.dtype, expectedBytes: needed, gotBytes: available)
    }
    do {
      try Memory.checkAllocation(bytes: needed, what: "the array of \(TensorType(header.dtype, header.shape.map(Dim.int)))")
    } catch {
      throw .outOfMemory(error)
    }
    let storage = bytes.withUnsafeBytes { raw in
      elements(UnsafeRawBufferPointer(rebasing: raw[dataStart...]), header.dtype, header.count)
    }
    return NDArray(shape: header.shape, storage: storage)
  }

  /// The longest header `read(contentsOf:)` accepts (NumPy writes at most a few hundred bytes
  /// and refuses more than 10,000 by default).
  public static let maxHeaderBytes = 1 << 20

  /// Reads the `.npy` file at `path`: the header first, then exactly the bytes it announces,
  /// then end of file must follow, so the size of what is read is bounded by the header (a huge
  /// or endless file behind a small header is an error, not an allocation). Anything but a
  /// regular file (a FIFO, `/dev/zero`, a directory) is refused before reading.
  /// Throws the `NpyError` cases of `decode`, plus `.io` and `.outOfMemory`.
  public static func read(contentsOf path: String) throws(NpyError) -> NDArray {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw ioError(path) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw ioError(path) }
    switch st.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw .io(path: path, message: "is a directory")
    default: throw .io(path: path, message: "is not a regular file")
    }
    let fileSize = Int(st.st_size)
    // The preamble (at most 12 bytes), the header it announces, then exactly the data the header
    // announces; decode() gives every error about the bytes read.
    var bytes = try readUpTo(fd, 12, path)
    let (headerStart, dataStart) = try layout(bytes)
    if dataStart - headerStart > maxHeaderBytes {
      throw .malformedHeader("the header is \(dataStart - headerStart) bytes long; at most \(maxHeaderBytes) are read")
    }
    bytes += try readUpTo(fd, max(0, dataStart - bytes.count), path)
    guard bytes.count >= dataStart else { return try decode(bytes) }
    let header = try parseHeader(bytes[headerStart..<dataStart])
    let needed = Memory.bytes(count: header.count, header.dtype)
    do {
      try Memory.checkAllocation(bytes: needed, what: "the array of \(TensorType(header.dtype, header.shape.map(Dim.int)))")
    } catch {
      throw .outOfMemory(error)
    }
    bytes += try readUpTo(fd, max(0, dataStart + needed - bytes.count), path)
    if bytes.count == dataStart + needed, try !readUpTo(fd, 1, path).isEmpty {
      throw .sizeMismatch(
        shape: header.shape, dtype: header.dtype, expectedBytes: needed, gotBytes: max(fileSize - dataStart, needed + 1))
    }
    return try decode(bytes)
  }

  /// Up to `count` bytes from `fd` (fewer only at end of file).
  private static func readUpTo(_ fd: Int32, _ count: Int, _ path: String) throws(NpyError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
      let k = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, count - done) }
      if k < 0 {
        if errno == EINTR { continue }
        throw ioError(path)
      }
      if k == 0 { break }
      done += k
    }
    out.removeLast(count - done)
    return out
  }

  /// The elements in `raw` (little-endian), `count` of them.
  private static func elements(_ raw: UnsafeRawBufferPointer, _ t: DType, _ count: Int) -> ArrayStorage {
    switch t {
    case .f32:
      return .f32((0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) })
    case .f64:
      return .f64((0..<count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) })
    case .i32:
      return .i32((0..<count).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) })
    case .i64:
      return .i64((0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) })
    case .bool:
      return .bool((0..<count).map { raw[$0] != 0 })
    }
  }

  /// What the header says.
  struct Header {
    var dtype: DType
    var shape: [Int]
    var count: Int
  }

  /// A value of the Python literal subset headers use.
  indirect enum Literal {
    case string(String)
    case bool(Bool)
    case int(String)  // digits as written; converted where a size is needed
    case none
    case tuple([Literal])
    case list([Literal])
    case dict([(String, Literal)])

    /// Python-like text for messages.
    var text: String {
      switch self {
      case .string(let s): return "'\(s)'"
      case .bool(let b): return b ? "True" : "False"
      case .int(let s): return s
      case .none: return "None"
      case .tuple(let xs): return "(" + xs.map(\.text).joined(separator: ", ") + (xs.count == 1 ? ",)" : ")")
      case .list(let xs): return "[" + xs.map(\.text).joined(separator: ", ") + "]"
      case .dict(let kv): return "{" + kv.map { "'\($0.0)': \($0.1.text)" }.joined(separator: ", ") + "}"
      }
    }
  }

  static func parseHeader(_ bytes: ArraySlice<UInt8>) throws(NpyError) -> Header {
    var parser = LiteralParser(bytes: Array(bytes))
    let value = try parser.parseTop()
    guard case .dict(let entries) = value else { throw .malformedHeader("the header is not a dict: \(value.text)") }
    var dict: [String: Literal] = [:]
    for (k, v) in entries {
      if dict[k] != nil { throw .malformedHeader("the key '\(k)' appears twice") }
      dict[k] = v
    }
    let expected: Set<String> = ["descr", "fortran_order", "shape"]
    if Set(dict.keys) != expected {
      let missing = expected.subtracting(dict.keys).sorted()
      let extra = Set(dict.keys).subtracting(expected).sorted()
      var parts: [String] = []
      if !missing.isEmpty { parts.append("missing " + missing.map { "'\($0)'" }.joined(separator: ", ")) }
      if !extra.isEmpty { parts.append("unexpected " + extra.map { "'\($0)'" }.joined(separator: ", ")) }
      throw .malformedHeader("the keys must be 'descr', 'fortran_order' and 'shape' (\(parts.joined(separator: "; ")))")
    }
    let descr: String
    switch dict["descr"]! {
    case .string(let s): descr = s
    case let other: throw .unsupportedDType(other.text)
    }
    guard case .bool(let fortran) = dict["fortran_order"]! else {
      throw .malformedHeader("fortran_order is not True or False: \(dict["fortran_order"]!.text)")
    }
    guard case .tuple(let dims) = dict["shape"]! else {
      throw .malformedHeader("shape is not a tuple of integers: \(dict["shape"]!.text)")
    }
    let shapeText = dict["shape"]!.text
    var shape: [Int] = []
    for d in dims {
      guard case .int(let digits) = d else { throw .malformedHeader("shape is not a tuple of integers: \(shapeText)") }
      if digits.hasPrefix("-") { throw .malformedHeader("shape has a negative dim: \(shapeText)") }
      guard let n = Int(digits) else { throw .shapeTooLarge(shapeText) }
      shape.append(n)
    }
    guard let t = dtype(descr: descr) else { throw .unsupportedDType(descr) }
    if fortran { throw .fortranOrder }
    guard let count = ShapeMath.elementCount(shape) else { throw .shapeTooLarge(shapeText) }
    return Header(dtype: t, shape: shape, count: count)
  }

  /// A recursive-descent parser of the Python literals headers hold: dicts with string keys,
  /// strings, True/False/None, integers (a Python 2 `L` suffix allowed), tuples and lists.
  struct LiteralParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ m: String) -> NpyError { .malformedHeader("\(m) at offset \(i) of the header") }

    mutating func skipSpace() {
      while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(bytes[i]) { i += 1 }
    }

    mutating func parseTop() throws(NpyError) -> Literal {
      skipSpace()
      let v = try parseValue()
      skipSpace()
      // numpy pads with spaces and ends with a newline; some writers pad with NULs.
      while i < bytes.count, bytes[i] == 0 { i += 1 }
      if i != bytes.count { throw error("unexpected text after the dict") }
      return v
    }

    mutating func expect(_ c: UInt8) throws(NpyError) {
      skipSpace()
      guard i < bytes.count, bytes[i] == c else {
        throw error("expected '\(Character(Unicode.Scalar(c)))'" + (i < bytes.count ? "" : " before the end"))
      }
      i += 1
    }

    mutating func parseValue() throws(NpyError) -> Literal {
      skipSpace()
      guard i < bytes.count else { throw error("unexpected end") }
      depth += 1
      defer { depth -= 1 }
      if depth > 32 { throw error("nesting too deep") }
      let c = bytes[i]
      switch c {
      case UInt8(ascii: "{"):
        i += 1
        var entries: [(String, Literal)] = []
        while true {
          skipSpace()
          if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(entries) }
          guard case .string(let key) = try parseValue() else { throw error("dict keys must be strings") }
          try expect(UInt8(ascii: ":"))
          entries.append((key, try parseValue()))
          skipSpace()
          guard i < bytes.count else { throw error("unterminated dict") }
          if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
          if bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(entries) }
          throw error("expected ',' or '}' in the dict")
        }
      case UInt8(ascii: "("), UInt8(ascii: "["):
        let close = c == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
        i += 1
        var items: [Literal] = []
        var trailingComma = false
        while true {
          skipSpace()
          if i < bytes.count, bytes[i] == close { i += 1; break }
          items.append(try parseValue())
          skipSpace()
          guard i < bytes.count else { throw error("unterminated \(close == UInt8(ascii: ")") ? "tuple" : "list")") }
          trailingComma = false
          if bytes[i] == UInt8(ascii: ",") { i += 1; trailingComma = true; continue }
          if bytes[i] == close { i += 1; break }
          throw error("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
        if close == UInt8(ascii: "]") { return .list(items) }
        // `(3)` is just 3 in Python; a one-element tuple needs the comma.
        if items.count == 1 && !trailingComma { return items[0] }
        return .tuple(items)
      case UInt8(ascii: "'"), UInt8(ascii: "\""):
        i += 1
        var s: [UInt8] = []
        while true {
          guard i < bytes.count else { throw error("unterminated string") }
          let b = bytes[i]
          i += 1
          if b == c { break }
          if b == UInt8(ascii: "\\") {
            guard i < bytes.count else { throw error("unterminated string") }
            s.append(bytes[i])
            i += 1
            continue
          }
          if b == 0x0A { throw error("newline in a string") }
          s.append(b)
        }
        // Headers are latin-1 in versions 1.0 and 2.0.
        return .string(String(String.UnicodeScalarView(s.map { Unicode.Scalar($0) })))
      case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        var digits = ""
        if c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
          if c == UInt8(ascii: "-") { digits = "-" }
          i += 1
        }
        let start = i
        while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
          digits.append(Character(Unicode.Scalar(bytes[i])))
          i += 1
        }
        if i == start { throw error("expected digits") }
        if i < bytes.count, bytes[i] == UInt8(ascii: "L") || bytes[i] == UInt8(ascii: "l") { i += 1 }
        if i < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "j")].contains(bytes[i]) {
          throw error("only integers are allowed here")
        }
        // Leading zeros aside, keep the digits as written (a huge dim is reported with its size).
        return .int(digits)
      default:
        var word = ""
        while i < bytes.count, (bytes[i] >= UInt8(ascii: "A") && bytes[i] <= UInt8(ascii: "Z"))
          || (bytes[i] >= UInt8(ascii: "a") && bytes[i] <= UInt8(ascii: "z")) || bytes[i] == UInt8(ascii: "_")
        {
          word.append(Character(Unicode.Scalar(bytes[i])))
          i += 1
        }
        switch word {
        case "True": return .bool(true)
        case "False": return .bool(false)
        case "None": return .none
        case "": throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
        default: throw error("unexpected name '\(word)'")
        }
      }
    }
  }

  // MARK: - writing

  /// The `.npy` bytes of `array`, byte for byte what `numpy.save` writes for it.
  public static func encode(_ array: NDArray) -> [UInt8] {
    var dict = "{'descr': '\(descr(array.dtype))', 'fortran_order': False, 'shape': \(shapeText(array.shape)), }"
    // numpy leaves room to grow the first dim in place.
    if let first = array.shape.first { dict += String(repeating: " ", count: max(0, 21 - String(first).count)) }
    var out = magic
    let headerBytes = Array(dict.utf8)
    // Version 1.0 has a 16-bit header length; 2.0 a 32-bit one. The data starts 64-aligned.
    for (major, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
      let unpadded = 8 + lengthBytes + headerBytes.count + 1
      let pad = 64 - unpadded % 64
      let length = headerBytes.count + 1 + pad
      if lengthBytes == 2 && length > 0xFFFF { continue }
      out += [major, 0]
      for k in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: length >> (8 * k))) }
      out += headerBytes
      out += [UInt8](repeating: 0x20, count: pad)
      out.append(0x0A)
      break
    }
    out.reserveCapacity(out.count + array.count * array.dtype.byteSize)
    switch array.storage {
    case .f32(let v): for x in v { appendLE(&out, UInt64(x.bitPattern), 4) }
    case .f64(let v): for x in v { appendLE(&out, x.bitPattern, 8) }
    case .i32(let v): for x in v { appendLE(&out, UInt64(UInt32(bitPattern: x)), 4) }
    case .i64(let v): for x in v { appendLE(&out, UInt64(bitPattern: x), 8) }
    case .bool(let v): for x in v { out.append(x ? 1 : 0) }
    }
    return out
  }

  private static func appendLE(_ out: inout [UInt8], _ v: UInt64, _ n: Int) {
    for k in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
  }

  /// Writes `array` to `path` as a `.npy` file (replacing it).
  public static func write(_ array: NDArray, to path: String) throws(NpyError) {
    try writeFile(path, encode(array))
  }

  // MARK: - files

  static func ioError(_ path: String) -> NpyError {
    .io(path: path, message: String(cString: strerror(errno)))
  }

  static func writeFile(_ path: String, _ bytes: [UInt8]) throws(NpyError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ioError(path) }
    var done = 0
    while done < bytes.count {
      let k = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
      if k < 0 {
        if errno == EINTR { continue }
        let e = ioError(path)
        close(fd)
        throw e
      }
      done += k
    }
    guard close(fd) == 0 else { throw ioError(path) }
  }
}
