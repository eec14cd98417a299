#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLua
import NIOConcurrencyHelpers

/// Where a VM's small objects go first. Setting up a VM (the standard libraries, the rtlua
/// globals) makes several hundred objects of 24 to 256 bytes (20 KiB) that live as long as
/// the VM. malloc adds a header to each and rounds it up to 16 bytes, about 12 bytes per
/// object (5 KiB per VM); here they
/// are laid end to end, 8-byte aligned, in one block per VM. The block is sized by what the
/// previous VM's set-up used (plus a little), so nothing is reserved in vain; once it is
/// full, the VM allocates from malloc as usual, and the block's freed objects are reused
/// for requests of the same 8-byte size class.
///
/// One block per VM, used only by the thread running the VM at the time (like the VM).
/// Objects are told apart by address: inside the block or from malloc.
///
/// The block's header (`shim_ArenaHeader`, shared with the C trampoline) is also the VM's
/// memory account: `used` counts every byte the VM holds (what Lua asked for, whether it
/// came from the block or from malloc), and growth past `budget` is refused (Lua then
/// collects and tries once more before it raises "not enough memory"), except in host
/// mode (shim.h).
enum LuaArena {
    /// Requests up to this size are small (one free list per 8-byte class).
    static let smallLimit = Int(SHIM_ARENA_SMALL)
    /// The first VM's block, before any set-up size is known.
    static let firstCapacity = 48 << 10
    /// Room beyond the last set-up size: differences between copies (their args), and the
    /// first objects of the script.
    static let slack = 256

    typealias Header = shim_ArenaHeader

    /// Header, then the free-list heads (one per 8-byte class), then the objects (shim.h).
    static let objectsOffset = Int(shim_arena_objects_offset())

    /// What the last set-up used, objects only (0: none yet).
    private static let setUpSize = NIOLockedValueBox(0)  // VMs are set up on any thread

    /// A new block, in host mode with no budget (nil only when not even its header can be
    /// had; when the objects' room cannot, the block is the header alone and the VM's objects
    /// come from malloc).
    static func make() -> UnsafeMutableRawPointer? {
        let known = setUpSize.withLockedValue { $0 }
        var capacity = known == 0 ? firstCapacity : objectsOffset + known + slack
        var block = malloc(capacity)
        if block == nil {
            capacity = objectsOffset
            block = malloc(capacity)
        }
        guard let block else { return nil }
        let base = UInt(bitPattern: block)
        block.initializeMemory(as: UInt8.self, repeating: 0, count: objectsOffset)
        var header = Header()  // zeroes: no lazy globals, writer or format yet (lazy.h)
        header.limit = base + UInt(capacity)
        header.next = base + UInt(objectsOffset)
        header.left = .max
        header.budget = .max
        header.host = SHIM_HOST
        block.assumingMemoryBound(to: Header.self).pointee = header
        return block
    }

    @inline(__always)
    static func header(_ block: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Header> {
        block.assumingMemoryBound(to: Header.self)
    }

    /// Sets the budget, keeping the count of bytes held.
    static func setBudget(_ header: UnsafeMutablePointer<Header>, _ budget: Int) {
        let used = header.pointee.used
        header.pointee.budget = budget
        header.pointee.used = used
    }

    /// Notes how much the VM's set-up used, for sizing the next block.
    static func finishSetUp(_ block: UnsafeMutableRawPointer) {
        let header = block.assumingMemoryBound(to: Header.self).pointee
        let size = Int(header.next - UInt(bitPattern: block)) - objectsOffset + header.overflow
        setUpSize.withLockedValue { $0 = size }
        block.assumingMemoryBound(to: Header.self).pointee.overflow = -1
    }

    /// Bytes of objects handed out from the block so far (holes included).
    static func used(_ block: UnsafeMutableRawPointer) -> Int {
        Int(block.assumingMemoryBound(to: Header.self).pointee.next - UInt(bitPattern: block)) - objectsOffset
    }

    /// Frees the block once its VM is closed.
    static func release(_ block: UnsafeMutableRawPointer) {
        free(block)
    }

    /// The lua_Alloc of a VM with a block (`ud`): `shim_arena_alloc` (shim.h), in C so that
    /// Lua's every allocation is one plain call. Objects up to `smallLimit` bytes come from the
    /// block's free lists or its free room, others from malloc; growth past the budget is
    /// refused while Lua code runs (and for a finalizer's own Lua code), never a free or a
    /// shrink; a failed malloc in the body of a Swift function ends the process with a clear
    /// line (it could not take Lua's error).
    static let allocate: lua_Alloc = shim_arena_alloc

    /// Whether `ptr` is one of the block's objects (rather than from malloc).
    static func owns(_ header: UnsafeMutablePointer<Header>, _ block: UnsafeMutableRawPointer, _ ptr: UnsafeMutableRawPointer) -> Bool {
        let p = UInt(bitPattern: ptr)
        return p >= UInt(bitPattern: block) + UInt(objectsOffset) && p < header.pointee.limit
    }
}

extension shim_ArenaHeader {
    /// Bytes the VM holds (`collectgarbage("count")` in bytes).
    var used: Int {
        get { budget &- left }
        set { left = budget &- newValue }
    }
}
