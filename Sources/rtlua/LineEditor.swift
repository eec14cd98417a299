import CEdit
import LuaHost
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The REPL's terminal: libedit's line editing, history and completion on the main thread,
/// and the one way anything else writes to the terminal while a line is being edited.
///
/// libedit reads its characters through `readCharacter`, which waits on the terminal and on a
/// wake-up pipe at once. Output from the script's event loop (events, log lines) arriving while
/// the user types is queued and the pipe written; the main thread then clears the edited line,
/// prints the output and has libedit redraw the prompt and the line as it was. Ctrl-C (the key
/// or SIGINT) ends the line being edited, or interrupts the chunk that runs.
final class LineEditor: @unchecked Sendable {  // `el`, `history`, `prompt*`: main thread; the rest under `lock`
    enum Input {
        case line(String)
        /// Ctrl-C while editing: the line is dropped.
        case cancelled
        /// Ctrl-D on an empty line, or the terminal closed.
        case end
    }

    private let el: OpaquePointer
    private let history: OpaquePointer
    private let historyPath: String?
    private var promptText: UnsafeMutablePointer<CChar>?
    private var wasCancelled = false
    /// The pipe that wakes `readCharacter` for output, Ctrl-C, a resize or the end.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The terminal's settings before libedit changed them, for an exit from another thread.
    private let savedTerminal: termios?

    private let lock = TerminalLock()
    private var editing = false
    private var pending: [(fd: Int32, bytes: [UInt8])] = []
    private var interruptAsked = false
    /// Ctrl-C presses since the last line was read, while a chunk runs.
    private var busyInterrupts = 0
    /// The terminal changed size: libedit is told before it reads on.
    private var resizeAsked = false
    /// The script ended on its own (`exit()` in a callback): the edited line ends the input.
    private var endAsked = false
    /// What Ctrl-C does while no line is edited (a chunk runs). Set before the first line.
    var onInterrupt: (@Sendable () -> Void)?
    /// The words a partly typed word can become (main thread, inside libedit).
    var complete: ((String) -> [String])?

    static let historySize: Int32 = 1000
    private static let cancelKey: Int32 = 3  // Ctrl-C

    /// nil when libedit cannot be set up on this terminal.
    init?(historyPath: String?) {
        var settings = termios()
        savedTerminal = tcgetattr(0, &settings) == 0 ? settings : nil
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
        _ = fcntl(wakeWrite, F_SETFL, fcntl(wakeWrite, F_GETFL) | O_NONBLOCK)
        // libedit hands lines back in the locale's encoding: UTF-8, whatever LANG says.
        if setlocale(LC_CTYPE, "") == nil || String(cString: nl_langinfo(nl_item(CODESET))) != "UTF-8" {
            _ = setlocale(LC_CTYPE, "C.UTF-8")
        }
        guard let el = shim_el_init_std("rtlua"), let history = history_init() else { return nil }
        self.el = el
        self.history = history
        self.historyPath = historyPath
        shim_history_set_size(history, Self.historySize)
        shim_history_set_unique(history, 1)
        if let historyPath { shim_history_load(history, historyPath) }

        shim_el_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
        shim_el_set_editor(el, "emacs")
        shim_el_set_signal(el, 0)  // signals are rtlua's (SignalTrap, interrupt)
        shim_el_set_history(el, history)
        shim_el_set_prompt(el, { e in LineEditor.of(e).promptText })
        shim_el_set_getcfn(el, { e, c in LineEditor.of(e).readCharacter(c!) })
        shim_el_add_command(el, "rtlua-cancel", "drop the line being edited", { e, _ in
            LineEditor.of(e).wasCancelled = true
            return UInt8(CC_NEWLINE)
        })
        shim_el_add_command(el, "rtlua-complete", "complete the word before the cursor", { e, _ in
            LineEditor.of(e).completeWord()
        })
        shim_el_bind(el, "^C", "rtlua-cancel")
        shim_el_bind(el, "^I", "rtlua-complete")
    }

