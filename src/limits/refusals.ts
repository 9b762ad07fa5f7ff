// What a refused admission answers: the 429, 402 or 400 of each verdict, and the rate-limit headers every answer carries.
import { GatewayError, InvalidRequestError, PaymentRequiredError, RateLimitError } from '../errors'
import { formatNanoAsUsd } from '../pricing/money'
import type { AdmissionRequest } from './admission'

/** The error of a refusal that is not a rate: `money` is what admit-8 reported (available, or spent + held). */
export function refusal(
  verdict: 'tpm_too_large' | 'insufficient_balance' | 'spending_cap_reached' | 'session_spend_limit',
  request: AdmissionRequest,
  tpm: number,
  money: bigint,
  headers: Record<string, string>,
): GatewayError {
  const held = formatNanoAsUsd(request.holdNano)
  switch (verdict) {
    case 'tpm_too_large':
      return new InvalidRequestError(
        `This request needs ${request.chargeTokens} tokens (prompt and max_tokens), more than the ${tpm} tokens per minute allowed. Lower max_tokens or the prompt.`,
        'max_tokens',
        'request_too_large_for_tpm',
      )
    case 'insufficient_balance':
      return new PaymentRequiredError(
        `Insufficient balance: $${formatNanoAsUsd(money)} available, and this request holds up to $${held}. Top up the wallet or lower max_tokens.`,
        'insufficient_balance',
        headers,
      )
    case 'spending_cap_reached':
      return new PaymentRequiredError(
        `Spending cap reached: $${formatNanoAsUsd(money)} spent or held this month against a cap of $${formatNanoAsUsd(request.capNano ?? 0n)}, and this request holds up to $${held}.`,
        'spending_cap_reached',
        headers,
      )
    case 'session_spend_limit':
      return new PaymentRequiredError(
        `Session spend limit reached: $${formatNanoAsUsd(money)} spent or held by this session against its max_spend of $${formatNanoAsUsd(request.lineage?.maxSpendNano ?? 0n)}, and this request holds up to $${held}. Mint a new session to spend more.`,
        'session_spend_limit',
        headers,
      )
  }
}

/** A 429 naming the limit and when to retry. */
export function rateLimited(what: string, retryMs: number, headers: Record<string, string>): RateLimitError {
  const seconds = Math.max(1, Math.ceil(retryMs / 1000))
  return new RateLimitError(`Rate limit reached: ${what} per minute. Try again in ${seconds} s.`, seconds, headers)
}

/** The rate-limit headers of an answer, from the buckets as admission left them. */
export function rateHeaders(rpm: number, rpmLeft: number, rpmFullMs: number, tpm: number, tpmLeft: number): Record<string, string> {
  const headers: Record<string, string> = {}
  if (rpm > 0) {
    const reset = String(Math.ceil((Date.now() + rpmFullMs) / 1000))
    headers['x-ratelimit-limit'] = String(rpm)
    headers['x-ratelimit-remaining'] = String(Math.max(0, rpmLeft))
    headers['x-ratelimit-reset'] = reset
    headers['x-ratelimit-limit-requests'] = String(rpm)
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, rpmLeft))
  }
  if (tpm > 0) {
    headers['x-ratelimit-limit-tokens'] = String(tpm)
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, tpmLeft))
  }
  return headers
}
