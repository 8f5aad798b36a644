// Misuse of the tensor API (shape mismatch, bad axis, out-of-range index, a view whose strides
// need a copy, a size too big for memory). Like Swift's own Array, a misuse traps with a message,
// since operators cannot throw without `try` on every expression; inside `withTensorErrors { }`
// the first misuse is thrown as a `TensorError` instead, so tools and tests can recover.

import Foundation
import NNCIR

/// A misuse of the tensor API, with the operation, the shapes involved, and the call site.
public struct TensorError: Error, Equatable, CustomStringConvertible {
  public var message: String
  /// The Swift call that failed (`file:line`).
  public var location: Location?
  public var description: String { (location.map { "\($0): " } ?? "") + message }
}

/// Collects the first misuse inside `withTensorErrors`.
final class ErrorTrap: @unchecked Sendable {
  var first: TensorError?
  @TaskLocal static var current: ErrorTrap?
}

/// Runs `body`; the first tensor misuse inside it is thrown as a `TensorError` instead of
/// trapping. After a misuse, tensor results inside `body` are placeholders (zeros).
public func withTensorErrors<R>(_ body: () throws -> R) throws -> R {
  let trap = ErrorTrap()
  let result = try ErrorTrap.$current.withValue(trap) { try body() }
  if let e = trap.first { throw e }
  return result
}

/// Reports a misuse: records it inside `withTensorErrors`, else stops the program with the message.
func misuse(_ message: String, _ loc: Location?) {
  let e = TensorError(message: message, location: loc)
  if let trap = ErrorTrap.current {
    if trap.first == nil { trap.first = e }
    return
  }
  FileHandle.standardError.write(Data(("nnc: tensor error: \(e)\n").utf8))
  preconditionFailure(e.description)
}

/// A caller's source location, from `#fileID` and `#line`.
@usableFromInline
func here(_ file: StaticString, _ line: UInt) -> Location {
  Location(file: "\(file)", line: Int(line))
}
