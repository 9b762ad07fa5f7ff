// What a paid request must pay, as x402 writes it: v2 PaymentRequirements per accepted network, the PaymentRequired answer, and their v1 forms.
import type { PaymentRequired, PaymentRequirements, PaymentRequirementsV1, PaymentRequiredV1 } from '@x402/core/types'
import { usdcOn, type X402Asset } from './assets'

/** Where payments go and on which networks: the config file's accepts and wallets, resolved once. */
export interface PaymentTerms {
  /** One per accepted network, in the config's order. */
  options: readonly { asset: X402Asset; payTo: `0x${string}` }[]
  /** How long a signed payment may take to arrive (the client signs validBefore = now + this). */
  maxTimeoutSeconds: number
}

/** Builds the terms from the config's accepts (network names) and wallets; networks without USDC or wallet are skipped. */
export function paymentTerms(
  accepts: readonly { network: string }[],
  wallets: readonly { network: string; address: string }[],
  maxTimeoutSeconds: number,
): PaymentTerms {
  const options = accepts.flatMap((accept) => {
    const asset = usdcOn(accept.network)
    const wallet = wallets.find((w) => w.network === asset?.name)
    return asset && wallet ? [{ asset, payTo: wallet.address as `0x${string}` }] : []
  })
  return Object.freeze({ options: Object.freeze(options), maxTimeoutSeconds })
}

/** The v2 requirements for one price (USDC atomic units), one per accepted network. */
export function requirementsFor(terms: PaymentTerms, amount: bigint): PaymentRequirements[] {
  return terms.options.map(({ asset, payTo }) => ({
    scheme: 'exact',
    network: asset.caip2,
    asset: asset.address,
    amount: amount.toString(),
    payTo,
    maxTimeoutSeconds: terms.maxTimeoutSeconds,
    extra: { name: asset.domain.name, version: asset.domain.version },
  }))
}

/** The 402's PAYMENT-REQUIRED content (v2). */
export function paymentRequired(resource: { url: string; description?: string; mimeType?: string }, accepts: PaymentRequirements[], error?: string): PaymentRequired {
  return { x402Version: 2, ...(error ? { error } : {}), resource, accepts }
}

/** One requirement in v1 form (`maxAmountRequired`, the network's name, the resource inline). */
export function toV1(requirements: PaymentRequirements, resource: { url: string; description?: string; mimeType?: string }): PaymentRequirementsV1 {
  const asset = usdcOn(requirements.network)
  return {
    scheme: requirements.scheme,
    network: (asset?.name ?? requirements.network) as PaymentRequirementsV1['network'],
    maxAmountRequired: requirements.amount,
    resource: resource.url,
    description: resource.description ?? '',
    mimeType: resource.mimeType ?? '',
    outputSchema: {},
    payTo: requirements.payTo,
    maxTimeoutSeconds: requirements.maxTimeoutSeconds,
    asset: requirements.asset,
    extra: requirements.extra,
  }
}

/** The 402 body for a v1 client (v1 has no header: the JSON body is the answer). */
export function paymentRequiredV1(resource: { url: string; description?: string; mimeType?: string }, accepts: PaymentRequirements[], error: string): PaymentRequiredV1 {
  return { x402Version: 1, error, accepts: accepts.map((r) => toV1(r, resource)) }
}
