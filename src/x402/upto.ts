// The `upto` scheme (Permit2, @x402/evm's UptoEvmScheme): quoting a maximum, checking a signed one locally, and the amount settled from the actual cost.
import type { PaymentRequirements } from '@x402/core/types'
import { isUptoPermit2Payload, PERMIT2_ADDRESS, uptoPermit2WitnessTypes, x402UptoPermit2ProxyAddress, type UptoPermit2Payload } from '@x402/evm'
import { getAddress, isAddress, verifyTypedData } from 'viem'
import { usdcOn } from './assets'
import type { DecodedPayment } from './codec'
import { requirementsFor, type PaymentTerms } from './requirements'

/** USDC has 6 decimals, nano-USD 9: one atomic unit is 1,000 nano-USD. */
const NANO_PER_ATOMIC = 1_000n

/**
 * nano-USD to USDC atomic units, rounded UP (in the payee's favour): 1 nano-USD of cost settles 1 atomic unit
 * ($0.000001); 1,000 nano-USD also 1; 1,001 nano-USD 2. The only rounding of an x402 amount.
 */
export const nanoToAtomicUp = (nano: bigint): bigint => (nano <= 0n ? 0n : (nano + NANO_PER_ATOMIC - 1n) / NANO_PER_ATOMIC)

/** What an `upto` payment settles: the actual cost rounded up, never above the signed maximum; 0: nothing is settled. */
export const uptoSettlement = (costNano: bigint, maxAtomic: bigint): bigint => {
  const atomic = nanoToAtomicUp(costNano)
  return atomic < maxAtomic ? atomic : maxAtomic
}

/**
 * The 402's offers for a request whose worst case is `amount` atomic units: `upto` on every accepted network whose
 * facilitator signer is known (the client's Permit2 witness names it, and only it may settle), then `exact` for
 * clients that speak only exact (they pay the worst case).
 */
export function meteredRequirements(terms: PaymentTerms, amount: bigint, facilitatorAddress: string | null): PaymentRequirements[] {
  const exact = requirementsFor(terms, amount)
  if (!facilitatorAddress) return exact
  const upto = exact.map((r) => ({ ...r, scheme: 'upto', extra: { ...r.extra, facilitatorAddress } }))
  return [...upto, ...exact]
}

export type UptoRefusalReason =
  | 'invalid_payload'
  | 'invalid_upto_evm_scheme'
  | 'invalid_upto_evm_network_mismatch'
  | 'permit2_token_mismatch'
  | 'invalid_permit2_recipient_mismatch'
  | 'invalid_permit2_spender'
  | 'invalid_upto_evm_facilitator_mismatch'
  | 'invalid_upto_evm_amount'
  | 'permit2_deadline_expired'
  | 'permit2_not_yet_valid'
  | 'invalid_permit2_signature'

export interface UptoRefusal {
  reason: UptoRefusalReason
  message: string
}

/** An `upto` payment that passed every local check. */
export interface CheckedUptoPayment {
  payer: `0x${string}`
  /** The signed maximum (atomic units): the most it can ever settle. */
  maxAtomic: bigint
  /** Permit2's nonce (unordered, per owner), as hex: what is claimed so the permit is used once. */
  nonce: `0x${string}`
  deadline: bigint
  /** What the facilitator is asked to verify (amount = the signed maximum) and settle (amount = the actual cost). */
  requirements: PaymentRequirements
  payload: UptoPermit2Payload
}

const refuse = (reason: UptoRefusalReason, message: string) => ({ refusal: { reason, message } })
const UINT = /^\d{1,78}$/

/**
 * The checks we can make alone, before the facilitator's /verify (which also simulates the settlement on chain):
 * scheme, network, token, payTo, spender, facilitator, maximum ≥ the quote, the time window and the EIP-712
 * signature over Permit2's PermitWitnessTransferFrom, exactly as UptoEvmScheme's facilitator checks them.
 */
