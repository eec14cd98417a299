import CCurl

/// One blocking libcurl easy transfer. Runs on an HTTPClient worker thread, never on an event loop.
enum CurlTransfer {
    /// Followed like a browser or a script's HTTP library would (a script asking for a URL wants
    /// the document, not a 301), up to this many hops, http and https only.
    static let maxRedirects = 5

    static func perform(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let method = try checkedMethod(request)
        let headerLines = try checkedHeaderLines(request)
        guard request.timeout.isFinite, request.timeout > 0 else {
            throw .invalid("timeout must be a positive number of seconds, got \(request.timeout)")
        }
        guard !request.url.utf8.contains(0) else { throw .invalid("URL contains a NUL byte") }
        guard CurlGlobal.initResult == CURLE_OK else { throw curlError(CurlGlobal.initResult, detail: "") }
        guard let handle = curl_easy_init() else { throw .invalid("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }

        var slist: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(slist) }
        for line in headerLines {
            guard let next = curl_slist_append(slist, line) else { throw .invalid("out of memory for headers") }
            slist = next
        }

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        let body = request.body ?? (["POST", "PUT", "PATCH"].contains(method) ? [] : nil)
        let bodyBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, body?.count ?? 0))
        defer { bodyBuffer.deallocate() }

        let sink = Sink(maxBody: request.maxResponseBytes ?? .max)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()

        func set(_ code: CURLcode) throws(HTTPError) {
            if code != CURLE_OK { throw curlError(code, detail: "") }
        }
        try set(shim_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        try set(shim_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))   // required with threads
        try set(shim_curl_setopt_string(handle, CURLOPT_URL, request.url))
        try set(shim_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        try set(shim_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1))
        try set(shim_curl_setopt_long(handle, CURLOPT_MAXREDIRS, maxRedirects))
        try set(shim_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        let timeoutMS = max(1, Int((min(request.timeout, 1e9) * 1000).rounded(.up)))
        try set(shim_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMS))
        try set(shim_curl_setopt_string(handle, CURLOPT_USERAGENT, "rtlua"))
        try set(shim_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, slist))
        try set(shim_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, Sink.onBody))
        try set(shim_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer))
        try set(shim_curl_setopt_write(handle, CURLOPT_HEADERFUNCTION, Sink.onHeader))
        try set(shim_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, sinkPointer))

        if method == "HEAD" {
            try set(shim_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        } else if let body {
            // Setting POSTFIELDS makes it a POST; CUSTOMREQUEST below renames it.
            bodyBuffer.initialize(from: body, count: body.count)
            try set(shim_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            try set(shim_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, bodyBuffer))
        }
        if method != "HEAD" && method != (body == nil ? "GET" : "POST") {
            try set(shim_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method))
        }

        let code = withExtendedLifetime(sink) { curl_easy_perform(handle) }
        if sink.tooLarge {
            throw HTTPError(message: "\(HTTPError.tooLargeMessage) of \(sink.maxBody) bytes", curlCode: HTTPError.tooLargeCode)
        }
        guard code == CURLE_OK else {
            throw curlError(code, detail: String(cString: errorBuffer))
        }
        var status = 0
        try set(shim_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status))
        return HTTPResponse(status: status, headers: sink.headers.headers, body: sink.body)
    }

    static func checkedMethod(_ request: HTTPRequest) throws(HTTPError) -> String {
        let method = request.method.uppercased()
        guard !method.isEmpty, method.utf8.count <= 32,
              method.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x2D || $0 == 0x5F }) else {
            throw .invalid("invalid HTTP method '\(request.method)'")
        }
        if method == "HEAD" && request.body != nil { throw .invalid("a HEAD request cannot have a body") }
        return method
    }

    /// "Name: value" lines for CURLOPT_HTTPHEADER; refuses anything that could split a header.
    static func checkedHeaderLines(_ request: HTTPRequest) throws(HTTPError) -> [String] {
        var lines: [String] = []
        var hasExpect = false
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
                throw .invalid("invalid header name '\(name)'")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .invalid("invalid value for header '\(name)' (contains CR, LF or NUL)")
            }
            hasExpect = hasExpect || name.lowercased() == "expect"
            // curl drops "Name:" (it means "remove this header"); "Name;" sends it empty.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if !hasExpect { lines.append("Expect:") }   // no 100-continue round trip for larger bodies
        return lines
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) { return true }
        return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
    }

    static func curlError(_ code: CURLcode, detail: String) -> HTTPError {
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        return HTTPError(message: "curl: \(text)", curlCode: Int(code.rawValue))
    }

    /// What the callbacks fill in; touched only by the one thread running the transfer.
    final class Sink {
        var body: [UInt8] = []
        var headers = ResponseHeaderParser()
        let maxBody: Int
        var tooLarge = false

        init(maxBody: Int = .max) { self.maxBody = maxBody }

        static let onBody: shim_curl_write_callback = { data, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            guard size * count <= sink.maxBody - sink.body.count else {
                sink.tooLarge = true
                return 0  // libcurl stops the transfer (CURLE_WRITE_ERROR)
            }
            sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }

        static let onHeader: shim_curl_write_callback = { data, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            sink.headers.receive(line: UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
    }
}
