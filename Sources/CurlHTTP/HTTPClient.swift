import CCurl
import NIOCore
import NIOPosix

/// Runs blocking libcurl transfers on its own worker threads and completes each
/// request's future on the caller's event loop. Requests beyond `threadCount`
/// wait in a queue; a request's timeout starts when a worker picks it up.
public final class HTTPClient: Sendable {
    private let pool: NIOThreadPool
    private let isShared: Bool

    public convenience init(threadCount: Int = 2) {
        self.init(threadCount: threadCount, isShared: false)
    }

    private init(threadCount: Int, isShared: Bool) {
        _ = CurlGlobal.initResult   // once per process, before any handle exists
        pool = NIOThreadPool(numberOfThreads: max(1, threadCount))
        pool.start()
        self.isShared = isShared
    }

    /// The process-wide client, started on first use. It lives as long as the process:
    /// `shutdown()` on it does nothing, so no user can break it for the others.
    public static let shared = HTTPClient(threadCount: 4, isShared: true)

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// Performs `request`; the future completes on `loop` with the response (any status)
    /// or an `HTTPError`.
    public func execute(_ request: HTTPRequest, on loop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        pool.runIfActive(eventLoop: loop) { () throws(HTTPError) -> HTTPResponse in
            try CurlTransfer.perform(request)
        }.flatMapErrorThrowing { error in
            if let error = error as? HTTPError { throw error }
            throw HTTPError.invalid("HTTP client is shut down")
        }
    }

    /// Stops the worker threads without blocking: transfers under way finish and complete
    /// normally, queued and later requests fail with "HTTP client is shut down".
    public func shutdown() {
        guard !isShared else { return }
        pool.shutdownGracefully { _ in }
    }
}

/// curl_global_init is not thread-safe on every libcurl; a static let runs it exactly once.
enum CurlGlobal {
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))
}
