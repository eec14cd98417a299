import RTJSON
import XCTest

@testable import Hub

/// The §3–§4 rules on the in-memory model: who receives what.
final class HubRouterTests: XCTestCase {
    var router = HubRouter()

    override func setUp() {
        router = HubRouter()
        router.connect(1, sid: "A", echoMessages: true, session: "tokA")
        router.connect(2, sid: "B", echoMessages: true, session: "tokB")
        router.connect(3, sid: "C", echoMessages: false, session: nil)
    }

    @discardableResult
    func run(_ c: ClientCommand, from key: Int) -> [Delivery] {
        router.handle(c, from: key).deliveries
    }

    func recipients(_ d: [Delivery]) -> [Set<Int>] { d.map { Set($0.recipients) } }

    func testBroadcastReachesEveryoneAndEchoFollowsConnectionDefault() {
        let a = run(.message(channel: nil, eventName: "hi", message: 1, echo: nil), from: 1)
        XCTAssertEqual(recipients(a), [[1, 2, 3]])
        XCTAssertEqual(a.first?.event, "hi")
        XCTAssertEqual(a.first?.args, [["channel": nil, "message": 1]])
        let c = run(.message(channel: nil, eventName: "hi", message: 1, echo: nil), from: 3)
        XCTAssertEqual(recipients(c), [[1, 2]], "C's echoMessages is false")
    }

    func testPacketEchoOverridesConnectionDefault() {
        XCTAssertEqual(recipients(run(.message(channel: nil, eventName: "e", message: nil, echo: false), from: 1)), [[2, 3]])
        XCTAssertEqual(recipients(run(.message(channel: nil, eventName: "e", message: nil, echo: true), from: 3)), [[1, 2, 3]])
    }

    func testChannelMessageGoesToMembersOnlyAndSenderNeedNotBeMember() {
        run(.join(channel: "room", echo: nil), from: 2)
        let fromOutsider = run(.message(channel: "room", eventName: "m", message: "x", echo: true), from: 1)
        XCTAssertEqual(recipients(fromOutsider), [[2]])
        XCTAssertEqual(fromOutsider.first?.args, [["channel": "room", "message": "x"]])
        run(.join(channel: "room", echo: nil), from: 1)
        XCTAssertEqual(recipients(run(.message(channel: "room", eventName: "m", message: "x", echo: nil), from: 1)), [[1, 2]])
        XCTAssertEqual(recipients(run(.message(channel: "room", eventName: "m", message: "x", echo: false), from: 1)), [[2]])
        XCTAssertEqual(run(.message(channel: "empty", eventName: "m", message: "x", echo: nil), from: 1), [])
    }

    func testJoinNotifiesMembersWithPresenceAndIsIdempotent() {
        run(.update(data: ["name": "bee"], echo: nil), from: 2)
        run(.join(channel: "r", echo: nil), from: 1)
        let join = run(.join(channel: "r", echo: nil), from: 2)
        XCTAssertEqual(join, [Delivery(event: "channel:join", args: [["channel": "r", "message": ["id": "B", "data": ["name": "bee"]]]], recipients: join.first!.recipients)])
        XCTAssertEqual(recipients(join), [[1, 2]])
        XCTAssertEqual(run(.join(channel: "r", echo: nil), from: 2), [], "joining twice sends nothing")
        XCTAssertEqual(recipients(run(.join(channel: "r", echo: false), from: 3)), [[1, 2]])
        XCTAssertEqual(router.members(of: "r"), [["id": "A", "data": nil], ["id": "B", "data": ["name": "bee"]], ["id": "C", "data": nil]])
    }

    func testLeaveNotifiesRemainingMembersAndLeaverOnlyWithEcho() {
        run(.join(channel: "r", echo: nil), from: 1)
        run(.join(channel: "r", echo: nil), from: 2)
        run(.join(channel: "r", echo: nil), from: 3)
        let leave = run(.leave(channel: "r", echo: false), from: 1)
        XCTAssertEqual(recipients(leave), [[2, 3]])
        XCTAssertEqual(leave.first?.event, "channel:leave")
        XCTAssertEqual(leave.first?.args, [["channel": "r", "message": ["id": "A", "data": nil]]])
        XCTAssertEqual(run(.leave(channel: "r", echo: nil), from: 1), [], "leaving a channel one is not in sends nothing")
        XCTAssertEqual(recipients(run(.leave(channel: "r", echo: nil), from: 2)), [[3, 2]])
        XCTAssertEqual(router.channelCount, 1)
        XCTAssertEqual(run(.leave(channel: "r", echo: nil), from: 3), [], "C leaves last without echo: nobody left to tell")
        XCTAssertEqual(router.channelCount, 0, "empty channels are forgotten")
    }

