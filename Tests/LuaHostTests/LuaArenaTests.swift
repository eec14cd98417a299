import CLua
import NIOPosix
import XCTest
@testable import LuaHost

/// The block a VM's small objects are laid out in.
final class LuaArenaTests: XCTestCase {
    var block: UnsafeMutableRawPointer!

    override func setUpWithError() throws {
        block = try XCTUnwrap(LuaArena.make())
    }

    override func tearDown() {
        LuaArena.release(block)
    }

    func alloc(_ size: Int) -> UnsafeMutableRawPointer {
        LuaArena.allocate(block, nil, 0, size)!
    }

    func owned(_ p: UnsafeMutableRawPointer) -> Bool {
        LuaArena.owns(block.assumingMemoryBound(to: LuaArena.Header.self), block, p)
    }

    func testSmallObjectsAreLaidEndToEndWithoutHeaders() {
        let a = alloc(24), b = alloc(20), c = alloc(40)
        XCTAssertTrue(owned(a) && owned(b) && owned(c))
        XCTAssertEqual(b - a, 24)
        XCTAssertEqual(c - b, 24)  // 20 rounds up to 8-byte class 24
        XCTAssertEqual(Int(bitPattern: c) % 8, 0)
        XCTAssertEqual(LuaArena.used(block), 88)
    }

    func testAFreedObjectIsReusedForItsSizeClass() {
        let a = alloc(48)
        _ = alloc(16)
        XCTAssertNil(LuaArena.allocate(block, a, 48, 0))
        XCTAssertNotEqual(alloc(56), a)
        XCTAssertEqual(alloc(41), a)
    }

    func testGrowingMovesWithTheContentsAndShrinkingStaysPut() {
        let a = alloc(32)
        for i in 0..<32 { a.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) }
        let grown = LuaArena.allocate(block, a, 32, 200)!
        XCTAssertNotEqual(grown, a)
        XCTAssertEqual((0..<32).map { grown.load(fromByteOffset: $0, as: UInt8.self) }, (0..<32).map(UInt8.init))
        XCTAssertEqual(alloc(32), a, "the old place is free for reuse")
        XCTAssertEqual(LuaArena.allocate(block, grown, 200, 100), grown)
        let large = LuaArena.allocate(block, grown, 100, 4000)!
        XCTAssertFalse(owned(large))
        XCTAssertEqual((0..<32).map { large.load(fromByteOffset: $0, as: UInt8.self) }, (0..<32).map(UInt8.init))
        XCTAssertNil(LuaArena.allocate(block, large, 4000, 0))
    }

    func testLargeRequestsAndAFullBlockUseMalloc() {
        let big = alloc(LuaArena.smallLimit + 1)
        XCTAssertFalse(owned(big))
        XCTAssertNil(LuaArena.allocate(block, big, LuaArena.smallLimit + 1, 0))
        var seen = Set<UnsafeMutableRawPointer>()
        var fromMalloc: [UnsafeMutableRawPointer] = []
        while fromMalloc.count < 10 {
            let p = alloc(64)
            XCTAssertTrue(seen.insert(p).inserted)
            if !owned(p) { fromMalloc.append(p) }
        }
        for p in fromMalloc { XCTAssertNil(LuaArena.allocate(block, p, 64, 0)) }
    }

    var header: UnsafeMutablePointer<LuaArena.Header> { LuaArena.header(block) }

    /// Every byte handed out or given back is counted, from the block or from malloc; a
    /// block's old size is not counted when the pointer is nil (Lua passes a type tag there).
    func testTheAccountCountsEveryByte() {
        let a = LuaArena.allocate(block, nil, 5 /* LUA_TTABLE, a tag */, 40)!
        XCTAssertEqual(header.pointee.used, 40)
        let big = LuaArena.allocate(block, nil, 4, 1000)!
        XCTAssertEqual(header.pointee.used, 1040)
        let grown = LuaArena.allocate(block, big, 1000, 3000)!
        XCTAssertEqual(header.pointee.used, 3040)
        let moved = LuaArena.allocate(block, a, 40, 300)!
        XCTAssertEqual(header.pointee.used, 3300)
        let shrunk = LuaArena.allocate(block, moved, 300, 100)!
        XCTAssertEqual(header.pointee.used, 3100)
        XCTAssertNil(LuaArena.allocate(block, shrunk, 100, 0))
        XCTAssertNil(LuaArena.allocate(block, grown, 3000, 0))
        XCTAssertEqual(header.pointee.used, 0)
    }

    /// Over the budget, growth is refused (and counted) unless host code runs; frees and
    /// shrinks always go through.
    func testGrowthPastTheBudgetIsRefusedOutsideHostMode() {
        LuaArena.setBudget(header, 1000)
        header.pointee.host = 0
        let a = alloc(600)
        XCTAssertNil(LuaArena.allocate(block, nil, 4, 500), "600 + 500 > 1000")
        XCTAssertNil(LuaArena.allocate(block, a, 600, 1200))
        XCTAssertEqual(header.pointee.refusals, 2)
        XCTAssertEqual(header.pointee.used, 600)
        let shrunk = LuaArena.allocate(block, a, 600, 100)!
        XCTAssertEqual(header.pointee.used, 100)
        header.pointee.host = 1
        let b = LuaArena.allocate(block, nil, 4, 5000)!
        XCTAssertEqual(header.pointee.used, 5100, "host mode: the debt is recorded")
        header.pointee.host = 0
        XCTAssertNil(LuaArena.allocate(block, nil, 4, 8))
        XCTAssertNil(LuaArena.allocate(block, b, 5000, 0), "a free is never refused")
        XCTAssertNil(LuaArena.allocate(block, shrunk, 100, 0))
        XCTAssertEqual(header.pointee.used, 0)
    }

    func testAVMsSetUpGoesIntoItsBlock() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let script = LuaScript(options: ScriptOptions(path: "none.lua", output: CapturedOutput().output), eventLoop: group.next())
        // _G's first entries, the bridge's and the lazy globals' metatables (~2 KiB: the state
        // itself is made before the allocator is set, the other globals when first touched).
        XCTAssertGreaterThan(LuaArena.used(script.arena), 1 << 10)
        script.stop()
        _ = try script.ended.wait()
    }
}
