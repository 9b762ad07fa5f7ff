// Which way of paying a principal's chat request uses: a static key's rate limits, a prepaid wallet, an end user's session wallet, or postpaid (with a cap).
import type { PaymentMethod } from '../../exchange/payment'
import { postpaidPayment } from '../../exchange/payments/postpaid'
import { prepaidWalletPayment } from '../../exchange/payments/prepaid-wallet'
import { sessionWalletPayment } from '../../exchange/payments/session-wallet'
import { staticKeyPayment } from '../../exchange/payments/static-key'
import type { Admission } from '../../limits/admission'
import { monthId } from '../../limits/keys'
import type { Principal } from '../auth/service'
import type { EmitEvent } from '../webhooks/emitter'

export function paymentFor(principal: Principal, admission: Admission | null, emit?: EmitEvent): PaymentMethod {
  if (principal.kind === 'static') return staticKeyPayment(admission, principal.keyId)
  if (principal.session) {
    const { lineageId, maxSpendNano } = principal.session
    return sessionWalletPayment(admission, { holderId: principal.accountId, lineage: maxSpendNano === null ? null : { id: lineageId, maxSpendNano } })
  }
  const account = { accountId: principal.accountId, limits: principal.limits }
  if (principal.billingMode === 'prepaid') return prepaidWalletPayment(admission, account)
  return postpaidPayment(admission, { ...account, capNano: principal.spendCapNano }, (accountId, message) =>
    // Once a month per account: the event id is fixed, so repeats are dropped in process and in Postgres.
    emit?.({
      accountId,
      type: 'spending_cap.reached',
      id: `evt_cap_${accountId}_${monthId().replace('-', '')}`,
      data: { month: monthId(), message },
    }),
  )
}
