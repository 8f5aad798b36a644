// SHA-256 against the FIPS 180-4 / NIST test vectors, padding edge lengths, and incremental use.

import NNCCodegen
import Testing

@Suite struct SHA256Tests {
  @Test func standardVectors() {
    #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    // The 448-bit message.
    #expect(
      SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    // The 896-bit message.
    #expect(
      SHA256.hex(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
        == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
  }

  @Test func oneMillionAs() {
    let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    #expect(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == expected)
    // The same message fed in uneven pieces.
    var h = SHA256()
    let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
    var left = 1_000_000
    while left > 0 {
      let n = min(left, chunk.count)
      h.update(chunk[0..<n])
      left -= n
    }
    #expect(SHA256.hexString(h.finalize()) == expected)
  }

  /// Lengths around the padding boundaries (55/56 bytes fit or spill the length field).
  @Test(arguments: [
    (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
    (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
    (57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"),
    (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
    (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
    (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
    (111, "6374f73208854473827f6f6a3f43b1f53eaa3b82c21c1a6d69a2110b2a79baad"),
    (112, "f54353008a2553262ecdc4a34749563ba0950e8b0fc8652780b0a614b99683c1"),
    (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
    (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
    (127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a"),
    (128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"),
  ])
  func paddingBoundaries(_ n: Int, _ expected: String) {
    let message = [UInt8](repeating: UInt8(ascii: "a"), count: n)
    #expect(SHA256.hex(message) == expected)
    // Byte by byte gives the same digest.
    var h = SHA256()
    for b in message { h.update([b]) }
    #expect(SHA256.hexString(h.finalize()) == expected)
  }

  /// Every byte value, split at every chunk size from 1 to 70.
  @Test func allByteValuesAnySplit() {
    let message = (0..<4).flatMap { _ in (0...255).map(UInt8.init) }
    let expected = "785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9"
    #expect(SHA256.hex(message) == expected)
    for size in 1...70 {
      var h = SHA256()
      var i = 0
      while i < message.count {
        h.update(message[i..<min(i + size, message.count)])
        i += size
      }
      #expect(SHA256.hexString(h.finalize()) == expected, "chunks of \(size)")
    }
  }

  @Test func digestIsThirtyTwoBytes() {
    #expect(SHA256.hash("abc").count == SHA256.byteCount)
    #expect(SHA256.hash("abc") == SHA256.hash(Array("abc".utf8)))
  }
}
