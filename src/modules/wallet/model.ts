// TypeBox models of the wallet API.
import { t } from 'elysia'

const usd = (description: string) => t.String({ description })

export const WalletModel = {
  ledgerEntry: t.Object({
    id: t.String(),
    kind: t.Union([t.Literal('credit'), t.Literal('usage'), t.Literal('adjustment')]),
    amount_usd: usd('Positive for credits, negative for usage debits'),
    reference: t.String(),
    reason: t.String(),
    created_at: t.String({ description: 'ISO 8601, UTC' }),
  }),
}

export const BalanceResponse = t.Object({
  balance_usd: usd('What the wallet holds: available plus what open requests hold until they settle'),
  held_usd: usd('Held by requests still running; what they do not spend comes back'),
  available_usd: usd('What a new request can hold against'),
  currency: t.Literal('USD'),
  billing_mode: t.Union([t.Literal('prepaid'), t.Literal('postpaid')]),
  recent_ledger: t.Array(WalletModel.ledgerEntry, { description: 'The last 20 ledger entries, newest first' }),
})
