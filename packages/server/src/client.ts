// The Meterway class: one secret key (sk_live_… or sk_test_…), the gateway's URL, and a resource per API area.
import { connectResource } from './connect'
import { customersResource } from './customers'
import { MeterwayError } from './errors'
import type { FetchLike, Transport } from './http'
import { sessionsResource } from './sessions'
import { walletsResource } from './wallets'
import { webhookEndpointsResource } from './webhook-endpoints'
import { webhooksResource } from './webhooks'

export interface MeterwayOptions {
  /** The project's platform secret key. Keep it on your backend. */
  secretKey: string
  /** Your gateway's origin (Meterway is self-hosted); default http://localhost:8080, the gateway's default port. */
  baseUrl?: string
  /** Another fetch (a proxy agent, a test double); default globalThis.fetch. */
  fetch?: FetchLike
  /** Per call; default 30 s. */
  timeoutMs?: number
}

export const DEFAULT_BASE_URL = 'http://localhost:8080'
const DEFAULT_TIMEOUT_MS = 30_000

export class Meterway {
  readonly sessions: ReturnType<typeof sessionsResource>
  readonly wallets: ReturnType<typeof walletsResource>
  readonly customers: ReturnType<typeof customersResource>
  readonly webhookEndpoints: ReturnType<typeof webhookEndpointsResource>
  readonly webhooks: ReturnType<typeof webhooksResource>
  readonly connect: ReturnType<typeof connectResource>

  constructor(options: MeterwayOptions) {
    if (!options || typeof options.secretKey !== 'string' || options.secretKey === '') {
      throw new MeterwayError({ status: 0, code: 'invalid_argument', param: 'secretKey', message: 'new Meterway({ secretKey }) needs your platform secret key (sk_live_… or sk_test_…)' })
    }
    const fetcher = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    const transport: Transport = {
      baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
      secretKey: options.secretKey,
      fetch: fetcher,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    }
    this.sessions = sessionsResource(transport)
    this.wallets = walletsResource(transport)
    this.customers = customersResource(transport)
    this.webhookEndpoints = webhookEndpointsResource(transport)
    this.webhooks = webhooksResource()
    this.connect = connectResource(transport)
  }
}
