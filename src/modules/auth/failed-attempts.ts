// Failed credential attempts per client address, in this process's memory: past the limit within a window, the address is refused until the window ends.
import { TooManyFailedAttemptsError } from '../../errors'
import type { Authenticator } from './service'

export interface FailedAttemptsOptions {
  /** Wrong keys or admin tokens an address may present per window; 0 turns the limit off. */
  limit: number
  windowMs: number
  /** Addresses remembered at most, so a flood of addresses cannot grow memory (~100 bytes each). */
  maxAddresses?: number
}

interface Window {
  failures: number
  endsAt: number
}

const DEFAULT_MAX_ADDRESSES = 100_000

/**
 * A fixed window per address, opened by its first failure. Once `limit` failures fall in it, every credential from
 * that address is refused (429 with Retry-After) until it ends, a right one too: if a right key still passed, the
 * block would answer every guess with "wrong" or "right" as before, only slower to read. Per process: N API
 * processes allow N × limit failures per window in total.
 */
export class FailedAttempts {
  private readonly windows = new Map<string, Window>()
  private readonly maxAddresses: number

  constructor(private readonly options: FailedAttemptsOptions) {
    this.maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES
  }

  /** Throws TooManyFailedAttemptsError while the address is blocked; a null address (no socket) is never limited. */
  assertAllowed(address: string | null, now = Date.now()): void {
    if (address === null || this.options.limit === 0) return
    const window = this.windows.get(address)
    if (!window) return
    if (window.endsAt <= now) {
      this.windows.delete(address)
      return
    }
    if (window.failures >= this.options.limit) throw new TooManyFailedAttemptsError(Math.max(1, Math.ceil((window.endsAt - now) / 1000)))
  }

  recordFailure(address: string | null, now = Date.now()): void {
    if (address === null || this.options.limit === 0) return
    let window = this.windows.get(address)
    if (!window || window.endsAt <= now) {
      this.windows.delete(address)
      this.makeRoom(now)
      window = { failures: 0, endsAt: now + this.options.windowMs }
      this.windows.set(address, window)
    }
    window.failures++
  }

  /** Addresses currently remembered (tests and metrics). */
  get size(): number {
    return this.windows.size
  }

  private makeRoom(now: number): void {
    if (this.windows.size < this.maxAddresses) return
    // Windows are inserted as they open and all last windowMs, so the Map's order is the order they end in.
    let drop = Math.max(1, Math.floor(this.maxAddresses / 10))
    for (const [address, window] of this.windows) {
      if (window.endsAt > now && drop <= 0) break
      this.windows.delete(address)
      drop--
    }
  }
}

/** The authenticator, refusing blocked addresses before any lookup and counting each key it does not know. */
export function limitFailedAttempts(authenticate: Authenticator, attempts: FailedAttempts): Authenticator {
  return (apiKey, clientAddress = null) => {
    // Resolving an address costs a few µs; while no address has failed lately there is nothing to check it against.
    let address: string | null | undefined
    const addressOf = () => (address ??= typeof clientAddress === 'function' ? clientAddress() : clientAddress)
    if (attempts.size > 0) attempts.assertAllowed(addressOf())
    const found = authenticate(apiKey, clientAddress)
    if (found instanceof Promise) {
      return found.then((principal) => {
        if (!principal) attempts.recordFailure(addressOf())
        return principal
      })
    }
    if (!found) attempts.recordFailure(addressOf())
    return found
  }
}
