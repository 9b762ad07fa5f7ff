// Requests admitted by the request rate alone, from a lease on the subject's request bucket: one Redis call for many requests of a busy subject.
import type { HotRedis, KeyList } from '../lib/hot-redis'

/** What an admission by rate answers with: the verdict, the figures of the rate-limit headers, and when to retry. */
export interface RateVerdict {
  verdict: 'ok' | 'rpm'
  rpmLeft: number
  rpmFullMs: number
  retryMs: number
}

/** A lease's unused requests are given back with the next lease once it is this old (they are held from other gateways until then). */
const LEASE_TTL_MS = 100
/** A lease is sized to what the last one served in this long. */
const LEASE_SPAN_MS = 20
const MAX_LEASE = 256
/** Subjects whose lease is kept; past this all are dropped (their unused requests refill with the bucket). */
const MAX_SUBJECTS = 10_000

/**
 * The most requests one lease takes: a hundredth of the limit (at most 256). Under 2, a subject is not leased at all:
 * every request is its own round trip, exactly as admit-rate-1 admits it.
 */
export function leaseCap(rpm: number): number {
  return Math.min(MAX_LEASE, Math.floor(rpm / 100))
}

/** One subject's lease. A class: one per busy subject, touched on every request. */
class Lease {
  /** Requests granted and not yet admitted. */
  tokens = 0
  /** Requests the last call granted. */
  granted = 0
  /** The bucket's whole requests left after that grant, and ms until it is full again, as Redis said. */
  remaining = 0
  fullMs = 0
  retryMs = 0
  /** The last call granted fewer than it asked: the bucket was empty. */
  short = false
  grantedAt = 0
  expiresAt = 0
  /** Requests the next call asks for. */
  next = 1
  pending: Promise<void> | null = null
}

/**
 * Never more requests than the limit in all: a lease's requests come out of the shared bucket (lease-rate-1) before
 * any of them is admitted, so gateways leasing from one bucket admit no more than one admitting request by request.
 * What a lease costs is the other way: requests it holds and has not used are not available to other gateways until
 * it gives them back (with its next lease, or never if this subject sends no more requests here), at most
 * leaseCap(rpm), a hundredth of the limit. A quiet subject asks for one request a call, so it is admitted as before.
 */
export class RateLeases {
  private readonly leases = new Map<string, Lease>()

  constructor(private readonly redis: HotRedis) {}

  /** A request from this subject's lease: synchronous while the lease has requests left; else after the next lease call. */
  take(subject: string, keys: KeyList, rpm: number): RateVerdict | Promise<RateVerdict> {
    let lease = this.leases.get(subject)
    if (!lease) {
      if (this.leases.size >= MAX_SUBJECTS) this.leases.clear()
      lease = new Lease()
      this.leases.set(subject, lease)
    }
    if (lease.tokens > 0 && performance.now() < lease.expiresAt) return admitFrom(lease, rpm)
    return this.takeRenewed(lease, keys, rpm)
  }

  private async takeRenewed(lease: Lease, keys: KeyList, rpm: number): Promise<RateVerdict> {
    for (;;) {
      if (lease.tokens > 0 && performance.now() < lease.expiresAt) return admitFrom(lease, rpm)
      if (lease.pending) {
        // Requests arriving while a lease call is out share its answer, in the order they came.
        await lease.pending
        if (lease.tokens > 0) return admitFrom(lease, rpm)
        if (lease.short) return { verdict: 'rpm', rpmLeft: 0, rpmFullMs: lease.fullMs, retryMs: lease.retryMs || Math.ceil(60_000 / rpm) }
        continue
      }
      lease.pending = this.renew(lease, keys, rpm)
    }
  }

  private async renew(lease: Lease, keys: KeyList, rpm: number): Promise<void> {
    const back = lease.tokens
    const used = lease.granted - back
    const cap = leaseCap(rpm)
    const now = performance.now()
    if (lease.grantedAt > 0) lease.next = Math.max(1, Math.min(cap, Math.ceil((used * LEASE_SPAN_MS) / Math.max(now - lease.grantedAt, 0.05))))
    const wanted = lease.next
    lease.tokens = 0
    lease.granted = 0
    try {
      const [, rpmLeft, rpmFullMs, , , retryMs, granted] = (await this.redis.script('lease-rate-1', keys, [Date.now(), rpm, wanted, back])) as [string, number, number, number, number, number, number]
      const at = performance.now()
      lease.tokens = lease.granted = granted
      lease.remaining = rpmLeft
      lease.fullMs = rpmFullMs
      lease.retryMs = retryMs
      lease.short = granted < wanted
      lease.grantedAt = at
      lease.expiresAt = at + LEASE_TTL_MS
    } finally {
      lease.pending = null
    }
  }
}

/** One request from the lease: what is left is the bucket's remainder plus the lease's unused requests. */
function admitFrom(lease: Lease, rpm: number): RateVerdict {
  const unused = --lease.tokens
  return { verdict: 'ok', rpmLeft: lease.remaining + unused, rpmFullMs: Math.max(0, Math.ceil(lease.fullMs - (unused * 60_000) / rpm)), retryMs: 0 }
}
