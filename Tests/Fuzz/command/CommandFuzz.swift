// libFuzzer target "command": a client's Socket.IO packet text (the Engine.IO "4" already
// taken off) read into a hub command the three ways the hub can read it: the one-pass
// reader of plain events (ClientCommand.parse(eventPacket:)), the decoder keeping arguments
// as JSON text (what the hub falls back to), and the decoder building trees (a binary
// event's payload). Where the one-pass reader gives a verdict, the others must give the same.
// Built only by scripts/fuzz (RTLUA_FUZZ=1 adds this target to the package).
import Glibc
import RTJSON
import SocketIO

@testable import Hub

func commandFuzzOne(_ p: UnsafeBufferPointer<UInt8>) {
    // The hub refuses broken UTF-8 before reading a packet.
    guard JSONValue.isValidUTF8(p) else { return }
    let fast = ClientCommand.parse(eventPacket: p)

    func viaDecoder(rawFromDepth: Int) -> Result<ClientCommand, DropReason>? {
        var d = SocketPacketDecoder(rawFromDepth: rawFromDepth)
        guard let packet = (try? d.receiveText(bytes: p)) ?? nil, packet.type == .event, packet.namespace == "/",
              case .array(let data)? = packet.data, case .string(let name)? = data.first
        else { return nil }
        return ClientCommand.parse(event: name, payload: data.count > 1 ? data[1] : nil, ackID: packet.id)
    }
    let text = viaDecoder(rawFromDepth: 1)
    let tree = viaDecoder(rawFromDepth: .max)
    if text != tree {
        fatalError("command: payload as text gives \(String(describing: text)), as a tree \(String(describing: tree)) for \(Array(p))")
    }
    if let fast, fast != text {
        fatalError("command: one-pass reader gives \(fast), the decoder \(String(describing: text)) for \(Array(p))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    commandFuzzOne(UnsafeBufferPointer(start: data, count: size))
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
