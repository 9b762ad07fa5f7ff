// The provider's mode against the session's: a test session's PaymentIntents live in Stripe's sandbox and only a test publishable key confirms them.
import type { GatewayConfig } from '@meterway/client'

/** `prod` is an alias of `live` (the default). */
export type ProviderMode = 'live' | 'prod' | 'test'

export const normaliseMode = (mode: ProviderMode | undefined): 'live' | 'test' => (mode === 'test' ? 'test' : 'live')

/** Null when they agree; else the sentence the page shows instead of a payment form that could never confirm. */
export function modeMismatch(mode: ProviderMode | undefined, config: Pick<GatewayConfig, 'mode' | 'publishable_key'>): string | null {
  const wanted = normaliseMode(mode)
  if (config.mode !== wanted) {
    const key = config.mode === 'test' ? 'sk_test_…' : 'sk_live_…'
    return `Mode mismatch: this session was minted with a ${config.mode} secret key (${key}) but <MeterwayProvider> has mode="${mode ?? 'live'}". Pass mode="${config.mode}", or mint the session with a ${wanted} key.`
  }
  const keyMode = config.publishable_key?.startsWith('pk_test_') ? 'test' : config.publishable_key?.startsWith('pk_live_') ? 'live' : null
  if (keyMode !== null && keyMode !== wanted) {
    return `Mode mismatch: the gateway's Stripe publishable key for ${wanted} sessions is a ${keyMode} key; payments could not be confirmed.`
  }
  return null
}
