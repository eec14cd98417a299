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
    static let smallLimit = 256
    /// The first VM's block, before any set-up size is known.
    static let firstCapacity = 48 << 10
    /// Room beyond the last set-up size: differences between copies (their args), and the
    /// first objects of the script.
    static let slack = 256

    typealias Header = shim_ArenaHeader

    static let classes = smallLimit / 8
    /// Header, then the free-list heads (one per class, 1...classes), then the objects.
    static let headsOffset = (MemoryLayout<Header>.stride + 7) & ~7
    static let objectsOffset = headsOffset + (classes + 1) * 8

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

    /// The lua_Alloc of a VM with a block (`ud`). With `ptr` nil, `osize` is a type tag,
    /// not a size: the block is new.
    static let allocate: lua_Alloc = { ud, ptr, osize, nsize in
        let block = ud!
        let header = block.assumingMemoryBound(to: Header.self)
        let delta = ptr == nil ? nsize : nsize &- osize
        let left = header.pointee.left &- delta
        // Only growth can be refused: Lua counts on frees and shrinks never failing.
        if left < 0, LuaArena.refuses(header, delta) { return nil }
        let result: UnsafeMutableRawPointer?
        if let ptr, LuaArena.owns(header, block, ptr) {
            // One of the block's objects: freed into its class, or moved when it grows.
            if nsize == 0 {
                LuaArena.push(block, ptr, osize)
                header.pointee.left = left
                return nil
            }
            if nsize <= osize {
                result = ptr
            } else {
                guard let moved = LuaArena.take(header, block, nsize) else { return LuaArena.failed(header, nsize) }
                moved.copyMemory(from: ptr, byteCount: osize)
                LuaArena.push(block, ptr, osize)
                result = moved
            }
        } else if nsize == 0 {
            free(ptr)
            header.pointee.left = left
            return nil
        } else {
            guard let p = ptr == nil ? LuaArena.take(header, block, nsize) : realloc(ptr, nsize) else {
                return LuaArena.failed(header, nsize)
            }
            result = p
        }
        header.pointee.left = left
        return result
    }

    /// Whether an allocation past the budget is refused: always while Lua code runs, and in
    /// host mode only for a finalizer's own Lua code (shim.h).
    /// Counts a refusal. Out of line: only called past the budget.
    @inline(never)
    static func refuses(_ header: UnsafeMutablePointer<Header>, _ delta: Int) -> Bool {
        guard delta > 0 else { return false }
        let refused: Bool
        switch header.pointee.host {
        case SHIM_ENFORCED: refused = true
        case SHIM_HOST_BODY_IN_GC: refused = false
        default: refused = shim_in_finalizer(header) != 0
        }
        if refused { header.pointee.refusals &+= 1 }
        return refused
    }

    /// malloc itself failed. Lua code gets its "not enough memory" error, and so does host
    /// code outside Lua (Lua then calls the panic handler, which says so before the process
    /// ends); the body of a Swift function cannot take one (the error would unwind its
    /// frames), so the process ends here with a clear line.
    @inline(never)
    static func failed(_ header: UnsafeMutablePointer<Header>, _ size: Int) -> UnsafeMutableRawPointer? {
        let host = header.pointee.host
        if host == SHIM_ENFORCED || host == SHIM_HOST || (host == SHIM_HOST_BODY && shim_in_finalizer(header) != 0) { return nil }
        let text = "rtlua: out of memory: malloc of \(size) bytes failed in host code (the script VM holds \(header.pointee.used) bytes)\n"
        ScriptLogger.writeStderr(text)
        abort()
    }

    @inline(__always)
    static func owns(_ header: UnsafeMutablePointer<Header>, _ block: UnsafeMutableRawPointer, _ ptr: UnsafeMutableRawPointer) -> Bool {
        let p = UInt(bitPattern: ptr)
        return p >= UInt(bitPattern: block) + UInt(objectsOffset) && p < header.pointee.limit
    }

    @inline(__always)
    static func heads(_ block: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        (block + headsOffset).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }

    /// A new object of `size` bytes: a freed one of its class, else the next bytes of the
    /// block, else malloc.
    @inline(__always)
    static func take(_ header: UnsafeMutablePointer<Header>, _ block: UnsafeMutableRawPointer, _ size: Int) -> UnsafeMutableRawPointer? {
        guard size <= smallLimit else { return malloc(size) }
        let cls = (size + 7) >> 3
        let heads = heads(block)
        if let free = heads[cls] {
            heads[cls] = free.load(as: UnsafeMutableRawPointer?.self)
            return free
        }
        let next = header.pointee.next
        let end = next + UInt(cls << 3)
        if end <= header.pointee.limit {
            header.pointee.next = end
            return UnsafeMutableRawPointer(bitPattern: next)
        }
        if header.pointee.overflow >= 0 { header.pointee.overflow += cls << 3 }
        return malloc(size)
    }

    /// Puts a block object of `size` bytes on its class's free list.
    @inline(__always)
    static func push(_ block: UnsafeMutableRawPointer, _ ptr: UnsafeMutableRawPointer, _ size: Int) {
        let cls = (size + 7) >> 3
        let heads = heads(block)
        ptr.storeBytes(of: heads[cls], as: UnsafeMutableRawPointer?.self)
        heads[cls] = ptr
    }
}

extension shim_ArenaHeader {
    /// Bytes the VM holds (`collectgarbage("count")` in bytes).
    var used: Int {
        get { budget &- left }
        set { left = budget &- newValue }
    }
}
