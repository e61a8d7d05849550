#ifndef OTTO_MALLOC_TUNING_H
#define OTTO_MALLOC_TUNING_H

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>

/// Limits glibc to `count` malloc arenas. By default every thread that allocates may get its own arena (up to
/// 8 per core), and memory freed there is rarely returned, so a busy server's resident size keeps growing.
static inline int otto_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }

/// Serves allocations of `bytes` and more (a large response body, a page of rows) from their own mappings and
/// returns them to the system when freed. Setting it also stops glibc from raising the threshold by itself,
/// which otherwise keeps such memory in the heap after the first large free.
static inline int otto_release_large_allocations(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes) && mallopt(M_TRIM_THRESHOLD, bytes);
}

/// Gives the free memory at the top of the heap and in free chunks back to the system, after a burst of
/// allocations (a catalog refresh) that will not come back soon.
static inline int otto_trim_free_memory(void) { return malloc_trim(0); }
#else
static inline int otto_trim_free_memory(void) { return 0; }
static inline int otto_release_large_allocations(int bytes) { (void)bytes; return 0; }
static inline int otto_limit_malloc_arenas(int count) { (void)count; return 0; }
#endif

#endif
