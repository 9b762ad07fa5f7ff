// The facilitator as the paid path sees it: /verify and /settle through @x402/core's HTTPFacilitatorClient, every answer and failure typed.
import { HTTPFacilitatorClient } from '@x402/core/http'
import { SettleError, VerifyError, type PaymentPayload, type PaymentRequirements, type SettleResponse } from '@x402/core/types'

export interface FacilitatorSettings {
  url: string
  /** Sent on every call (an API key of a hosted facilitator). */
  headers: Readonly<Record<string, string>>
  timeoutMs: number
}

/** `refused`: the facilitator answered no; `unavailable`: it could not be asked or its answer could not be read. */
export type VerifyOutcome = { kind: 'valid'; payer: string | null } | { kind: 'refused'; reason: string; message: string } | { kind: 'unavailable'; message: string }
/** `unknown`: the settle call failed midway; the facilitator may or may not have settled. */
export type SettleOutcome = { kind: 'settled'; response: SettleResponse } | { kind: 'refused'; reason: string; message: string; response: SettleResponse } | { kind: 'unknown'; message: string }

export interface Facilitator {
  readonly url: string
  verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyOutcome>
  settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleOutcome>
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

export function createFacilitator(settings: FacilitatorSettings): Facilitator {
  const headers = { ...settings.headers }
  const client = new HTTPFacilitatorClient({
    url: settings.url,
    timeoutMs: settings.timeoutMs,
    ...(Object.keys(headers).length > 0 ? { createAuthHeaders: async () => ({ verify: headers, settle: headers, supported: headers }) } : {}),
  })
  return {
    url: client.url,
    async verify(payload, requirements) {
      try {
        const answer = await client.verify(payload, requirements)
        if (answer.isValid) return { kind: 'valid', payer: answer.payer ?? null }
        return { kind: 'refused', reason: answer.invalidReason ?? 'invalid_payment', message: answer.invalidMessage ?? answer.invalidReason ?? 'the facilitator refused the payment' }
      } catch (error) {
        // A 4xx carrying isValid: false is the facilitator's refusal, not an outage.
        if (error instanceof VerifyError) return { kind: 'refused', reason: error.invalidReason ?? 'invalid_payment', message: error.invalidMessage ?? error.invalidReason ?? error.message }
        return { kind: 'unavailable', message: message(error) }
      }
    },
    async settle(payload, requirements) {
      try {
        const answer = await client.settle(payload, requirements)
        if (answer.success) return { kind: 'settled', response: answer }
        return { kind: 'refused', reason: answer.errorReason ?? 'settle_failed', message: answer.errorMessage ?? answer.errorReason ?? 'the facilitator did not settle the payment', response: answer }
      } catch (error) {
        if (error instanceof SettleError) {
          const response: SettleResponse = { success: false, transaction: error.transaction ?? '', network: error.network, ...(error.errorReason ? { errorReason: error.errorReason } : {}), ...(error.payer ? { payer: error.payer } : {}) }
          return { kind: 'refused', reason: error.errorReason ?? 'settle_failed', message: error.errorMessage ?? error.errorReason ?? error.message, response }
        }
        return { kind: 'unknown', message: message(error) }
      }
    },
  }
}
