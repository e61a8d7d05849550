#ifndef OTTO_MALLOC_TUNING_H
#define OTTO_MALLOC_TUNING_H

#include <stddef.h>
// __GLIBC__ comes from a libc header: without one included first, the checks below would always fail.
#include <stdlib.h>

// glibc malloc tuning for the long-running server. The settings themselves (two arenas, large allocations in
// their own mappings) are made by a constructor in otto_malloc_tuning.c, before any thread allocates: glibc fixes
// its arena limit at the first arena it creates, so a `mallopt` from Swift code (which already runs on the
// concurrency pool's threads) would be too late.

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>

/// Bytes that glibc holds free inside its arenas (freed by the program, not yet given back to the system).
static inline size_t otto_free_arena_bytes(void) {
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
    return mallinfo2().fordblks;
#else
    return (size_t)(unsigned int)mallinfo().fordblks;
#endif
}

/// Gives the free memory at the top of the heap and in free chunks back to the system, after a burst of
/// allocations that will not come back soon.
static inline int otto_trim_free_memory(void) { return malloc_trim(0); }
#else
static inline size_t otto_free_arena_bytes(void) { return 0; }
static inline int otto_trim_free_memory(void) { return 0; }
#endif

/// Whether the constructor applied Otto's malloc settings (always false off glibc).
int otto_malloc_tuned(void);

#endif
