import Clocks
import NIOCore
import RTJSON

/// The hub a test file's tests run against, as the test runner drives it (`rtlua test`):
/// a fresh one per test, always on the same loopback port, so the test's own managers and
/// the bots reach each test's hub at one URL. Implemented over the Hub module by the CLI
/// (LuaHost does not import the Hub). Futures may complete on any loop.
public protocol TestHubControl: AnyObject, Sendable {
    /// "http://127.0.0.1:PORT" once started.
    var baseURL: String { get }
    /// A fresh hub (no sockets, channels, log or faults) whose connection timers (ping,
    /// ping timeout, connect timeout) run on `clock`, the test's virtual clock.
    func start(clock: EventClock) -> EventLoopFuture<Void>
    /// Closes every connection and stops listening.
    func stop() -> EventLoopFuture<Void>
    /// Stops and starts again on the same port: every client sees a disconnect and reconnects.
    func restart() -> EventLoopFuture<Void>
    func members(_ channel: String) -> EventLoopFuture<JSONValue>
    /// Delivers a `user:*` event to the sockets whose session is `session` ("*": all); how many got it.
    func userEvent(_ name: String, session: String) -> EventLoopFuture<Int>
    /// Closes the connection of the socket with id `socketId`; false when there is none.
    func kick(_ socketId: String) -> EventLoopFuture<Bool>
    /// Drops this fraction (0...1) of the relayed messages, spread evenly (from when the
    /// future completes).
    func setDropRate(_ rate: Double) -> EventLoopFuture<Void>
    /// Relays messages this many milliseconds late.
    func setDelay(milliseconds: Int) -> EventLoopFuture<Void>
    /// Every packet the hub saw, in order, as text lines.
    func log() -> EventLoopFuture<[String]>
}