    private static func of(_ e: OpaquePointer?) -> LineEditor {
        Unmanaged<LineEditor>.fromOpaque(shim_el_get_clientdata(e)!).takeUnretainedValue()
    }

    /// Reads one line with `prompt`; history gets every non-empty line.
    func readLine(prompt: String) -> Input {
        free(promptText)
        promptText = strdup(prompt)
        wasCancelled = false
        lock.withLock {
            editing = true
            interruptAsked = false
            busyInterrupts = 0
        }
        var count: Int32 = 0
        let raw = el_gets(el, &count)
        lock.withLock {
            editing = false
            // What came after libedit's last read goes out now, in order with what follows.
            for item in pending { writeAll(item.fd, item.bytes) }
            pending = []
        }
        if wasCancelled {
            put(1, "^C\n")
            return .cancelled
        }
        guard let raw, count > 0 else {
            put(1, "\n")
            return .end
        }
        var line = String(cString: raw)
        if line.hasSuffix("\n") { line.removeLast() }
        if !line.allSatisfy({ $0 == " " || $0 == "\t" }) {
            shim_history_enter(history, line)
            // Saved at once: a session that is killed keeps its history too.
            if let historyPath { shim_history_save(history, historyPath) }
        }
        return .line(line)
    }

    /// Ctrl-C from the signal handler: ends the edited line, or interrupts what runs. A chunk
    /// that cannot be interrupted (stuck where Lua cannot stop it) is not a trap: the third
    /// Ctrl-C in a row exits.
    func interrupt() {
        let (whileEditing, presses) = lock.withLock { () -> (Bool, Int) in
            if editing {
                interruptAsked = true
                return (true, 0)
            }
            busyInterrupts += 1
            return (false, busyInterrupts)
        }
        if whileEditing {
            wake()
        } else if presses >= Self.interruptsToExit {
            restoreTerminal()
            writeAll(2, Array("\nrtlua: interrupted \(presses) times while a chunk kept running; exiting\n".utf8))
            _exit(128 + SIGINT)
        } else {
            onInterrupt?()
        }
    }

    static let interruptsToExit = 3

    /// SIGWINCH (any thread): the next character read tells libedit the new width.
    func resized() {
        lock.withLock { resizeAsked = true }
        wake()
    }

    /// The session is over (any thread): the line being edited, or the next, ends the input.
    func endInput() {
        lock.withLock { endAsked = true }
        wake()
    }

    /// Where the script's print and log lines go: straight out, or above the edited line.
    var scriptOutput: ScriptOutput {
        ScriptOutput(stdout: { [self] bytes in emit(1, bytes) }, stderr: { [self] text in emit(2, Array(text.utf8)) })
    }

    /// Any thread.
    func emit(_ fd: Int32, _ bytes: [UInt8]) {
        let queued = lock.withLock { () -> Bool in
            if editing {
                pending.append((fd, bytes))
                return true
            }
            writeAll(fd, bytes)
            return false
        }
        if queued { wake() }
    }

    /// Puts the terminal back as it was (any thread: for an exit while a line is edited).
    func restoreTerminal() {
        guard var settings = savedTerminal else { return }
        _ = tcsetattr(0, TCSANOW, &settings)
    }

    func close() {
        el_end(el)
        history_end(history)
        free(promptText)
    }

    // MARK: inside el_gets (main thread)

