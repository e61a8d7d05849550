#include "otto_malloc_tuning.h"

static int tuned = 0;

#if defined(__linux__) && defined(__GLIBC__)
/// Runs before main, while the process has one thread:
/// - two shared arenas instead of one per thread (up to 8 per core): memory freed in an arena is rarely given
///   back, so with many arenas a busy server's resident size keeps growing;
/// - allocations of 128 KiB and more (a request body, a page of rows, a long answer) in their own mappings, given
///   back when freed. Setting the threshold also stops glibc from raising it by itself after the first large
///   free, which would otherwise keep such memory in the heap.
__attribute__((constructor)) static void otto_malloc_defaults(void) {
    tuned = mallopt(M_ARENA_MAX, 2) && mallopt(M_MMAP_THRESHOLD, 128 * 1024) && mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}
#endif

int otto_malloc_tuned(void) { return tuned; }
