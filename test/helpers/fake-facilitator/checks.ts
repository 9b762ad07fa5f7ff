// The fake facilitator's judgement of an `exact` EIP-3009 payment: signature (viem), amount, payTo, asset and time window, as a real facilitator checks them before settling.
import { authorizationTypes } from '@x402/evm'
import { getAddress, verifyTypedData } from 'viem'
import { usdcOn } from '../../../src/x402/assets'

export interface Judged {
  ok: boolean
  reason?: string
  payer?: string
  nonce?: string
  amount?: string
}

interface Requirements {
  scheme: string
  network: string
  asset: string
  payTo: string
  amount?: string
  maxAmountRequired?: string
  extra?: { name?: string; version?: string }
}

/** Judges a payment payload (v1 or v2) against the requirements it claims to meet. */
export async function judge(paymentPayload: Record<string, unknown>, requirements: Requirements): Promise<Judged> {
  const version = paymentPayload.x402Version
  const scheme = version === 2 ? (paymentPayload.accepted as Requirements | undefined)?.scheme : paymentPayload.scheme
  if (scheme !== 'exact' || requirements.scheme !== 'exact') return { ok: false, reason: 'unsupported_scheme' }
  const asset = usdcOn(requirements.network)
  if (!asset) return { ok: false, reason: 'invalid_network' }
  if (getAddress(requirements.asset) !== asset.address) return { ok: false, reason: 'invalid_exact_evm_asset_mismatch' }
  const inner = paymentPayload.payload as { signature?: `0x${string}`; authorization?: Record<string, string> } | undefined
  const auth = inner?.authorization
  if (!auth || !inner?.signature) return { ok: false, reason: 'invalid_payload' }
  const payer = getAddress(auth.from!)
  if (getAddress(auth.to!) !== getAddress(requirements.payTo)) return { ok: false, reason: 'invalid_exact_evm_recipient_mismatch', payer }
  const required = BigInt(requirements.amount ?? requirements.maxAmountRequired ?? '0')
  if (BigInt(auth.value!) < required) return { ok: false, reason: 'invalid_exact_evm_authorization_value', payer }
  const now = BigInt(Math.floor(Date.now() / 1000))
  if (BigInt(auth.validBefore!) < now + 6n) return { ok: false, reason: 'invalid_exact_evm_payload_authorization_valid_before', payer }
  if (BigInt(auth.validAfter!) > now) return { ok: false, reason: 'invalid_exact_evm_payload_authorization_valid_after', payer }
  const valid = await verifyTypedData({
    address: payer,
    domain: { name: requirements.extra?.name ?? asset.domain.name, version: requirements.extra?.version ?? asset.domain.version, chainId: asset.chainId, verifyingContract: asset.address },
    types: authorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message: { from: payer, to: getAddress(auth.to!), value: BigInt(auth.value!), validAfter: BigInt(auth.validAfter!), validBefore: BigInt(auth.validBefore!), nonce: auth.nonce as `0x${string}` },
    signature: inner.signature,
  }).catch(() => false)
  if (!valid) return { ok: false, reason: 'invalid_exact_evm_signature', payer }
  return { ok: true, payer, nonce: `${payer}:${String(auth.nonce).toLowerCase()}`, amount: auth.value! }
}
