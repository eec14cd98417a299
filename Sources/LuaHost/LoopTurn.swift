#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Work for a loop's next turn *after* it has looked at its sockets: where a preempted
/// callback goes on (LuaScript+Guard.swift).
///
/// `EventLoop.execute` is not that: NIO runs every ready task, also those added while it
/// runs them, before it waits for I/O again, so a busy callback continued with `execute`
/// (or a task scheduled for now) would keep the loop's sockets waiting for as long as it
/// runs. Here the work waits behind a byte written to a pipe whose read end is a channel of
/// the loop: it runs when the loop handles I/O events, among the other sockets that are ready.
/// One pipe per loop, made at the first use.
final class LoopTurn: @unchecked Sendable {  // confined to `loop`, except the registry
    private static let turns = NIOLockedValueBox<[ObjectIdentifier: LoopTurn]>([:])

    /// The turn of `loop` (call on the loop).
    static func of(_ loop: EventLoop) -> LoopTurn {
        turns.withLockedValue { turns in
            if let t = turns[ObjectIdentifier(loop)] { return t }
            let t = LoopTurn(loop: loop)
            turns[ObjectIdentifier(loop)] = t
            return t
        }
    }

    private let loop: EventLoop
    private var pending: [() -> Void] = []
    private var writeEnd: CInt = -1
    private var ready = false
    private var closed = false

    private init(loop: EventLoop) {
        self.loop = loop
        var fds: [CInt] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        writeEnd = fds[1]
        let readEnd = fds[0]
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TurnHandler(turn: self))
                }
            }
            .takingOwnershipOfDescriptor(input: readEnd)
            .whenComplete { [self] result in
                switch result {
                case .success:
                    ready = true
                    if !pending.isEmpty { poke() }
                case .failure:
                    close(readEnd)
                    shutDown()
                    if !pending.isEmpty { loop.scheduleTask(in: .milliseconds(1)) { [self] in runPending() } }
                }
            }
    }

    /// Runs `work` on the loop's next turn after I/O (on the loop).
    func later(_ work: @escaping () -> Void) {
        loop.preconditionInEventLoop()
        pending.append(work)
        guard pending.count == 1 else { return }
        if ready {
            poke()
        } else if closed || writeEnd < 0 {
            // No pipe (yet, or any more): a short delay gives the sockets their turn too.
            loop.scheduleTask(in: .milliseconds(1)) { [self] in runPending() }
        }
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)  // EAGAIN: the pipe is full, so readable anyway
    }

    fileprivate func runPending() {
        let batch = pending
        pending = []
        for work in batch { work() }
    }

    fileprivate func shutDown() {
        closed = true
        ready = false
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
        _ = Self.turns.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(loop)) }
    }
}

private final class TurnHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let turn: LoopTurn

    init(turn: LoopTurn) { self.turn = turn }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelReadComplete(context: ChannelHandlerContext) {
        turn.runPending()
    }

    func channelInactive(context: ChannelHandlerContext) {
        turn.shutDown()  // the loop is closing: what is pending is dropped with it
    }
}

extension EventLoop {
    /// Calls `done` on this loop once `condition` holds, looking now and then every `interval`,
    /// or after `tries` looks in any case: how `rtlua test` waits for what real I/O brings
    /// (bots settling, connections closing) without waiting for ever.
    func poll(every interval: TimeAmount, tries: Int, until condition: @escaping @Sendable () -> Bool,
              then done: @escaping @Sendable () -> Void) {
        @Sendable func look(_ left: Int) {
            if left <= 0 || condition() { return done() }
            scheduleTask(in: interval) { look(left - 1) }
        }
        execute { look(tries) }
    }
}
