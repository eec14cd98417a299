// swift-tools-version:6.0
import PackageDescription

// One module per concern; arrows of ../shared/ARCHITECTURE.md:
// rtlua → LuaHost → (CLua, Realtime, CurlHTTP); rtlua → Hub → (AltogicProtocol, SocketIO);
// Realtime → (AltogicProtocol, SocketIO, CurlHTTP); AltogicProtocol → SocketIO → RTJSON.
// Clocks (real and virtual time) sits under SocketIO, Hub, Metrics and LuaHost.
// AltogicProtocol is PROTOCOL.md's one home: both the client (Realtime) and the hub use it.
let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
]

let propertyBased: Target.Dependency = .product(name: "PropertyBased", package: "swift-property-based")

// Release builds skip the run-time exclusivity checks (the compile-time ones stay, and
// debug builds and tests keep the run-time ones): on the message paths they cost 5–10 % of
// the CPU (swift_beginAccess and its thread-local lookups in the profiles of BENCHMARKS.md).
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "rtlua",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "rtlua", targets: ["rtlua"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Property tests (Swift Testing): generated inputs for the JSON and event-text round trips.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // HDR histograms for the trends' percentiles (merged exactly across shards).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Debian's Lua 5.4 and libcurl, each with a shim header for the C macros.
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // libedit (BSD): line editing, history and completion for `rtlua repl` on a terminal.
        .systemLibrary(name: "CEdit", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),

        // The one dynamic value type of the project and its JSON text form.
        .target(name: "RTJSON", swiftSettings: fast),
        // The clock that timers run on: real, or the virtual one of `rtlua test`.
        .target(name: "Clocks", dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], swiftSettings: fast),
        // Engine.IO v4 / Socket.IO v5: the packet codec (shared with the hub) and the client.
        .target(name: "SocketIO", dependencies: ["RTJSON", "Clocks", .product(name: "NIOSSL", package: "swift-nio-ssl")] + nio, swiftSettings: fast),
        // libcurl off the event loop, results back on it.
        .target(name: "CurlHTTP", dependencies: ["CCurl", "RTJSON", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")], swiftSettings: fast),
        // The Altogic message layer of PROTOCOL.md, for client and hub alike: its names and
        // limits, the one validator, and the event text's fast writer and reader.
        .target(name: "AltogicProtocol", dependencies: ["SocketIO", "RTJSON"], swiftSettings: fast),
        // The Altogic RealtimeManager semantics over the Socket.IO client.
        .target(name: "Realtime", dependencies: ["AltogicProtocol", "Clocks", "SocketIO", "CurlHTTP", "RTJSON"] + nio, swiftSettings: fast),
        // One Lua VM per script, confined to one event loop.
        .target(name: "LuaHost", dependencies: ["CLua", "Clocks", "Realtime", "AltogicProtocol", "Metrics", "CurlHTTP", "RTJSON", .product(name: "Logging", package: "swift-log"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")] + nio, swiftSettings: fast),
        // Checks, metrics, thresholds and run summaries (docs/metrics.md).
        .target(name: "Metrics", dependencies: ["Clocks", .product(name: "Histogram", package: "hdrhistogram-swift"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], swiftSettings: fast),
        // The embedded Socket.IO hub (server side of PROTOCOL.md).
        .target(name: "Hub", dependencies: ["AltogicProtocol", "Clocks", "SocketIO", "RTJSON", .product(name: "Logging", package: "swift-log")] + nio, swiftSettings: fast),
        .executableTarget(name: "rtlua", dependencies: [
            "LuaHost", "Clocks", "Hub", "Realtime", "Metrics", "CEdit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ] + nio, swiftSettings: fast),

        .testTarget(name: "ClocksTests", dependencies: ["Clocks"] + nio),
        .testTarget(name: "RTJSONTests", dependencies: ["RTJSON", propertyBased]),
        .testTarget(name: "AltogicProtocolTests", dependencies: ["AltogicProtocol", "SocketIO", "RTJSON"]),
        .testTarget(name: "SocketIOTests", dependencies: ["SocketIO", "Clocks", "RTJSON"] + nio),
        .testTarget(name: "CurlHTTPTests", dependencies: ["CurlHTTP", "RTJSON"] + nio),
        .testTarget(name: "RealtimeTests", dependencies: ["Realtime", "AltogicProtocol", "SocketIO", "RTJSON", "Hub", "CurlHTTP", propertyBased] + nio),
        .testTarget(name: "LuaHostTests", dependencies: ["LuaHost", "CLua", "Realtime", "SocketIO", "RTJSON", .product(name: "Logging", package: "swift-log")] + nio),
        .testTarget(
            name: "HubTests",
            dependencies: ["Hub", "Clocks", "AltogicProtocol", "SocketIO", "RTJSON", .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"), propertyBased] + nio,
            exclude: ["peer"]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["RTJSON"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"]),
    ]
)

// libFuzzer targets that need the Hub module (Tests/Fuzz/hub, Tests/Fuzz/command). They exist
// only when scripts/fuzz builds with RTLUA_FUZZ=1 (in .build-fuzz, with -sanitize=fuzzer,address),
// so ordinary builds never compile them; the NIO-free fuzz targets are built by swiftc alone.
if Context.environment["RTLUA_FUZZ"] == "1" {
    let driver: [SwiftSetting] = [.enableExperimentalFeature("Extern")]  // @_extern(c) LLVMFuzzerRunDriver
    package.targets += [
        .executableTarget(
            name: "HubFuzz", dependencies: ["Hub", .product(name: "NIOEmbedded", package: "swift-nio")] + nio,
            path: "Tests/Fuzz/hub", swiftSettings: driver),
        .executableTarget(
            name: "CommandFuzz", dependencies: ["Hub", "SocketIO", "RTJSON"], path: "Tests/Fuzz/command", swiftSettings: driver),
    ]
}
