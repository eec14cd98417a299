/// A packet that does not follow the Engine.IO / Socket.IO protocol. Decoding never traps:
/// malformed input from the network becomes one of these.
public struct CodecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
