import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client socket to 127.0.0.1 for hostile-client tests: it sends exactly the
/// bytes it is given, reads only when asked, and tells when the other side hung up.
final class RawSocket {
    let fd: Int32
    private(set) var closedByPeer = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Connects (blocking, with a timeout) to 127.0.0.1:`port`; the socket is then non-blocking.
    init(port: Int, receiveBuffer: Int? = nil, timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        if let receiveBuffer {
            var size = Int32(receiveBuffer)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "connect: \(message)")
        }
        guard poll(events: Int16(POLLOUT), timeout: timeout) else {
            Glibc.close(fd)
            throw Failure(description: "connect: timed out")
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect: \(String(cString: strerror(error)))")
        }
    }

    deinit { Glibc.close(fd) }

    static func port(of url: String) -> Int {
        Int(url.split(separator: ":").last.map(String.init) ?? "") ?? 0
    }

    /// Waits up to `timeout` seconds for `events`; true when they came (or the socket broke).
    func poll(events: Int16, timeout: Double) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        let rc = Glibc.poll(&p, 1, Int32(max(0, timeout * 1000)))
        return rc > 0
    }

    /// Sends what the socket takes now; the number of bytes, or nil once the peer is gone.
    func trySend(_ bytes: [UInt8]) -> Int? {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return n }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        closedByPeer = true
        return nil
    }

    /// Sends all of `text` (waiting for room up to `timeout` seconds).
    func send(_ text: String, timeout: Double = 5) throws {
        try send(bytes: Array(text.utf8), timeout: timeout)
    }

    func send(bytes: [UInt8], timeout: Double = 5) throws {
        var bytes = bytes
        let deadline = Date().addingTimeInterval(timeout)
        while !bytes.isEmpty {
            guard let n = trySend(bytes) else { throw Failure(description: "send: connection closed") }
            bytes.removeFirst(n)
            if !bytes.isEmpty {
                guard Date() < deadline else { throw Failure(description: "send: timed out") }
                _ = poll(events: Int16(POLLOUT), timeout: 0.1)
            }
        }
    }

    /// Reads what has arrived (waiting up to `timeout` seconds for something); empty on
    /// timeout; sets `closedByPeer` on EOF or a reset.
    func receive(timeout: Double) -> [UInt8] {
        guard poll(events: Int16(POLLIN), timeout: timeout) else { return [] }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { return Array(buffer[..<n]) }
        if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { closedByPeer = true }
        return []
    }

    private var pending: [UInt8] = []

    /// One HTTP response (head and Content-Length body), or nil after `timeout` seconds or a close.
    func readResponse(timeout: Double = 5) -> (status: Int, head: String, body: String)? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                let bodyEnd = status == 101 ? end.upperBound : end.upperBound + length
                if pending.count >= bodyEnd {
                    let body = String(decoding: pending[end.upperBound..<bodyEnd], as: UTF8.self)
                    pending.removeFirst(bodyEnd)
                    return (status, head, body)
                }
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0, !closedByPeer else { return nil }
            pending += receive(timeout: min(left, 0.2))
        }
    }

    /// Bytes read after the last response (a WebSocket's first frames), waiting up to `timeout`.
    func readRest(atLeast count: Int, timeout: Double = 5) -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        while pending.count < count, deadline.timeIntervalSinceNow > 0, !closedByPeer {
            pending += receive(timeout: min(deadline.timeIntervalSinceNow, 0.2))
        }
        defer { pending = [] }
        return pending
    }

    /// Seconds until the peer closes, reading and discarding whatever comes; nil if it
    /// stays open for `timeout` seconds.
    func waitForClose(timeout: Double) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            _ = receive(timeout: 0.05)
            if closedByPeer { return Date().timeIntervalSince(start) }
        }
        return nil
    }
}

/// The resident set of a process, in bytes (Linux /proc).
func residentBytes(pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
}
