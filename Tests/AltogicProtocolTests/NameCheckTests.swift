import AltogicProtocol
import XCTest

/// The one validator of §3's names: the client's error texts (scripts see them) and the
/// hub's fast reserved-name test, against a plain reading of PROTOCOL.md.
final class NameCheckTests: XCTestCase {
    func testClientErrorTextsAreUnchanged() {
        func eventText(_ name: String, _ argument: String = "eventName") -> String? {
            NameCheck.eventNameProblem(name)?.message(argument: argument)
        }
        XCTAssertEqual(eventText(""), "eventName must not be empty")
        XCTAssertEqual(eventText("connect"), "eventName must not be a reserved name ('connect')")
        XCTAssertEqual(eventText("removeListener", "event"), "event must not be a reserved name ('removeListener')")
        XCTAssertEqual(eventText("channel:join"), "eventName must not start with 'channel:' ('channel:join')")
        XCTAssertEqual(eventText("user:x"), "eventName must not start with 'user:' ('user:x')")
        XCTAssertNil(eventText("chat"))
        XCTAssertNil(eventText("connected"))
        XCTAssertNil(eventText("user"))
        XCTAssertEqual(NameCheck.channelProblem("")?.message(argument: "channel"), "channel must not be empty")
        XCTAssertEqual(
            NameCheck.channelProblem(String(repeating: "é", count: 129))?.message(argument: "channel"),
            "channel must be at most 256 bytes (got 258)")
        XCTAssertNil(NameCheck.channelProblem(String(repeating: "x", count: 256)))
        XCTAssertNil(NameCheck.channelProblem(String(repeating: "é", count: 128)))
    }

    /// The first-byte shortcut of `isReservedEventName` agrees with the rule as PROTOCOL.md
    /// states it, on every reserved name, its neighbours and random names.
    func testReservedMatchesTheSpec() {
        func spec(_ name: String) -> Bool {
            ProtocolNames.reservedEventNames.contains(name) || ProtocolNames.reservedEventPrefixes.contains { name.hasPrefix($0) }
        }
        var names = Array(ProtocolNames.reservedEventNames) + ProtocolNames.reservedEventPrefixes + Array(ProtocolNames.userEvents)
        for n in names { names += [n + "x", "x" + n, String(n.dropLast()), n.uppercased()] }
        names += ["", "c", "u", "channel", "user", "Channel:x", "é", "message", "newListener ", "disconnecting"]
        var rng = SplitMix64(seed: 7)
        let alphabet = Array("cdnruhaelsx:_é")
        for _ in 0..<2000 { names.append(String((0..<rng.int(12)).map { _ in alphabet[rng.int(alphabet.count)] })) }
        for n in names {
            XCTAssertEqual(NameCheck.isReservedEventName(n), spec(n), n)
            XCTAssertEqual(NameCheck.eventNameProblem(n) == nil, !n.isEmpty && !spec(n), n)
        }
    }

    func testChannelValidityMatchesProblem() {
        for c in ["", "a", String(repeating: "a", count: 256), String(repeating: "a", count: 257), "😀", String(repeating: "😀", count: 64), String(repeating: "😀", count: 65)] {
            XCTAssertEqual(NameCheck.isValidChannel(c), NameCheck.channelProblem(c) == nil, c)
        }
    }

    func testUserEvents() {
        for e in ProtocolNames.userEvents { XCTAssertTrue(ProtocolNames.isUserEvent(e), e) }
        for e in ["user:", "user:other", "usersignin", "", "message", "channel:join"] { XCTAssertFalse(ProtocolNames.isUserEvent(e), e) }
    }
}
