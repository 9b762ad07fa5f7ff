// How a request pays: its money mode, whose buckets and wallet, the hold, and (prepaid streams without max_tokens) the slices.
import type { MoneyMode } from '../../limits/admission'
import type { CatalogModel } from '../../pricing/catalog'
import { tokenClassCost } from '../../pricing/money'
import type { Principal } from '../auth/service'

export interface PaymentPlan {
  mode: MoneyMode
  /** Whose limits and wallet: the account, or the key itself for static keys. */
  subject: string
  /** Worst-case cost held now: the prompt estimate at the input price plus the held output at the output price. */
  holdNano: bigint
  /** Tokens charged to the token bucket now. */
  chargeTokens: number
  /** Output tokens the hold covers. */
  heldOutputTokens: number
  /** Set for a progressive hold: the stream extends its hold by this many output tokens at a time. */
  sliceTokens: number | null
}

export function moneyModeOf(principal: Principal): MoneyMode {
  if (principal.kind === 'static') return 'none'
  if (principal.billingMode === 'prepaid') return 'prepaid'
  return principal.spendCapNano === null ? 'none' : 'cap'
}

export function planPayment(
  principal: Principal,
  model: CatalogModel,
  request: { promptTokens: number; maxTokens: number; clientSetMaxTokens: boolean; stream: boolean },
  progressiveSliceTokens: number,
): PaymentPlan {
  const mode = moneyModeOf(principal)
  // Holding the model's whole default output would lock small wallets out; a prepaid stream holds a slice at a time.
  const progressive = mode === 'prepaid' && request.stream && !request.clientSetMaxTokens && model.prices.output > 0n
  const heldOutputTokens = progressive ? Math.min(progressiveSliceTokens, request.maxTokens) : request.maxTokens
  return {
    mode,
    subject: principal.kind === 'static' ? principal.keyId : principal.accountId,
    holdNano: tokenClassCost(request.promptTokens, model.prices.input) + tokenClassCost(heldOutputTokens, model.prices.output),
    chargeTokens: request.promptTokens + heldOutputTokens,
    heldOutputTokens,
    sliceTokens: progressive ? progressiveSliceTokens : null,
  }
}