export async function checkUptoPayment(
  payment: DecodedPayment,
  offered: readonly PaymentRequirements[],
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ payment: CheckedUptoPayment } | { refusal: UptoRefusal }> {
  if (payment.version !== 2) return refuse('invalid_upto_evm_scheme', 'upto payments are x402 v2 only (PAYMENT-SIGNATURE)')
  const accepted = payment.payload.accepted
  if (accepted.scheme !== 'upto') return refuse('invalid_upto_evm_scheme', `scheme ${JSON.stringify(accepted.scheme)} is not upto`)
  const asset = usdcOn(accepted.network)
  const requirements = asset && offered.find((r) => r.scheme === 'upto' && r.network === asset.caip2)
  if (!requirements) return refuse('invalid_upto_evm_network_mismatch', `network ${JSON.stringify(accepted.network)} is not accepted for upto here; accepted: ${offered.filter((r) => r.scheme === 'upto').map((r) => r.network).join(', ')}`)
  const raw = payment.payload.payload
  if (!isUptoPermit2Payload(raw)) return refuse('invalid_payload', 'the payment carries no Permit2 authorization (payload.permit2Authorization with a witness)')
  const auth = raw.permit2Authorization
  for (const [field, value] of [['permitted.amount', auth.permitted.amount], ['nonce', auth.nonce], ['deadline', auth.deadline], ['witness.validAfter', auth.witness.validAfter]] as const) {
    if (typeof value !== 'string' || !UINT.test(value)) return refuse('invalid_payload', `permit2Authorization.${field} is not an unsigned integer string`)
  }
  for (const [field, value] of [['from', auth.from], ['permitted.token', auth.permitted.token], ['spender', auth.spender], ['witness.to', auth.witness.to], ['witness.facilitator', auth.witness.facilitator]] as const) {
    if (typeof value !== 'string' || !isAddress(value, { strict: false })) return refuse('invalid_payload', `permit2Authorization.${field} is not an address`)
  }
  if (getAddress(auth.permitted.token) !== getAddress(requirements.asset)) return refuse('permit2_token_mismatch', `the permit is for token ${auth.permitted.token}, not ${requirements.asset} (USDC on ${requirements.network})`)
  if (getAddress(auth.witness.to) !== getAddress(requirements.payTo)) return refuse('invalid_permit2_recipient_mismatch', `the permit pays ${auth.witness.to}, not ${requirements.payTo}`)
  if (getAddress(auth.spender) !== getAddress(x402UptoPermit2ProxyAddress)) return refuse('invalid_permit2_spender', `the permit's spender is not the x402 upto Permit2 proxy ${x402UptoPermit2ProxyAddress}`)
  const facilitator = String((requirements.extra as { facilitatorAddress?: unknown }).facilitatorAddress ?? '')
  if (!isAddress(facilitator, { strict: false }) || getAddress(auth.witness.facilitator) !== getAddress(facilitator)) return refuse('invalid_upto_evm_facilitator_mismatch', `the permit names facilitator ${auth.witness.facilitator}, not ${facilitator}`)
  const maxAtomic = BigInt(auth.permitted.amount)
  if (maxAtomic < BigInt(requirements.amount)) return refuse('invalid_upto_evm_amount', `the permit allows at most ${maxAtomic} atomic units; this request's worst case is ${requirements.amount}`)
  const deadline = BigInt(auth.deadline)
  if (deadline < BigInt(nowSeconds + 6)) return refuse('permit2_deadline_expired', `the permit's deadline ${deadline} has passed (now ${nowSeconds})`)
  if (BigInt(auth.witness.validAfter) > BigInt(nowSeconds)) return refuse('permit2_not_yet_valid', `the permit is valid only after ${auth.witness.validAfter} (now ${nowSeconds})`)
  const payer = getAddress(auth.from)
  const valid = await verifyTypedData({
    address: payer,
    domain: { name: 'Permit2', chainId: asset.chainId, verifyingContract: PERMIT2_ADDRESS },
    types: uptoPermit2WitnessTypes,
    primaryType: 'PermitWitnessTransferFrom',
    message: {
      permitted: { token: getAddress(auth.permitted.token), amount: maxAtomic },
      spender: getAddress(auth.spender),
      nonce: BigInt(auth.nonce),
      deadline,
      witness: { to: getAddress(auth.witness.to), facilitator: getAddress(auth.witness.facilitator), validAfter: BigInt(auth.witness.validAfter) },
    },
    signature: raw.signature,
  }).catch(() => false)
  if (!valid) return refuse('invalid_permit2_signature', `the signature is not ${payer}'s over this Permit2 witness transfer (chain ${asset.chainId})`)
  return {
    payment: {
      payer,
      maxAtomic,
      nonce: `0x${BigInt(auth.nonce).toString(16)}`,
      deadline,
      // The library's verify wants the requirement's amount to be the permit's.
      requirements: { ...requirements, amount: maxAtomic.toString() },
      payload: raw,
    },
  }
}
