// The manifest of one cache entry (`<key>.json`, written and read with Foundation's Codable
// JSON coders) and SHA-256 as hex (swift-crypto).

import Crypto
import Foundation

/// SHA-256 of `bytes` as 64 lowercase hex digits.
func sha256Hex<D: DataProtocol>(_ bytes: D) -> String {
  let digits = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  out.reserveCapacity(64)
  for b in SHA256.hash(data: bytes) {
    out.append(digits[Int(b >> 4)])
    out.append(digits[Int(b & 15)])
  }
  return String(decoding: out, as: UTF8.self)
}

/// SHA-256 of the UTF-8 bytes of `text` as 64 lowercase hex digits.
func sha256Hex(_ text: String) -> String { sha256Hex(Array(text.utf8)) }

/// The manifest of one entry: what the library was built for, and its size and SHA-256.
struct CacheManifest: Codable, Equatable {
  /// The manifest format this code writes and accepts.
  static let currentFormat = 1
  var format = CacheManifest.currentFormat
  var key: String
  var librarySHA256: String
  /// Bytes.
  var librarySize: Int
  var codegenVersion: String
  var triple: String
  var cpu: String
  var features: String
  var vectorWidth: Int?

  enum CodingKeys: String, CodingKey {
    case format, key, triple, cpu, features
    case librarySHA256 = "library_sha256"
    case librarySize = "library_size"
    case codegenVersion = "codegen_version"
    case vectorWidth = "vector_width"
  }

  init(
    key: String, librarySHA256: String, librarySize: Int, codegenVersion: String, triple: String, cpu: String,
    features: String, vectorWidth: Int?
  ) {
    self.key = key
    self.librarySHA256 = librarySHA256
    self.librarySize = librarySize
    self.codegenVersion = codegenVersion
    self.triple = triple
    self.cpu = cpu
    self.features = features
    self.vectorWidth = vectorWidth
  }

  /// Decodes a manifest; nil for anything that is not one of the current format (not JSON, a
  /// missing or mistyped field, another format, a malformed digest or a negative size).
  init?(json bytes: [UInt8]) {
    guard let m = try? JSONDecoder().decode(CacheManifest.self, from: Data(bytes)),
      m.format == CacheManifest.currentFormat, m.librarySHA256.utf8.count == 64,
      m.librarySHA256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
      m.librarySize >= 0
    else { return nil }
    self = m
  }

  func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(format, forKey: .format)
    try c.encode(key, forKey: .key)
    try c.encode(librarySHA256, forKey: .librarySHA256)
    try c.encode(librarySize, forKey: .librarySize)
    try c.encode(codegenVersion, forKey: .codegenVersion)
    try c.encode(triple, forKey: .triple)
    try c.encode(cpu, forKey: .cpu)
    try c.encode(features, forKey: .features)
    try c.encode(vectorWidth, forKey: .vectorWidth)  // null when nil, so every field is present
  }

  /// The manifest as pretty-printed JSON with sorted keys.
  var json: [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Encoding strings and integers cannot fail.
    return Array(try! encoder.encode(self)) + [0x0a]
  }
}
