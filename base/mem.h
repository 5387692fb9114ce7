/* base/mem.h - process-wide memory settings. */
#ifndef BASE_MEM_H
#define BASE_MEM_H

/** Makes glibc keep freed memory for reuse instead of returning it to the kernel at once: large
 * blocks (request bodies of hundreds of KiB, a replay's decoding arenas, libpq's COPY messages)
 * are allocated and freed over and over, and with glibc's defaults each is a fresh mmap or a
 * trimmed heap, so every one page-faults its memory in again (a third of faradd's CPU in the proxy
 * benchmark; bench/RESULTS.md, "malloc thresholds"). What is kept is bounded by the peak in use.
 * Left alone when GLIBC_TUNABLES sets any glibc.malloc tunable. Call once, first thing in main(). */
void fa_tune_malloc(void);
#endif
