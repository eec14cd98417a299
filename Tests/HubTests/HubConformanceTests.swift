import XCTest

@testable import Hub

/// PROTOCOL.md §2–§5 checked from the outside: python-socketio AsyncClients (an independent
/// implementation) and raw WebSocket clients against a Hub started in-process.
final class HubConformanceTests: XCTestCase {
    func testBroadcastAndEchoRules() throws {
        try PeerHarness.run("broadcast_echo")
    }

    func testChannelMessages() throws {
        try PeerHarness.run("channel_messages")
    }

    func testPresenceJoinLeaveUpdateDisconnectAndMembersAck() throws {
        try PeerHarness.run("presence")
    }

    func testBodiesAndMemberDataAreRelayedVerbatimAndBadJSONIsDropped() throws {
        try PeerHarness.run("raw_relay")
    }

    func testSmallAndBigEventsArriveInOrder() throws {
        try PeerHarness.run("mixed_sizes_in_order")
    }

    func testBinaryPayloadRoundTrip() throws {
        try PeerHarness.run("binary_payload")
    }

    func testMembersRESTOnOpenHub() throws {
        try PeerHarness.run("members_rest")
    }

    func testMembersRESTWithClientKeys() throws {
        try PeerHarness.run("members_rest", config: HubConfig(clientKeys: ["key-1", "key-2"]), options: ["clientKey": "key-2"])
    }

    func testClientKeyRefusal() throws {
        try PeerHarness.run("client_keys", config: HubConfig(clientKeys: ["key-1"]), options: ["clientKey": "key-1"])
    }

    func testUserEvents() throws {
        try PeerHarness.run("user_events", config: HubConfig(masterKey: "master-secret"), options: ["masterKey": "master-secret"])
    }

    func testAdminAPIOffWithoutMasterKey() throws {
        try PeerHarness.run("admin_disabled")
    }

    func testHealthMetricsAndTransportRefusal() throws {
        try PeerHarness.run("http_endpoints")
    }

    func testBadInputIsDroppedAndCountedAndTheClientKept() throws {
        try PeerHarness.run("bad_input")
    }

    func testSeededFuzzLeavesTheHubServing() throws {
        try PeerHarness.run("fuzz", options: ["seed": 7, "rounds": 10])
    }

    func testOversizePayloadDisconnectsTheSender() throws {
        try PeerHarness.run("oversize_payload", config: HubConfig(maxPayload: 10_000), options: ["maxPayload": 10_000])
    }

    func testClientThatDoesNotPongIsEvicted() throws {
        try PeerHarness.run("ping_eviction", config: HubConfig(pingInterval: 300, pingTimeout: 1500))
    }

    func testWebSocketWithoutConnectIsClosed() throws {
        var config = HubConfig(pingInterval: 200, pingTimeout: 5000)
        config.connectTimeout = 700
        try PeerHarness.run("connect_timeout", config: config)
    }

    func testOversizeRESTBodyIsRefused() throws {
        try PeerHarness.run("http_limits", config: HubConfig(maxPayload: 2000), options: ["maxPayload": 2000])
    }

    func testSlowConsumerIsDroppedAndOthersServed() throws {
        var config = HubConfig()
        config.outboundBufferLimit = 256 * 1024
        try PeerHarness.run("slow_consumer", config: config, options: ["count": 600])
    }

    func testFloodDoesNotStarveOthers() throws {
        try PeerHarness.run("flood_fairness", options: ["count": 20000])
    }
}
