import RTJSON
import SocketIO

/// Every failure the realtime manager reports: bad arguments, connection errors, REST errors.
/// `value` is what a script sees: the Altogic error shape for REST errors
/// (`{"status", "statusText", "items": [{"origin", "code", "message"}]}`), else `{"message": …}`.
public struct RealtimeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var code: String?
    public var value: JSONValue

    public init(message: String, code: String? = nil, value: JSONValue? = nil) {
        self.message = message
        self.code = code
        if let value {
            self.value = value
        } else {
            var object: [String: JSONValue] = ["message": .string(message)]
            if let code { object["code"] = .string(code) }
            self.value = .object(object)
        }
    }

    public var description: String { message }

    static func invalidArgument(_ message: String) -> RealtimeError {
        RealtimeError(message: message, code: "invalid_argument")
    }
}

extension RealtimeError {
    /// A connection failure. A refusal carries the server's CONNECT_ERROR payload, whose
    /// `message` becomes ours (PROTOCOL.md §2).
    init(_ error: SocketIOError) {
        switch error.kind {
        case .connectRefused:
            let serverMessage = error.data?["message"]?.stringValue ?? error.message
            self.init(message: serverMessage, code: "connect_refused", value: error.data ?? ["message": .string(serverMessage)])
        case .timeout: self.init(message: error.message, code: "timeout")
        case .transport: self.init(message: error.message, code: "transport_error")
        case .protocolViolation: self.init(message: error.message, code: "protocol_error")
        case .payloadTooLarge: self.init(message: error.message, code: "payload_too_large")
        case .notConnected: self.init(message: error.message, code: "not_connected")
        case .invalidArgument: self.init(message: error.message, code: "invalid_argument")
        }
    }
}