    func testUpdateGoesOncePerChannelAndStoresData() {
        run(.join(channel: "r1", echo: nil), from: 1)
        run(.join(channel: "r2", echo: nil), from: 1)
        run(.join(channel: "r1", echo: nil), from: 2)
        run(.join(channel: "r2", echo: nil), from: 2)
        let up = run(.update(data: ["s": 1], echo: false), from: 1)
        XCTAssertEqual(up.map(\.event), ["channel:update", "channel:update"])
        XCTAssertEqual(Set(up.map { $0.args[0]["channel"]! }), ["r1", "r2"])
        XCTAssertEqual(recipients(up), [[2], [2]])
        XCTAssertEqual(up.first?.args.first?["message"], ["id": "A", "data": ["s": 1]])
        XCTAssertEqual(recipients(run(.update(data: 2, echo: nil), from: 1)), [[1, 2], [1, 2]])
        XCTAssertEqual(router.members(of: "r2"), [["id": "A", "data": 2], ["id": "B", "data": nil]])
        XCTAssertEqual(run(.update(data: 3, echo: nil), from: 3), [], "a socket in no channel tells nobody")
    }

    func testDisconnectLeavesEveryChannelAndDropsData() {
        run(.update(data: "me", echo: nil), from: 1)
        run(.join(channel: "r1", echo: nil), from: 1)
        run(.join(channel: "r2", echo: nil), from: 1)
        run(.join(channel: "r1", echo: nil), from: 2)
        run(.join(channel: "r2", echo: nil), from: 3)
        let out = router.disconnect(1)
        XCTAssertEqual(out.count, 2)
        XCTAssertTrue(out.allSatisfy { $0.event == "channel:leave" && $0.args[0]["message"] == ["id": "A", "data": "me"] })
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: out.map { ($0.args[0]["channel"]!.stringValue!, Set($0.recipients)) }), ["r1": [2], "r2": [3]])
        XCTAssertNil(router.sid(of: 1))
        XCTAssertEqual(router.members(of: "r1"), [["id": "B", "data": nil]])
        XCTAssertEqual(router.disconnect(1), [], "a second disconnect is a no-op")
    }

    func testMembersAckAndUnknownChannel() {
        run(.join(channel: "r", echo: nil), from: 2)
        let r = router.handle(.members(channel: "r", ackID: 7), from: 1)
        XCTAssertEqual(r.deliveries, [])
        XCTAssertEqual(r.ack?.id, 7)
        XCTAssertEqual(r.ack?.args, [[["id": "B", "data": nil]]])
        XCTAssertEqual(router.members(of: "nope"), [])
    }

    func testUserEventRecipientsBySession() {
        XCTAssertEqual(router.sockets(withSession: "tokA"), [1])
        XCTAssertEqual(Set(router.sockets(withSession: "*")), [1, 2, 3])
        XCTAssertEqual(router.sockets(withSession: "other"), [])
    }

    func testCommandsFromUnknownSocketDoNothing() {
        XCTAssertEqual(run(.join(channel: "r", echo: nil), from: 99), [])
        XCTAssertEqual(router.channelCount, 0)
    }

    func raw(_ text: String) throws -> JSONValue { .raw(try RawJSON(validating: Array(text.utf8))) }

    func text(_ v: JSONValue?) -> String? {
        guard case .raw(let r)? = v else { return nil }
        return String(decoding: r.bytes, as: UTF8.self)
    }

    /// The event data is written once as text, the relayed body inside it byte for byte.
    func testEventDataIsTextWithTheBodyVerbatim() throws {
        run(.join(channel: "room", echo: nil), from: 2)
        let body = #"{ "b" : [1.50, -0.0], "a":"\u00e9" }"#
        let d = run(.message(channel: "room", eventName: "m", message: try raw(body), echo: nil), from: 1)
        XCTAssertEqual(text(d.first?.args.first), #"{"channel":"room","message":"# + body + "}")
        XCTAssertEqual(d.first?.args, [["channel": "room", "message": ["a": "é", "b": [1.5, 0.0]]]])
        let broadcast = run(.message(channel: nil, eventName: "m", message: "x\n", echo: nil), from: 1)
        XCTAssertEqual(text(broadcast.first?.args.first), #"{"channel":null,"message":"x\n"}"#)
        run(.update(data: try raw(#"[ "me" ]"#), echo: nil), from: 2)
        XCTAssertEqual(text(router.members(of: "room").arrayValue?.first?["data"]), #"[ "me" ]"#, "member data is kept as sent")
    }

    func testBinaryBodiesStayTreesForTheEncoder() {
        let d = run(.message(channel: nil, eventName: "f", message: ["b": .binary([1, 2])], echo: nil), from: 1)
        guard case .object(let data)? = d.first?.args.first else { return XCTFail("\(d)") }
        XCTAssertEqual(data["message"], ["b": .binary([1, 2])])
    }

    /// A channel's events go to its members in join order, the order of a members listing,
    /// through joins, leaves and disconnects.
    func testChannelRecipientsAreTheMembersInJoinOrder() {
        var order: [Int] = []
        for i in 0..<40 {
            let key = 10 + (i * 17) % 40  // a fixed shuffle of 10...49
            router.connect(key, sid: "s\(key)", echoMessages: true, session: nil)
            run(.join(channel: "r", echo: nil), from: key)
            order.append(key)
        }
        func check(_ what: String) {
            let d = run(.message(channel: "r", eventName: "m", message: 1, echo: nil), from: 1)
            XCTAssertEqual(d.first?.recipients, order, what)
            XCTAssertEqual(router.members(of: "r").arrayValue?.map { $0["id"]!.stringValue! }, order.map { "s\($0)" }, what)
        }
        check("joined")
        run(.leave(channel: "r", echo: nil), from: order[5])
        _ = router.disconnect(order[20])
        run(.join(channel: "r", echo: nil), from: order[0])  // a member already: no change
        order.remove(at: 20)
        let rejoining = order.remove(at: 5)
        check("after a leave and a disconnect")
        run(.join(channel: "r", echo: nil), from: rejoining)
        order.append(rejoining)
        check("rejoined at the end")
        let withoutSender = run(.message(channel: "r", eventName: "m", message: 1, echo: false), from: order[3])
        XCTAssertEqual(withoutSender.first?.recipients, order.filter { $0 != order[3] })
    }

    /// Seeded joins, leaves and disconnects: every channel message reaches exactly the
    /// sockets the model says are members, once each.
    func testChannelMembershipMatchesAModelUnderChurn() {
        var rng = SplitMix(seed: 42)
        var model: [String: Set<Int>] = [:]
        var connected: Set<Int> = [1, 2, 3]
        for step in 0..<2000 {
            let key = Int(rng.next() % 8) + 1
            let channel = ["a", "b", "c"][Int(rng.next() % 3)]
            if !connected.contains(key) {
                router.connect(key, sid: "s\(key)", echoMessages: true, session: nil)
                connected.insert(key)
            }
            switch rng.next() % 6 {
            case 0, 1, 2:
                run(.join(channel: channel, echo: nil), from: key)
                model[channel, default: []].insert(key)
            case 3, 4:
                run(.leave(channel: channel, echo: nil), from: key)
                model[channel]?.remove(key)
            default:
                _ = router.disconnect(key)
                connected.remove(key)
                for c in model.keys { model[c]?.remove(key) }
            }
            guard let sender = connected.first else { continue }
            let d = run(.message(channel: channel, eventName: "m", message: nil, echo: true), from: sender)
            let members = model[channel] ?? []
            XCTAssertEqual(d.first?.recipients.count ?? 0, members.count, "step \(step): no duplicates")
            XCTAssertEqual(Set(d.first?.recipients ?? []), members, "step \(step)")
        }
        XCTAssertEqual(router.channelCount, model.values.filter { !$0.isEmpty }.count)
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
