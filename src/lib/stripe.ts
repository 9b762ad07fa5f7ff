// The Stripe API client (official SDK), built once at boot from Config.stripe; null when Stripe is not configured.
import Stripe from 'stripe'
import { ConfigError, type Config } from '../config'

/** Per-attempt limit: an agent waits on checkout, and Stripe answers in well under a second when healthy. */
const DEFAULT_TIMEOUT_MS = 10_000
/** The SDK sends an Idempotency-Key on every POST, so its retries of 5xx, 409 and dropped connections are safe. */
const DEFAULT_MAX_NETWORK_RETRIES = 2

export type StripeClientOverrides = Partial<Pick<Stripe.StripeConfig, 'timeout' | 'maxNetworkRetries'>>

/** host/port/protocol from STRIPE_API_BASE (a local fake or a proxy); the SDK's own path (/v1/) is always used. */
function addressOf(apiBase: string): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  const url = new URL(apiBase)
  if (url.pathname !== '/' || url.search) {
    throw new ConfigError(`STRIPE_API_BASE: must be a bare origin such as http://127.0.0.1:12111 (the SDK adds /v1/); got a path`)
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http'
  return { host: url.hostname, port: url.port || (protocol === 'https' ? 443 : 80), protocol }
}

export function createStripeClient(settings: Config['stripe'], overrides: StripeClientOverrides = {}): Stripe | null {
  if (!settings.secretKey) return null
  return new Stripe(settings.secretKey, {
    maxNetworkRetries: overrides.maxNetworkRetries ?? DEFAULT_MAX_NETWORK_RETRIES,
    timeout: overrides.timeout ?? DEFAULT_TIMEOUT_MS,
    appInfo: { name: 'meterway' },
    ...(settings.apiBase ? addressOf(settings.apiBase) : {}),
  })
}
