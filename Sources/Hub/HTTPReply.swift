import NIOHTTP1
import RTJSON

/// A complete plain-HTTP answer (the hub's REST, health and metrics endpoints are small).
struct HTTPReply: Equatable, Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String

    static func json(_ status: HTTPResponseStatus, _ value: JSONValue) -> HTTPReply {
        HTTPReply(status: status, contentType: "application/json", body: (try? value.jsonText()) ?? "null")
    }

    static func text(_ status: HTTPResponseStatus, _ body: String, contentType: String = "text/plain; charset=utf-8") -> HTTPReply {
        HTTPReply(status: status, contentType: contentType, body: body)
    }

    /// The Altogic error shape (PROTOCOL.md §5):
    /// `{"status": 401, "statusText": "Unauthorized", "items": [{"origin": "client_error", "code": …, "message": …}]}`.
    static func altogicError(_ status: HTTPResponseStatus, code: String, message: String) -> HTTPReply {
        json(status, [
            "status": .integer(Int64(status.code)),
            "statusText": .string(status.reasonPhrase),
            "items": [["origin": "client_error", "code": .string(code), "message": .string(message)]],
        ])
    }
}
