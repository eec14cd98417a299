import NIOCore
import RTJSON

/// What `rtlua test` drives in a hub (LuaHost's TestHubControl, via Hub+TestControl): the
/// log of every packet the hub took from its sockets, and faults injected into the relay of
/// messages: a share of them dropped (spread evenly, so a rate of 0.5 drops every second one),
/// or all of them relayed late. Absent (nil in HubCore) outside tests: the relay pays nothing.
final class HubTestHooks {  // confined to the hub's loop
    private(set) var log: [String] = []
    static let logLimit = 100_000
    var dropRate = 0.0
    var delayMilliseconds = 0
    private var messagesSeen = 0
    /// Set while a delayed message is handled for real.
    private var replaying = false

    func note(_ line: String) {
        if log.count < Self.logLimit { log.append(line) }
    }

    /// Logs `command`; false when the hooks took it over (dropped it, or will relay it late).
    func pass(_ command: ClientCommand, from key: HubRouter.SocketKey, core: HubCore) -> Bool {
        if replaying { return true }
        let sid = core.router.sid(of: key) ?? "?"
        note("\(sid) \(Self.describe(command))")
        guard case .message = command else { return true }
        messagesSeen += 1
        let n = Double(messagesSeen)
        if dropRate > 0, (n * dropRate).rounded(.down) > ((n - 1) * dropRate).rounded(.down) {
            note("\(sid) dropped (hub.drop)")
            return false
        }
        if delayMilliseconds > 0 {
            core.loop.scheduleTask(in: .milliseconds(Int64(delayMilliseconds))) { [self] in
                replaying = true
                _ = core.handle(command, from: key)
                replaying = false
            }
            return false
        }
        return true
    }

    static func describe(_ command: ClientCommand) -> String {
        func text(_ v: JSONValue) -> String { (try? v.jsonText(sortedKeys: true)) ?? "?" }
        switch command {
        case let .message(channel, eventName, message, _):
            return channel.map { "send \($0) \(eventName) \(text(message))" } ?? "broadcast \(eventName) \(text(message))"
        case let .join(channel, _): return "join \(channel)"
        case let .leave(channel, _): return "leave \(channel)"
        case let .update(data, _): return "update \(text(data))"
        case let .members(channel, _): return "members \(channel)"
        }
    }
}