    /// libedit's character source: the terminal's next character (UTF-8 decoded), with the
    /// output that arrived meanwhile printed above the line first.
    private func readCharacter(_ out: UnsafeMutablePointer<wchar_t>) -> Int32 {
        while true {
            flushPending()
            if lock.withLock({ endAsked }) { return 0 }
            if lock.withLock({ () -> Bool in
                defer { resizeAsked = false }
                return resizeAsked
            }) {
                el_resize(el)
            }
            if lock.withLock({ () -> Bool in
                defer { interruptAsked = false }
                return interruptAsked
            }) {
                out.pointee = wchar_t(Self.cancelKey)
                return 1
            }
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, -1)
            if n < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if fds[1].revents != 0 {
                var scratch = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &scratch, scratch.count) > 0 {}
                continue
            }
            if fds[0].revents != 0 {
                guard let scalar = readScalar() else { return 0 }
                out.pointee = wchar_t(bitPattern: scalar)
                return 1
            }
        }
    }

    /// One character from the terminal: a UTF-8 sequence read byte by byte (an invalid one is
    /// U+FFFD); nil at end of input.
    private func readScalar() -> UInt32? {
        func byte() -> UInt8? {
            var b: UInt8 = 0
            while true {
                let n = read(0, &b, 1)
                if n == 1 { return b }
                if n < 0 && errno == EINTR { continue }
                return nil
            }
        }
        guard let lead = byte() else { return nil }
        let extra: Int
        var value: UInt32
        switch lead {
        case 0..<0x80: return UInt32(lead)
        case 0xC0..<0xE0: extra = 1; value = UInt32(lead & 0x1F)
        case 0xE0..<0xF0: extra = 2; value = UInt32(lead & 0x0F)
        case 0xF0..<0xF8: extra = 3; value = UInt32(lead & 0x07)
        default: return 0xFFFD
        }
        for _ in 0..<extra {
            guard let b = byte() else { return nil }
            guard b & 0xC0 == 0x80 else { return 0xFFFD }
            value = value << 6 | UInt32(b & 0x3F)
        }
        return value
    }

    /// Prints queued output above the edited line, then redraws the prompt and the line.
    private func flushPending() {
        let items = lock.withLock { () -> [(fd: Int32, bytes: [UInt8])] in
            defer { pending = [] }
            return pending
        }
        guard !items.isEmpty else { return }
        put(1, "\r\u{1B}[K")  // back to the start of the line, and clear it
        for item in items { writeAll(item.fd, item.bytes) }
        shim_el_refresh(el)
    }

    private func completeWord() -> UInt8 {
        guard let info = el_line(el)?.pointee, let complete else { return UInt8(CC_ERROR) }
        let before = String(decoding: UnsafeRawBufferPointer(start: info.buffer, count: info.cursor - info.buffer), as: UTF8.self)
        let word = ReplSession.completionWord(endingAt: before)
        let matches = complete(word)
        guard !matches.isEmpty else { return UInt8(CC_REFRESH_BEEP) }
        let common = matches.dropFirst().reduce(matches[0]) { commonPrefix($0, $1) }
        if common.utf8.count > word.utf8.count {
            let rest = String(common.utf8.dropFirst(word.utf8.count))!
            _ = el_insertstr(el, rest)
            return UInt8(CC_REFRESH)
        }
        if matches.count == 1 { return UInt8(CC_REFRESH) }
        // Nothing more in common: list them under the line, then redraw it.
        put(1, "\n" + matches.joined(separator: "  ") + "\n")
        return UInt8(CC_REDISPLAY)
    }

    // MARK: plumbing

    private func wake() {
        var b: UInt8 = 1
        _ = write(wakeWrite, &b, 1)
    }

    private func put(_ fd: Int32, _ text: String) {
        writeAll(fd, Array(text.utf8))
    }
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { buf in
        var offset = 0
        while offset < buf.count {
            let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }
}

/// The longest string both start with (by characters).
private func commonPrefix(_ a: String, _ b: String) -> String {
    var end = a.startIndex
    var j = b.startIndex
    while end < a.endIndex, j < b.endIndex, a[end] == b[j] {
        end = a.index(after: end)
        j = b.index(after: j)
    }
    return String(a[..<end])
}

/// A plain pthread mutex: output is written while holding it, so lines never interleave.
final class TerminalLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
