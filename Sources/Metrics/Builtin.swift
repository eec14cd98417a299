/// The metrics rtlua records without script code (docs/metrics.md).
public enum Builtin {
    /// Messages a script sent / received, and their JSON text bytes; tag `event`.
    public static let messagesSent = "messages_sent"
    public static let messagesReceived = "messages_received"
    public static let bytesSent = "bytes_sent"
    public static let bytesReceived = "bytes_received"
    /// Milliseconds from one bot's send/broadcast to another bot's receipt; tag `event`.
    public static let delivery = "delivery"
    /// Milliseconds from opening (or losing) a connection to being connected.
    public static let connect = "connect"
    /// Reconnection attempts.
    public static let reconnects = "reconnects"
    /// Connection errors and errors the server reported.
    public static let errors = "errors"
    /// Milliseconds a `getMembers` call took.
    public static let members = "members"
    /// Milliseconds an `http.request` took.
    public static let http = "http"
    /// The `check` results; tag `check` (the predicate's name).
    public static let checks = "checks"

    public static let kinds: [String: MetricKind] = [
        messagesSent: .counter, messagesReceived: .counter, bytesSent: .counter, bytesReceived: .counter,
        delivery: .trend, connect: .trend, reconnects: .counter, errors: .counter,
        members: .trend, http: .trend, checks: .rate,
    ]

    public static var names: Set<String> { Set(kinds.keys) }
}
