// x402 test clients: a viem local account paying through the official @x402/fetch, hand-signed payments for refusal cases, and the seed configs pointed at local fakes.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { x402Client } from '@x402/core/client'
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from '@x402/core/http'
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types'
import { authorizationTypes, ExactEvmScheme } from '@x402/evm'
import { wrapFetchWithPayment } from '@x402/fetch'
import { getAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'

export const CONFIG_FIXTURES = join(import.meta.dir, '..', 'fixtures', 'config')

/**
 * A seed YAML as written, with what a test must change: the upstream URL (the fake), the placeholder wallet
 * (a generated address: the seed's "0xYourWalletAddress" cannot be paid), and a facilitator section (the fake).
 */
export function seedConfigFor(seed: string, options: { upstreamUrl: string; payTo: string; facilitatorUrl: string; extra?: string }): string {
  const text = readFileSync(join(CONFIG_FIXTURES, seed), 'utf8')
    .replace('"https://api.anthropic.com"', JSON.stringify(options.upstreamUrl))
    .replace('"0xYourWalletAddress"', JSON.stringify(options.payTo))
  const path = join(mkdtempSync(join(tmpdir(), 'meterway-x402-')), seed)
  writeFileSync(path, `${text}\nfacilitator:\n  url: ${JSON.stringify(options.facilitatorUrl)}\n  headers:\n    x-facilitator-key: "fk-test"\n${options.extra ?? ''}`)
  return path
}

export interface Payer {
  account: PrivateKeyAccount
  /** fetch through @x402/fetch: pays any 402 and retries. */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>
  /** Signs a payment for these requirements (any network or asset: spend controls off) with the official client. */
  sign(requirements: PaymentRequirements, resource?: PaymentRequired['resource']): Promise<PaymentPayload>
}

export function newPayer(): Payer {
  const account = privateKeyToAccount(generatePrivateKey())
  const client = x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new ExactEvmScheme(account) }] })
  const loose = x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new ExactEvmScheme(account) }], spendControls: false })
  return {
    account,
    fetch: wrapFetchWithPayment(fetch, client),
    sign: (requirements, resource = { url: 'http://test/' }) => loose.createPaymentPayload({ x402Version: 2, resource, accepts: [requirements] }),
  }
}

/** A payment signed by hand with any authorization fields (an expired window the official client would never sign). */
export async function signAuthorization(account: PrivateKeyAccount, requirements: PaymentRequirements, change: { validAfter?: bigint; validBefore?: bigint; value?: bigint }): Promise<PaymentPayload> {
  const now = BigInt(Math.floor(Date.now() / 1000))
  const authorization = {
    from: account.address,
    to: getAddress(requirements.payTo),
    value: change.value ?? BigInt(requirements.amount),
    validAfter: change.validAfter ?? 0n,
    validBefore: change.validBefore ?? now + 300n,
    nonce: generatePrivateKey(),
  }
  const chainId = Number(requirements.network.split(':')[1])
  const signature = await account.signTypedData({
    domain: { name: String(requirements.extra.name), version: String(requirements.extra.version), chainId, verifyingContract: getAddress(requirements.asset) },
    types: authorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message: authorization,
  })
  const wire = { ...authorization, value: authorization.value.toString(), validAfter: authorization.validAfter.toString(), validBefore: authorization.validBefore.toString() }
  return { x402Version: 2, resource: { url: 'http://test/' }, accepted: requirements, payload: { authorization: wire, signature } }
}

export const paymentHeader = (payload: PaymentPayload) => encodePaymentSignatureHeader(payload)

export function requiredOf(response: Response): PaymentRequired {
  const header = response.headers.get('payment-required')
  if (!header) throw new Error(`no PAYMENT-REQUIRED header (status ${response.status})`)
  return decodePaymentRequiredHeader(header)
}

export function settlementOf(response: Response, name = 'payment-response'): SettleResponse {
  const header = response.headers.get(name)
  if (!header) throw new Error(`no ${name} header (status ${response.status})`)
  return decodePaymentResponseHeader(header)
}
