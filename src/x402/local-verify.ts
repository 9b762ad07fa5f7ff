// The checks a gateway can make on an `exact` payment without anyone's help: scheme, network, asset, payTo, amount, time window and the EIP-712 signature (viem).
import type { PaymentRequirements } from '@x402/core/types'
import { authorizationTypes } from '@x402/evm'
import { getAddress, isAddress, isHex, verifyTypedData } from 'viem'
import { usdcOn } from './assets'
import type { DecodedPayment } from './codec'

/** Why a payment is refused, in the x402 reason vocabulary (the codes @x402/evm's facilitator uses). */
export type RefusalReason =
  | 'invalid_payload'
  | 'invalid_exact_evm_scheme'
  | 'invalid_exact_evm_network_mismatch'
  | 'invalid_exact_evm_asset_mismatch'
  | 'invalid_exact_evm_recipient_mismatch'
  | 'invalid_exact_evm_authorization_value'
  | 'invalid_exact_evm_payload_authorization_valid_before'
  | 'invalid_exact_evm_payload_authorization_valid_after'
  | 'invalid_exact_evm_signature'
  | 'invalid_exact_evm_nonce_already_used'

export interface Refusal {
  reason: RefusalReason
  message: string
}

/** An EIP-3009 TransferWithAuthorization, as signed. */
export interface Authorization {
  from: `0x${string}`
  to: `0x${string}`
  value: bigint
  validAfter: bigint
  validBefore: bigint
  nonce: `0x${string}`
}

/** A payment that passed every local check: who pays, what was signed, and the requirement it pays. */
export interface CheckedPayment {
  payer: `0x${string}`
  authorization: Authorization
  signature: `0x${string}`
  requirements: PaymentRequirements
}

/** Addresses compared as text: the configured payTo may be a placeholder that is no address at all (it loads with a warning). */
const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
const refuse = (reason: RefusalReason, message: string): { refusal: Refusal } => ({ refusal: { reason, message } })
const UINT = /^\d{1,78}$/

/** The EIP-3009 authorization and signature in a payment's scheme payload, or what is wrong with them. */
function readAuthorization(payload: Record<string, unknown>): { authorization: Authorization; signature: `0x${string}` } | { refusal: Refusal } {
  const auth = payload.authorization as Record<string, unknown> | undefined
  const signature = payload.signature
  if (!auth || typeof auth !== 'object') return refuse('invalid_payload', 'the payment carries no EIP-3009 authorization (payload.authorization); only transferWithAuthorization payments are taken')
  if (typeof signature !== 'string' || !isHex(signature) || signature.length < 132) return refuse('invalid_exact_evm_signature', 'payload.signature is not a hex signature')
  for (const field of ['from', 'to'] as const) if (typeof auth[field] !== 'string' || !isAddress(auth[field] as string, { strict: false })) return refuse('invalid_payload', `authorization.${field} is not an address`)
  for (const field of ['value', 'validAfter', 'validBefore'] as const) if (typeof auth[field] !== 'string' || !UINT.test(auth[field] as string)) return refuse('invalid_payload', `authorization.${field} is not an unsigned integer string`)
  if (typeof auth.nonce !== 'string' || !isHex(auth.nonce) || auth.nonce.length !== 66) return refuse('invalid_payload', 'authorization.nonce is not 32 bytes of hex')
  return {
    authorization: {
      from: getAddress(auth.from as string),
      to: getAddress(auth.to as string),
      value: BigInt(auth.value as string),
      validAfter: BigInt(auth.validAfter as string),
      validBefore: BigInt(auth.validBefore as string),
      nonce: (auth.nonce as string).toLowerCase() as `0x${string}`,
    },
    signature: signature as `0x${string}`,
  }
}

/**
 * Checks a decoded payment against what we asked for (`offered`: one requirement per accepted network), in the
 * order scheme, network, asset, payTo, amount ≥ price, validBefore in the future, validAfter in the past, signature.
 * `nowSeconds` is the clock (tests move it). A v1 payment names its network by name ("base"); v2 by CAIP-2.
 */
export async function checkExactPayment(payment: DecodedPayment, offered: readonly PaymentRequirements[], nowSeconds = Math.floor(Date.now() / 1000)): Promise<{ payment: CheckedPayment } | { refusal: Refusal }> {
  const p = payment.payload
  const scheme = payment.version === 2 ? payment.payload.accepted.scheme : payment.payload.scheme
  const network = payment.version === 2 ? payment.payload.accepted.network : payment.payload.network
  if (scheme !== 'exact') return refuse('invalid_exact_evm_scheme', `scheme ${JSON.stringify(scheme)} is not taken here; pay with scheme "exact"`)
  const asset = usdcOn(network)
  const requirements = asset && offered.find((r) => r.network === asset.caip2)
  if (!requirements) return refuse('invalid_exact_evm_network_mismatch', `network ${JSON.stringify(network)} is not accepted here; accepted: ${offered.map((r) => r.network).join(', ')}`)
  if (payment.version === 2) {
    const accepted = payment.payload.accepted
    if (!sameAddress(accepted.asset, requirements.asset)) return refuse('invalid_exact_evm_asset_mismatch', `asset ${accepted.asset} is not ${requirements.asset} (USDC on ${requirements.network})`)
    if (!sameAddress(accepted.payTo, requirements.payTo)) return refuse('invalid_exact_evm_recipient_mismatch', `accepted.payTo ${accepted.payTo} is not ${requirements.payTo}`)
  }
  const read = readAuthorization(p.payload)
  if ('refusal' in read) return read
  const { authorization, signature } = read
  if (!sameAddress(authorization.to, requirements.payTo)) return refuse('invalid_exact_evm_recipient_mismatch', `the authorization pays ${authorization.to}, not ${requirements.payTo}`)
  if (authorization.value < BigInt(requirements.amount)) return refuse('invalid_exact_evm_authorization_value', `the authorization is for ${authorization.value} atomic units; this request costs ${requirements.amount}`)
  // A little margin, as @x402/evm's facilitator keeps: the payment must still be valid when it is settled.
  if (authorization.validBefore <= BigInt(nowSeconds + 6)) return refuse('invalid_exact_evm_payload_authorization_valid_before', `validBefore ${authorization.validBefore} has passed (now ${nowSeconds})`)
  if (authorization.validAfter > BigInt(nowSeconds)) return refuse('invalid_exact_evm_payload_authorization_valid_after', `validAfter ${authorization.validAfter} is in the future (now ${nowSeconds})`)
  const valid = await verifyTypedData({
    address: authorization.from,
    domain: { name: asset.domain.name, version: asset.domain.version, chainId: asset.chainId, verifyingContract: asset.address },
    types: authorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message: authorization,
    signature,
  }).catch(() => false)
  if (!valid) return refuse('invalid_exact_evm_signature', `the signature is not ${authorization.from}'s over this authorization (EIP-712, ${asset.domain.name} v${asset.domain.version} on chain ${asset.chainId})`)
  return { payment: { payer: authorization.from, authorization, signature, requirements } }
}
