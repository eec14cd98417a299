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
enum LuaArena {
    /// Requests up to this size are small (one free list per 8-byte class).
    static let smallLimit = 256
    /// The first VM's block, before any set-up size is known.
    static let firstCapacity = 48 << 10
    /// Room beyond the last set-up size: differences between copies (their args), and the
    /// first objects of the script.
    static let slack = 256

    struct Header {
        /// End of the block.
        var limit: UInt
        /// Next free byte.
        var next: UInt
        /// Small bytes set-up had to take from malloc because the block was full.
        var overflow: Int
    }

    static let classes = smallLimit / 8
    /// Header, then the free-list heads (one per class, 1...classes), then the objects.
    static let headsOffset = (MemoryLayout<Header>.stride + 7) & ~7
    static let objectsOffset = headsOffset + (classes + 1) * 8

    /// What the last set-up used, objects only (0: none yet).
    private static let setUpSize = NIOLockedValueBox(0)  // VMs are set up on any thread

    /// A new block (nil when out of memory: the VM then uses malloc alone).
    static func make() -> UnsafeMutableRawPointer? {
        let known = setUpSize.withLockedValue { $0 }
        let capacity = known == 0 ? firstCapacity : objectsOffset + known + slack
        guard let block = malloc(capacity) else { return nil }
        let base = UInt(bitPattern: block)
        block.initializeMemory(as: UInt8.self, repeating: 0, count: objectsOffset)
        block.assumingMemoryBound(to: Header.self).pointee = Header(
            limit: base + UInt(capacity), next: base + UInt(objectsOffset), overflow: 0)
        return block
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

    /// The lua_Alloc of a VM with a block (`ud`).
    static let allocate: lua_Alloc = { ud, ptr, osize, nsize in
        let block = ud!
        let header = block.assumingMemoryBound(to: Header.self)
        if let ptr, LuaArena.owns(header, block, ptr) {
            // One of the block's objects: freed into its class, or moved when it grows.
            if nsize == 0 {
                LuaArena.push(block, ptr, osize)
                return nil
            }
            if nsize <= osize { return ptr }
            guard let moved = LuaArena.take(header, block, nsize) else { return nil }
            moved.copyMemory(from: ptr, byteCount: osize)
            LuaArena.push(block, ptr, osize)
            return moved
        }
        if nsize == 0 {
            free(ptr)
            return nil
        }
        if let ptr { return realloc(ptr, nsize) }
        return LuaArena.take(header, block, nsize)
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
