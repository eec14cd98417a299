import AltogicProtocol
import CurlHTTP
import NIOCore
import RTJSON

/// Where getMembers asks: the REST call of PROTOCOL.md §5, or the `members` event with an
/// ack of §3 on the open socket.
public enum MembersSource: Sendable, Equatable {
    case rest
    case socket
}

/// Members of a channel (PROTOCOL.md §3 and §5).
extension RealtimeManager {
    /// Completes on `eventLoop` with the JSON array `[{"id", "data"}…]`, or the error
    /// (the Altogic error shape for HTTP errors). `via` nil: REST when the base URL is an
    /// http(s) URL (as Altogic's clients do), else the socket.
    public func getMembers(channel: String, via source: MembersSource? = nil,
                           completion: @escaping (Result<JSONValue, RealtimeError>) -> Void) {
        let fail = { [eventLoop] (error: RealtimeError) in eventLoop.assumeIsolated().execute { completion(.failure(error)) } }
        do {
            try ArgumentCheck.channel(channel)
        } catch {
            return fail(error)
        }
        switch source ?? (MembersRequest.hasHTTPBase(config) ? .rest : .socket) {
        case .rest: getMembersOverREST(channel: channel, completion: completion)
        case .socket: getMembersOverSocket(channel: channel, completion: completion, fail: fail)
        }
    }

    private func getMembersOverREST(channel: String, completion: @escaping (Result<JSONValue, RealtimeError>) -> Void) {
        let request: HTTPRequest
        do {
            request = try MembersRequest.make(config: config, channel: channel)
        } catch {
            eventLoop.assumeIsolated().execute { completion(.failure(error)) }
            return
        }
        http.execute(request, on: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let response):
                completion(MembersRequest.result(status: response.status, body: response.body))
            case .failure(let error as HTTPError):
                completion(.failure(RealtimeError(message: "get-members request failed: \(error.message)", code: "network_error")))
            case .failure(let error):
                completion(.failure(RealtimeError(message: "get-members request failed: \(error)", code: "network_error")))
            }
        }
    }

    /// The `members` event; the server's ack carries the array. Needs a live connection:
    /// a lookup is a question about now, so it is not buffered.
    private func getMembersOverSocket(channel: String, completion: @escaping (Result<JSONValue, RealtimeError>) -> Void,
                                      fail: (RealtimeError) -> Void) {
        guard connection.isConnected else {
            return fail(RealtimeError(message: "getMembers over the socket needs a connection", code: "not_connected"))
        }
        do {
            try connection.emit(ProtocolNames.members, [["channel": .string(channel)]]) { result in
                switch result {
                case .success(let args):
                    if let members = args.first, members.arrayValue != nil {  // may be .raw text
                        completion(.success(members))
                    } else {
                        completion(.failure(RealtimeError(message: "members ack carried no array", code: "invalid_response")))
                    }
                case .failure(let error):
                    completion(.failure(RealtimeError(error)))
                }
            }
        } catch {
            fail(RealtimeError(error))
        }
    }
}

enum MembersRequest {
    static func hasHTTPBase(_ config: RealtimeConfig) -> Bool {
        guard let parsed = try? ParsedURL(config.membersBaseURL, argument: "baseURL") else { return false }
        return parsed.scheme == "http" || parsed.scheme == "https"
    }

    static func make(config: RealtimeConfig, channel: String) throws(RealtimeError) -> HTTPRequest {
        let base = config.membersBaseURL
        let parsed = try ParsedURL(base, argument: "baseURL")
        guard parsed.scheme == "http" || parsed.scheme == "https" else {
            throw .invalidArgument("baseURL must be an http(s) URL for getMembers: '\(base)'")
        }
        var url = base
        while url.hasSuffix("/") { url.removeLast() }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let key = config.clientKey { headers.append(("X-Client-Key", key)) }
        if let session = config.session { headers.append(("Session", session)) }
        let body: String
        do {
            body = try JSONValue.object(["channel": .string(channel)]).jsonText()
        } catch {
            throw .invalidArgument("channel cannot be encoded: \(error)")
        }
        return HTTPRequest(url: url + ProtocolNames.membersPath, method: "POST", headers: headers, body: Array(body.utf8))
    }

    /// 200 with an array is the members; anything else is an error in the Altogic shape,
    /// taken from the body when the server sent one.
    static func result(status: Int, body: [UInt8]) -> Result<JSONValue, RealtimeError> {
        let json = try? JSONValue.parse(body)
        if status == 200, let json, case .array = json {
            return .success(json)
        }
        if let json, let items = json["items"]?.arrayValue, let first = items.first?.objectValue {
            let message = first["message"]?.stringValue ?? "HTTP \(status)"
            return .failure(RealtimeError(message: message, code: first["code"]?.stringValue, value: json))
        }
        let statusText = status == 200 ? "OK" : httpStatusText(status)
        let message = status == 200 ? "get-members answered something other than an array" : "get-members failed with HTTP \(status)"
        let code = status == 200 ? "invalid_response" : "http_error"
        let shape: JSONValue = [
            "status": .integer(Int64(status)), "statusText": .string(statusText),
            "items": [["origin": "client_error", "code": .string(code), "message": .string(message)]],
        ]
        return .failure(RealtimeError(message: message, code: code, value: shape))
    }

    private static func httpStatusText(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "HTTP \(status)"
        }
    }
}
