// The facilitator's signer for `upto` payments, read from its /supported (kinds[].extra.facilitatorAddress) and kept a while.
import { HTTPFacilitatorClient } from '@x402/core/http'
import type { FacilitatorSettings } from './facilitator'

/** How long an answer (or a failure) is kept before /supported is asked again. */
const KEEP_MS = 5 * 60_000
const RETRY_MS = 10_000

/**
 * The address a client's Permit2 witness must name (only it may settle the permit) for upto on `network`; null when
 * the facilitator has no upto signer there or cannot be asked (the 402 then offers exact only).
 */
export type UptoSigner = (network: string) => Promise<string | null>

export function uptoSigner(settings: FacilitatorSettings): UptoSigner {
  const client = new HTTPFacilitatorClient({
    url: settings.url,
    timeoutMs: settings.timeoutMs,
    ...(Object.keys(settings.headers).length > 0 ? { createAuthHeaders: async () => ({ verify: { ...settings.headers }, settle: { ...settings.headers }, supported: { ...settings.headers } }) } : {}),
  })
  let cached: { at: number; keepMs: number; signers: Map<string, string> } | null = null
  let asking: Promise<Map<string, string>> | null = null

  async function ask(): Promise<Map<string, string>> {
    try {
      const supported = await client.getSupported()
      const signers = new Map<string, string>()
      for (const kind of supported.kinds) {
        const address = (kind.extra as { facilitatorAddress?: unknown } | undefined)?.facilitatorAddress
        if (kind.scheme === 'upto' && kind.x402Version === 2 && typeof address === 'string') signers.set(kind.network, address)
      }
      cached = { at: Date.now(), keepMs: KEEP_MS, signers }
    } catch {
      cached = { at: Date.now(), keepMs: RETRY_MS, signers: new Map() }
    }
    return cached.signers
  }

  return async (network) => {
    const fresh = cached && Date.now() - cached.at < cached.keepMs ? cached.signers : await (asking ??= ask().finally(() => (asking = null)))
    return fresh.get(network) ?? null
  }
}
