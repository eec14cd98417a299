// libFuzzer target "hub": the bytes a hostile client sends the hub once its WebSocket is
// upgraded, read by the pipeline the hub builds (Hub.addWebSocketHandlers: NIO's frame decoder, then
// EngineConnectionHandler's reassembly, unmasking, Engine.IO and Socket.IO decoding, commands, the
// core's routing) on an EmbeddedChannel. Built only by scripts/fuzz (RTLUA_FUZZ=1 in the
// environment adds this target to the package; see Package.swift).
import Glibc
import NIOCore
import NIOEmbedded
import NIOWebSocket

@testable import Hub

/// What one input does: split in two writes at a point its first byte picks (so a frame
/// can arrive in pieces), fed to a fresh connection, which is then closed.
func hubFuzzOne(_ input: UnsafeBufferPointer<UInt8>) {
    let loop = EmbeddedEventLoop()
    let channel = EmbeddedChannel(loop: loop)
    // A small maxPayload keeps the limits in reach of the fuzzer.
    let core = HubCore(config: HubConfig(maxPayload: 4096), loop: loop)
    do {
        // Active, as an upgraded connection is (the handler lets go of an inactive one).
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        // The handlers an upgraded connection gets, added by the function the hub uses.
        try Hub.addWebSocketHandlers(channel, core: core)
    } catch {
        fatalError("pipeline: \(error)")
    }
    if let first = input.first {
        let split = 1 + Int(first) * (input.count - 1) / 256
        for part in [1..<split, split..<input.count] where !part.isEmpty {
            _ = try? channel.writeInbound(channel.allocator.buffer(bytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[part])))
            loop.run()
        }
    }
    // The 2 s hang-up after a close frame. (The heartbeat and connect timeouts are not
    // reached: the handler reads the real clock; ConnectionTimersTests cover that logic.)
    loop.advanceTime(by: .seconds(3))
    while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    _ = try? channel.finish()
    loop.run()
    _ = try? loop.syncShutdownGracefully()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    hubFuzzOne(UnsafeBufferPointer(start: data, count: size))
    return 0
}

/// SwiftPM links an executable's `main` to the module's own entry point, so this one hands
/// over to libFuzzer's driver (what libFuzzer's own `main` would do).
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@main
enum FuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
    }
}
