/// One HTTP request as a script or the REST client describes it.
public struct HTTPRequest: Sendable {
    /// Any HTTP method token; case-insensitive ("get" is sent as "GET").
    public var method: String
    public var url: String
    /// Sent in order, names as given. An empty value sends the header with no value.
    public var headers: [(String, String)]
    /// Without a Content-Type header, libcurl labels a body application/x-www-form-urlencoded.
    public var body: [UInt8]?
    /// Seconds for the whole transfer, connect included.
    public var timeout: Double
    /// The transfer fails (`HTTPError.isResponseTooLarge`) once the response body grows
    /// beyond this many bytes; nil: no limit.
    public var maxResponseBytes: Int?

    public init(url: String, method: String = "GET", headers: [(String, String)] = [], body: [UInt8]? = nil,
                timeout: Double = 30) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// The final response (after any redirects that were followed).
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Every header line of the final response, in order, names as the server sent them.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text (invalid sequences become U+FFFD).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A request that got no HTTP response: bad arguments, connect failure, timeout, TLS error…
/// A response with status 4xx/5xx is not an error.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// libcurl's CURLcode (e.g. 7 couldn't connect, 28 timed out), or -1 when the request
    /// was refused before libcurl saw it.
    public var curlCode: Int

    public init(message: String, curlCode: Int) {
        self.message = message
        self.curlCode = curlCode
    }

    public var description: String { message }

    /// libcurl's CURLE_WRITE_ERROR, what a transfer stopped by `maxResponseBytes` ends with.
    static let tooLargeCode = 23
    static let tooLargeMessage = "response body larger than the limit"

    /// The transfer stopped because the body outgrew `HTTPRequest.maxResponseBytes`.
    public var isResponseTooLarge: Bool { curlCode == Self.tooLargeCode && message.hasPrefix(Self.tooLargeMessage) }

    static func invalid(_ message: String) -> HTTPError { HTTPError(message: message, curlCode: -1) }
}
