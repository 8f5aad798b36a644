// NumPy `.npy` reading and writing: files numpy wrote (Tests/Fixtures/npy, made by
// tools/fixtures/gen_npy_fixtures.py), round trips for every dtype, and every kind of malformed
// input giving its error instead of a crash.

import Foundation
import NNCIR
import NNCRuntime
import NNCTestSupport
import Testing

@Suite struct NpyTests {
  static func fixture(_ name: String) -> String {
    packageRoot.appendingPathComponent("Tests/Fixtures/npy/\(name)").path
  }

  static func fixtureBytes(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
  }

  /// A header dict wrapped the way numpy does (version 1.0, padded to 64 bytes).
  static func file(header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
    let lengthBytes = version == 1 ? 2 : 4
    let h = Array(header.utf8)
    let pad = 64 - (8 + lengthBytes + h.count + 1) % 64
    let length = h.count + pad + 1
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    for k in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: length >> (8 * k))) }
    return out + h + [UInt8](repeating: 0x20, count: pad) + [0x0A] + data
  }

  static func decodeError(_ bytes: [UInt8]) -> NpyError? {
    do {
      _ = try Npy.decode(bytes)
      return nil
    } catch {
      return error
    }
  }

  // MARK: - files numpy wrote

  @Test func readsNumpyFiles() throws {
    let f32 = try Npy.read(contentsOf: Self.fixture("f32_2x3.npy"))
    #expect(f32.shape == [2, 3])
    guard case .f32(let v) = f32.storage else { Issue.record("not f32: \(f32)"); return }
    #expect(Array(v[0..<5]) == [0, 1.5, -2.25, Float(3e-8), .infinity])
    #expect(v[5].isNaN)

    let f64 = try Npy.read(contentsOf: Self.fixture("f64_4.npy"))
    #expect(f64.shape == [4])
    guard case .f64(let d) = f64.storage else { Issue.record("not f64: \(f64)"); return }
    #expect(d[0] == 1.0 / 3.0)
    #expect(d[1] == 0 && d[1].sign == .minus)
    #expect(Array(d[2...]) == [1e300, -.infinity])

    #expect(
      try Npy.read(contentsOf: Self.fixture("i32_2x2x2.npy"))
        == NDArray([Int32.min, .max, -1, 0, 1, 2, 3, 4], shape: [2, 2, 2]))
    #expect(try Npy.read(contentsOf: Self.fixture("i64_3.npy")) == NDArray([Int64.min, .max, 42], shape: [3]))
    #expect(try Npy.read(contentsOf: Self.fixture("bool_5.npy")) == NDArray([true, false, true, true, false], shape: [5]))
    #expect(try Npy.read(contentsOf: Self.fixture("f32_scalar.npy")) == NDArray([Float(2.5)], shape: []))
    #expect(try Npy.read(contentsOf: Self.fixture("f64_0x3.npy")) == NDArray([Double](), shape: [0, 3]))
    #expect(try Npy.read(contentsOf: Self.fixture("i32_3_v2.npy")) == NDArray([Int32(7), -8, 9], shape: [3]))
  }

  /// nnc writes exactly the bytes `numpy.save` wrote (header text, padding and data).
  @Test(arguments: ["f32_2x3.npy", "f64_4.npy", "i32_2x2x2.npy", "i64_3.npy", "bool_5.npy", "f32_scalar.npy", "f64_0x3.npy"])
  func writesWhatNumpyWrites(_ name: String) throws {
    let bytes = try Self.fixtureBytes(name)
    #expect(Npy.encode(try Npy.decode(bytes)) == bytes)
  }

  @Test func rejectsWhatNumpyWroteButNNCDoesNotSupport() throws {
    #expect(Self.decodeError(try Self.fixtureBytes("f16_2.npy")) == .unsupportedDType("<f2"))
    #expect(Self.decodeError(try Self.fixtureBytes("f32be_2.npy")) == .unsupportedDType(">f4"))
    #expect(Self.decodeError(try Self.fixtureBytes("f32_fortran_2x3.npy")) == .fortranOrder)
    #expect(NpyError.unsupportedDType(">f4").description.contains("big-endian"))
    #expect(NpyError.unsupportedDType("<f2").description.contains("'<f2'"))
    #expect(NpyError.fortranOrder.description.contains("fortran_order"))
  }

  // MARK: - round trips

  @Test func roundTripsEveryDType() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let arrays: [NDArray] = [
      NDArray([Float(1), -0.5, .nan, .infinity, Float.leastNonzeroMagnitude, 3e38], shape: [2, 3]),
      NDArray([Double.pi, -1e-300, .greatestFiniteMagnitude, 0], shape: [4, 1]),
      NDArray([Int32.min, 0, Int32.max], shape: [3]),
      NDArray([Int64.min, -1, Int64.max, 5], shape: [1, 2, 2]),
      NDArray([true, false, false, true, true, true], shape: [3, 2]),
      NDArray([Float(7)], shape: []),
      NDArray([Int64](), shape: [2, 0]),
    ]
    for (k, a) in arrays.enumerated() {
      let path = dir.appendingPathComponent("a\(k).npy").path
      try Npy.write(a, to: path)
      let b = try Npy.read(contentsOf: path)
      #expect(b.shape == a.shape)
      #expect(b.dtype == a.dtype)
      // NaN != NaN: compare bit patterns for floats.
      #expect(Npy.encode(b) == Npy.encode(a))
      // The data starts on a 64-byte boundary.
      let bytes = Npy.encode(a)
      let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      #expect((10 + headerLength) % 64 == 0)
      #expect(bytes[10 + headerLength - 1] == 0x0A)
    }
  }

  /// A header too long for version 1.0's 16-bit length is written as version 2.0.
  @Test func writesVersion2WhenTheHeaderNeedsIt() throws {
    let shape = [Int](repeating: 1, count: 30_000)
    let a = NDArray([Float(4.5)], shape: shape)
    let bytes = Npy.encode(a)
    #expect(bytes[6] == 2 && bytes[7] == 0)
    let length = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    #expect((12 + length) % 64 == 0)
    #expect(try Npy.decode(bytes) == a)
    // Small arrays stay version 1.0.
    #expect(Npy.encode(NDArray([Float(1)], shape: [1]))[6] == 1)
  }

  /// Headers other writers produce: double quotes, no trailing comma, Python 2 longs, other key
  /// order, no spaces.
  @Test func readsHeaderVariants() throws {
    let four: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0]
    for header in [
      "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2,)}",
      "{'shape': (2L,), 'fortran_order': False, 'descr': '<i4'}",
      "{'descr':'<i4','fortran_order':False,'shape':(2,),}",
    ] {
      #expect(try Npy.decode(Self.file(header: header, data: four)) == NDArray([Int32(1), 2], shape: [2]), "\(header)")
    }
    // `(2)` is the integer 2 in Python, not a tuple.
    #expect(
      Self.decodeError(Self.file(header: "{'descr': '<i4', 'fortran_order': False, 'shape': (2)}", data: four))
        == .malformedHeader("shape is not a tuple of integers: 2"))
    // Any byte order mark is fine for one-byte bools.
    #expect(try Npy.decode(Self.file(header: "{'descr': '<b1', 'fortran_order': False, 'shape': (2,)}", data: [0, 3])) == NDArray([false, true], shape: [2]))
    // Version 2.0 headers written by hand.
    #expect(try Npy.decode(Self.file(header: "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data: four, version: 2)) == NDArray([Int32(1), 2], shape: [2]))
  }

  // MARK: - malformed input

  @Test func reportsEveryKindOfMalformedInput() throws {
    let good = Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: [0, 0, 128, 63, 0, 0, 0, 64])
    #expect(try Npy.decode(good) == NDArray([Float(1), 2], shape: [2]))

    // Bad magic, and files cut short anywhere in the preamble or header.
    #expect(Self.decodeError(Array("PK\u{3}\u{4} not npy at all".utf8)) == .badMagic)
    #expect(Self.decodeError([]) == .badMagic)
    #expect(Self.decodeError(Array(good.prefix(4))) == .truncatedHeader(expected: 10, got: 4))
    #expect(Self.decodeError(Array(good.prefix(7))) == .truncatedHeader(expected: 10, got: 7))
    #expect(Self.decodeError(Array(good.prefix(9))) == .truncatedHeader(expected: 10, got: 9))
    #expect(Self.decodeError(Array(good.prefix(40))) == .truncatedHeader(expected: good.count - 8, got: 40))
    // Unsupported versions.
    var v3 = good
    v3[6] = 3
    #expect(Self.decodeError(v3) == .unsupportedVersion(major: 3, minor: 0))
    var v11 = good
    v11[7] = 1
    #expect(Self.decodeError(v11) == .unsupportedVersion(major: 1, minor: 1))

    // Data cut short, and data longer than the shape says.
    #expect(Self.decodeError(Array(good.dropLast(1))) == .truncatedData(shape: [2], dtype: .f32, expectedBytes: 8, gotBytes: 7))
    #expect(Self.decodeError(good + [0]) == .sizeMismatch(shape: [2], dtype: .f32, expectedBytes: 8, gotBytes: 9))
    #expect(NpyError.truncatedData(shape: [2], dtype: .f32, expectedBytes: 8, gotBytes: 7).description == "truncated data: shape (2,) of f32 needs 8 bytes, the file has 7")

    // Unsupported dtypes.
    for descr in ["<f2", ">f4", ">i8", "<u4", "|u1", "<c8", "|O", "<U3", "f4"] {
      #expect(Self.decodeError(Self.file(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2,), }", data: [])) == .unsupportedDType(descr))
    }
    #expect(
      Self.decodeError(Self.file(header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"))
        == .unsupportedDType("[('a', '<f4')]"))
    #expect(Self.decodeError(Self.file(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }")) == .fortranOrder)

    // Huge shapes: past 2^48 elements, past Int, negative.
    #expect(Self.decodeError(Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")) == .shapeTooLarge("(4294967296, 4294967296)"))
    #expect(Self.decodeError(Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }")) == .shapeTooLarge("(99999999999999999999999,)"))
    #expect(Self.decodeError(Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (281474976710657,), }")) == .shapeTooLarge("(281474976710657,)"))
    #expect(Self.decodeError(Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")) == .malformedHeader("shape has a negative dim: (-1,)"))

    // Malformed header dicts: each is an error, whatever the mistake.
    let malformed = [
      "", "[1, 2]", "{'descr': '<f4', 'fortran_order': False}", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
      "{'descr': '<f4', 'fortran_order': False 'shape': (2,)}", "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}",
      "{descr: '<f4'}", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "{'shape': (2,,)}",
      String(repeating: "(", count: 100), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1e3,)}", "\u{7f}\u{80}\u{ff}",
    ]
    for header in malformed {
      guard case .malformedHeader(let message) = Self.decodeError(Self.file(header: header, data: [0, 0, 0, 0, 0, 0, 0, 0])) else {
        Issue.record("no malformedHeader error for \(header)")
        continue
      }
      #expect(!message.isEmpty)
    }
    #expect(
      Self.decodeError(Self.file(header: "{'descr': '<f4', 'fortran_order': False}"))
        == .malformedHeader("the keys must be 'descr', 'fortran_order' and 'shape' (missing 'shape')"))

    // Header length fields that point past the end of the file.
    var long = Array(good.prefix(10))
    long[8] = 0xFF
    long[9] = 0xFF
    #expect(Self.decodeError(long) == .truncatedHeader(expected: 10 + 0xFFFF, got: 10))
    let v2 = [0x93] + Array("NUMPY".utf8) + [2, 0, 0xFF, 0xFF, 0xFF, 0xFF]
    #expect(Self.decodeError(v2) == .truncatedHeader(expected: 12 + 0xFFFF_FFFF, got: 12))
  }

  /// Random corruptions of a good file never crash: they decode or throw.
  @Test func survivesRandomCorruption() throws {
    let good = Npy.encode(NDArray([Float(1), 2, 3, 4, 5, 6], shape: [2, 3]))
    var state: UInt64 = 0x1234_5678_9ABC_DEF1
    func next() -> Int {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      return Int(state % 1_000_000)
    }
    var failures = 0
    for _ in 0..<3000 {
      var bytes = good
      for _ in 0..<(1 + next() % 4) {
        bytes[next() % bytes.count] = UInt8(next() % 256)
      }
      if next() % 4 == 0 { bytes = Array(bytes.prefix(next() % bytes.count)) }
      if Self.decodeError(bytes) != nil { failures += 1 }
    }
    #expect(failures > 0)
  }

  @Test func fileErrorsNameThePath() throws {
    #expect(throws: NpyError.io(path: "/nonexistent/x.npy", message: "No such file or directory")) {
      try Npy.read(contentsOf: "/nonexistent/x.npy")
    }
    #expect(throws: NpyError.io(path: "/", message: "is a directory")) { try Npy.read(contentsOf: "/") }
    #expect(throws: NpyError.self) { try Npy.write(NDArray([Float(1)], shape: [1]), to: "/nonexistent/dir/y.npy") }
  }
}
