// Bun's allocator as the gateway runs it: why MIMALLOC_PURGE_HOLES=0, and whether this process started with it.

/**
 * Bun's mimalloc, each time a thread's event loop goes idle, hands its heap to a scavenger thread that gives the free
 * blocks inside pages still in use back to the OS (MADV_DONTNEED); the next request touches them again and takes a page
 * fault per 4 KB. A gateway goes idle several times per request (waiting on Redis, then on the upstream), so under load
 * this was a quarter to a third of its CPU per request (bench:ab in turns, 50 connections, static key: JSON 220 → 156
 * µs, 20-chunk streams 378 → 279 µs), while RSS per open stream stayed the same (48–50 KB at 3,000 streams). Whole
 * free pages are still returned after mimalloc's purge delay. Bun reads the variable once, at start: `bun run start`
 * and the Dockerfile set it.
 */
export const ALLOCATOR_ENV = { MIMALLOC_PURGE_HOLES: '0' } as const

/** mimalloc's reading of an option's value: 0, false, off or no turn it off. */
export function purgesHoles(value: string): boolean {
  return !['0', 'FALSE', 'OFF', 'NO'].includes(value.trim().toUpperCase())
}
