// Bun's allocator as the gateway runs it: why MIMALLOC_PURGE_HOLES=0 and MIMALLOC_PURGE_DELAY=60000, and whether this process started with them.

/**
 * Bun's mimalloc gives memory back to the OS (MADV_DONTNEED) eagerly, and the next request to use it takes a page fault
 * per 4 KB, which on this VM costs tens of µs each (a 7 KB upstream body drained into a fresh buffer: ~43 µs rather
 * than ~4). Two settings keep freed memory for reuse:
 *
 * - `MIMALLOC_PURGE_HOLES=0`: each time a thread's event loop goes idle, a scavenger thread otherwise discards the free
 *   blocks inside pages still in use. A gateway idles several times per request (waiting on Redis, then on the
 *   upstream): a quarter to a third of its CPU under load (bench:ab in turns, 50 connections, static key: JSON 220 →
 *   156 µs, 20-chunk streams 378 → 279 µs).
 * - `MIMALLOC_PURGE_DELAY=60000`: whole free pages go back after a minute unused rather than mimalloc's default 10 ms,
 *   so a gateway under traffic stops faulting them back. 10 s first (bench:ab --ttfb: 5.7 → 0.8 minor faults a request
 *   at concurrency 1, −0.17 ms to first byte; in turns under load 224 → 169 µs a JSON request); but traffic with pauses
 *   of more than 10 s (the bench's turns, or a quiet spell) still paid for it: a stream answered whole took 0.4–2.3
 *   faults, most of them in Bun's fetch thread, whose body buffers go back to it only when the collector frees them.
 *   60 s, in turns (bench:ab --kind stream, 4 rounds): prepaid 313 → 264 µs, 0.6–2.3 → 0.1–0.2 faults; never
 *   purging (`-1`) the same CPU, 0.03 faults, but it never gives a spike's memory back; 60 s still does.
 *
 * Bun reads both once, at start: `bun run start` and the Dockerfile set them.
 */
export const ALLOCATOR_ENV = { MIMALLOC_PURGE_HOLES: '0', MIMALLOC_PURGE_DELAY: '60000' } as const

/** mimalloc's reading of an option's value: 0, false, off or no turn it off. */
export function purgesHoles(value: string): boolean {
  return !['0', 'FALSE', 'OFF', 'NO'].includes(value.trim().toUpperCase())
}

/** Whether mimalloc, started with this MIMALLOC_PURGE_DELAY ('' when unset), returns free pages sooner than ALLOCATOR_ENV's. */
export function purgesSoon(value: string): boolean {
  const delayMs = Number.parseInt(value.trim(), 10)
  if (Number.isNaN(delayMs)) return true
  return delayMs >= 0 && delayMs < Number(ALLOCATOR_ENV.MIMALLOC_PURGE_DELAY)
}

/** The allocator settings this process started without, as `NAME=value` to start it with (none: all set). */
export function missingAllocatorSettings(started: { purgeHoles: string; purgeDelay: string }): string[] {
  const missing: string[] = []
  if (purgesHoles(started.purgeHoles)) missing.push(`MIMALLOC_PURGE_HOLES=${ALLOCATOR_ENV.MIMALLOC_PURGE_HOLES}`)
  if (purgesSoon(started.purgeDelay)) missing.push(`MIMALLOC_PURGE_DELAY=${ALLOCATOR_ENV.MIMALLOC_PURGE_DELAY}`)
  return missing
}
