// The one way adapters reach an upstream: a keep-alive JSON POST through a bounded pool of in-flight requests, and
// typed errors (UpstreamNotSentError) for every request that provably never left the gateway.
import { GatewayCapacityError, UpstreamUnreachableError, type UpstreamNotSentError } from '../errors'
import { whenCallEnds } from '../lib/call-end'
import { Semaphore, type NoSlot } from '../lib/semaphore'

export interface UpstreamPoolOptions {
  /** Upstream requests in flight at once, counted from the send until the response body ends. */
  maxConnections: number
  /** How long a request waits for a free slot before it fails with a 503 (it was never sent). */
  waitMs: number
}

export interface UpstreamPoolStats {
  size: number
  /** Requests holding a slot: sending, awaiting headers or streaming their body. */
  active: number
  /** Requests queued for a slot (none of them has been sent). */
  waiting: number
}

// Seconds a client should wait after a 503 for capacity: long enough for a share of 10,000 streams to end.
const CAPACITY_RETRY_AFTER_S = 1

// Failures Bun's fetch reports before a byte of the request is written: the socket or the name never existed.
// Codes checked on Bun 1.4.5 (test/providers/http.test.ts): ECONNREFUSED, ENOTFOUND, EMFILE.
const OUT_OF_LOCAL_RESOURCES: Record<string, string> = {
  EMFILE: 'file descriptors',
  ENFILE: 'file descriptors (system-wide)',
  ProcessFdQuotaExceeded: 'file descriptors',
  SystemFdQuotaExceeded: 'file descriptors (system-wide)',
  EADDRNOTAVAIL: 'local ports',
  ENOBUFS: 'socket buffers',
}
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ConnectionRefused: 'connection refused',
  ENOTFOUND: 'name not resolved',
  EAI_AGAIN: 'name not resolved (temporary DNS failure)',
  EAI_FAIL: 'name not resolved',
  EAI_NONAME: 'name not resolved',
  EAI_NODATA: 'name not resolved',
  DNSException: 'name not resolved',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENETDOWN: 'network down',
  // Certificate checks run during the TLS handshake, before the request is written.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate not trusted',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
}

function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : null
}

/**
 * The typed not-sent error for a fetch rejection, or null when the request may have reached the upstream. Messages go
 * to API clients, so they name the failure, never the upstream's address (it may be an internal host); `cause` keeps
 * Bun's error for the logs.
 */
export function classifyFetchError(error: unknown): UpstreamNotSentError | null {
  const code = errorCode(error)
  if (code === null) return null
  const resource = OUT_OF_LOCAL_RESOURCES[code]
  if (resource) {
    return new GatewayCapacityError(`The gateway is out of ${resource} (${code}) and did not send the request upstream. Retry shortly.`, CAPACITY_RETRY_AFTER_S, error)
  }
  const why = UNREACHABLE[code]
  if (why) return new UpstreamUnreachableError(`The upstream could not be reached: ${why} (${code}). The request was not sent.`, error)
  return null
}

/**
 * Our own pool in front of Bun's. Bun queues fetches past BUN_CONFIG_MAX_HTTP_REQUESTS silently, and a request that
 * times out in that queue looks exactly like one the upstream is slow to answer. Here the queue is ours: a request
 * that gets no slot fails with GatewayCapacityError and is known never to have been sent. Bun's pool is sized above
 * this one at boot (src/lib/fetch-pool.ts) so it never queues.
 */
export class UpstreamPool {
  private readonly slots: Semaphore
  private waitMs: number

  constructor(options: UpstreamPoolOptions) {
    this.slots = new Semaphore(options.maxConnections)
    this.waitMs = options.waitMs
  }

  configure(options: UpstreamPoolOptions): void {
    this.slots.resize(options.maxConnections)
    this.waitMs = options.waitMs
  }

  stats(): UpstreamPoolStats {
    return { size: this.slots.size, active: this.slots.active, waiting: this.slots.waiting }
  }

  /**
   * fetch() with a slot held until the call ends (or the fetch fails); rejects with UpstreamNotSentError when nothing
   * was sent. Contract for callers: end the call once done with the response (endCall on an owned signal, as the
   * exchange's deadline does when its request finishes), or abort the signal. (Wrapping the body to release at its end cost a JS stream in front of every chunk:
   * ~10 µs a 22-chunk stream, measured with bench/run.ts.)
   */
  send(url: string, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
    // A free slot is taken without a wait (or a promise): the usual case.
    if (!init.signal.aborted && this.slots.tryAcquire()) return this.sendHolding(url, init)
    return this.slots.acquire(this.waitMs, init.signal).then((noSlot) => {
      if (noSlot) throw this.noSlotError(noSlot, init.signal)
      return this.sendHolding(url, init)
    })
  }

  private async sendHolding(url: string, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
    const release = this.slotRelease(init.signal)
    try {
      return await fetch(url, init)
    } catch (error) {
      release()
      throw classifyFetchError(error) ?? error
    }
  }

  /**
   * Frees the slot once, when the call ends (an aborted call too, even if nobody reads or cancels the body). Made outside
   * sendHolding: a closure made in an async function shares its frame, and this one lives as long as the call, so it
   * would keep the request's serialised body (a whole prompt) alive until a stream's last byte.
   */
  private slotRelease(signal: AbortSignal): () => void {
    let released = false
    let listening = false
    const release = () => {
      if (released) return
      released = true
      if (listening) signal.removeEventListener('abort', release)
      this.slots.release()
    }
    if (!whenCallEnds(signal, release)) {
      listening = true
      signal.addEventListener('abort', release, { once: true })
    }
    return release
  }

  private noSlotError(reason: NoSlot, signal: AbortSignal): GatewayCapacityError {
    const { size, active } = this.stats()
    const message =
      reason === 'timeout'
        ? `The gateway's upstream connections are all in use (${active} of ${size}); the request waited ${this.waitMs} ms and was not sent. Retry shortly.`
        : `The request was cancelled while it waited for an upstream connection (${active} of ${size} in use); it was not sent.`
    return new GatewayCapacityError(message, CAPACITY_RETRY_AFTER_S, reason === 'aborted' ? signal.reason : undefined)
  }
}

/** The process-wide pool every adapter sends through; sized at boot by configureUpstreamPool. */
export const upstreamPool = new UpstreamPool({ maxConnections: 10_000, waitMs: 1_000 })

export function configureUpstreamPool(options: UpstreamPoolOptions): void {
  upstreamPool.configure(options)
}

export function postJson(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Response> {
  return upstreamPool.send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    // Serialised once, by the adapter's prepare(), before admission.
    body,
    signal,
    // A redirect from a provider API is unexpected; surface it instead of re-sending the body elsewhere.
    redirect: 'manual',
  })
}
