/// Collects the header lines libcurl hands over one at a time. A status line starts a new
/// response (a redirect hop or a 100 Continue), so only the final response's headers remain.
struct ResponseHeaderParser {
    private(set) var headers: [(String, String)] = []

    mutating func receive(line raw: UnsafeRawBufferPointer) {
        var line = Array(raw)
        while let last = line.last, last == 0x0A || last == 0x0D { line.removeLast() }
        if line.isEmpty { return }   // blank line ending a header block
        if line.starts(with: Array("HTTP/".utf8)) {
            headers.removeAll()
            return
        }
        if line[0] == 0x20 || line[0] == 0x09 {   // obsolete folding: continues the previous value
            guard !headers.isEmpty else { return }
            let more = Self.trimmed(line[...])
            if !more.isEmpty {
                headers[headers.count - 1].1 += (headers[headers.count - 1].1.isEmpty ? "" : " ") + more
            }
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        headers.append((name, Self.trimmed(line[(colon + 1)...])))
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        let isSpace = { (b: UInt8) in b == 0x20 || b == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
