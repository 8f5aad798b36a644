// SHA-256 (FIPS 180-4) in pure Swift, for the content-addressed compile cache: cache keys and the
// digests that verify cached libraries before they are loaded. No dependencies.

/// An incremental SHA-256 hasher: `update` with any number of chunks, then `finalize`.
public struct SHA256: Sendable {
  /// The digest size in bytes.
  public static let byteCount = 32

  private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
    0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
  )
  /// Bytes not yet hashed (fewer than 64).
  private var pending: [UInt8] = []
  /// Message length so far, in bytes.
  private var length: UInt64 = 0

  public init() { pending.reserveCapacity(64) }

  /// Hashes more of the message.
  public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
    let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
    if done == nil { Array(bytes).withUnsafeBytes { update($0) } }
  }

  /// Hashes the UTF-8 bytes of `text`.
  public mutating func update(_ text: String) {
    var t = text
    t.withUTF8 { update(UnsafeRawBufferPointer($0)) }
  }

  /// Hashes more of the message, from raw memory.
  public mutating func update(_ buffer: UnsafeRawBufferPointer) {
    length &+= UInt64(buffer.count)
    var offset = 0
    if !pending.isEmpty {
      let take = min(64 - pending.count, buffer.count)
      pending.append(contentsOf: buffer[0..<take])
      offset = take
      if pending.count < 64 { return }
      let block = pending
      block.withUnsafeBytes { compress($0.baseAddress!) }
      pending.removeAll(keepingCapacity: true)
    }
    while buffer.count - offset >= 64 {
      compress(buffer.baseAddress! + offset)
      offset += 64
    }
    if offset < buffer.count { pending.append(contentsOf: buffer[offset...]) }
  }

  /// The 32-byte digest of everything passed to `update`.
  public consuming func finalize() -> [UInt8] {
    let bitLength = length &* 8
    var tail: [UInt8] = [0x80]
    let used = (pending.count + 1) % 64
    tail += [UInt8](repeating: 0, count: used <= 56 ? 56 - used : 120 - used)
    for k in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(k) * 8))) }
    update(tail)
    precondition(pending.isEmpty, "SHA-256 padding ends on a block boundary")
    var out: [UInt8] = []
    out.reserveCapacity(32)
    let words = [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7]
    for w in words {
      out += [UInt8(w >> 24), UInt8(truncatingIfNeeded: w >> 16), UInt8(truncatingIfNeeded: w >> 8), UInt8(truncatingIfNeeded: w)]
    }
    return out
  }

  /// The digest of `bytes`.
  public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
    var h = SHA256()
    h.update(bytes)
    return h.finalize()
  }

  /// The digest of the UTF-8 bytes of `text`.
  public static func hash(_ text: String) -> [UInt8] {
    var h = SHA256()
    h.update(text)
    return h.finalize()
  }

  /// The digest of `bytes` as 64 lower-case hex digits.
  public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 { hexString(hash(bytes)) }

  /// The digest of the UTF-8 bytes of `text` as 64 lower-case hex digits.
  public static func hex(_ text: String) -> String { hexString(hash(text)) }

  /// Lower-case hex digits of `bytes`.
  public static func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static let k: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
  ]

  /// Mixes one 64-byte block into the state.
  private mutating func compress(_ block: UnsafeRawPointer) {
    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
      for i in 0..<16 {
        let p = block + i * 4
        w[i] = UInt32(p.load(as: UInt8.self)) << 24 | UInt32(p.load(fromByteOffset: 1, as: UInt8.self)) << 16
          | UInt32(p.load(fromByteOffset: 2, as: UInt8.self)) << 8 | UInt32(p.load(fromByteOffset: 3, as: UInt8.self))
      }
      for i in 16..<64 {
        let a = w[i - 15]
        let b = w[i - 2]
        let s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >> 3)
        let s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >> 10)
        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
      }
      var (a, b, c, d, e, f, g, h) = state
      SHA256.k.withUnsafeBufferPointer { k in
        for i in 0..<64 {
          let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
          let ch = (e & f) ^ (~e & g)
          let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
          let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
          let maj = (a & b) ^ (a & c) ^ (b & c)
          let t2 = s0 &+ maj
          h = g
          g = f
          f = e
          e = d &+ t1
          d = c
          c = b
          b = a
          a = t1 &+ t2
        }
      }
      state = (
        state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h
      )
    }
  }
}

@inline(__always)
private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
