import CMallocTuning
import Foundation
import Testing

@testable import OttoCore

/// Freed memory goes back to the system: the settings are in force from the process's start, and the reclaimer
/// hands back what a burst of allocations left free in the arenas.
@Suite struct MemoryReclaimerTests {
    /// The resident size of this process, from /proc.
    static func residentBytes() throws -> Int {
        let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return (Int(statm[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test func mallocIsTunedBeforeAnyThreadAllocates() {
        // Set by the C constructor; a mallopt from Swift would come after the concurrency pool's first arena.
        #expect(otto_malloc_tuned() == 1)
    }

    @Test func aBurstOfFreedChunksIsGivenBackToTheSystem() throws {
        let chunk = 32 * 1024  // below the mmap threshold: these live in an arena
        let count = 1024  // 32 MiB
        var chunks: [UnsafeMutableRawPointer] = []
        var pins: [UnsafeMutableRawPointer] = []
        chunks.reserveCapacity(count)
        pins.reserveCapacity(count)
        for _ in 0..<count {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 8)
            pointer.initializeMemory(as: UInt8.self, repeating: 0x5A, count: chunk)
            chunks.append(pointer)
            // A small live allocation after each chunk: the freed space is in the middle of the heap, where
            // glibc's own trimming (at the top) never reaches.
            pins.append(UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8))
        }
        defer { for pin in pins { pin.deallocate() } }
        for pointer in chunks { pointer.deallocate() }

        #expect(otto_free_arena_bytes() >= count * chunk / 2, "the freed chunks are held by malloc")
        let before = try Self.residentBytes()
        let reclaimer = MemoryReclaimer(threshold: 8 * 1024 * 1024)
        #expect(reclaimer.reclaimIfWorthIt())
        let after = try Self.residentBytes()
        #expect(before - after >= 16 * 1024 * 1024, "resident \(before >> 20) MiB, after trimming \(after >> 20) MiB")
        // With little left free there is nothing to do.
        #expect(!MemoryReclaimer(threshold: Int.max).reclaimIfWorthIt())
    }
}
