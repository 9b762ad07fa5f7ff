// TypeBox models of end-user wallets: read, freeze and credit with a secret key; the balance with a session token.
import { t } from 'elysia'
import { Text } from '../../lib/request-schemas'
import { WalletModel } from '../wallet/model'

const strict = { additionalProperties: false } as const
const Status = t.Union([t.Literal('active'), t.Literal('frozen')])

export const EndUserWalletModel = {
  walletParams: t.Object({ id: Text({ minLength: 1, maxLength: 100 }) }),
  wallet: t.Object({
    id: t.String({ description: 'wal_…' }),
    object: t.Literal('wallet'),
    end_customer_id: t.String(),
    mode: t.Union([t.Literal('live'), t.Literal('test')]),
    balance_usd: t.String({ description: 'Available plus held' }),
    held_usd: t.String({ description: 'Held by requests still running' }),
    available_usd: t.String({ description: 'What a new request can hold against' }),
    currency: t.Literal('USD'),
    status: Status,
  }),
  update: t.Object({ status: Status }, strict),
  credit: t.Object(
    {
      amount_usd: t.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', description: 'USD to add, greater than 0, at most 9 decimals, e.g. "5.00"' }),
      reason: t.Optional(Text({ maxLength: 500, description: 'Why, for the ledger' })),
    },
    strict,
  ),
  creditHeaders: t.Object({
    'idempotency-key': t.Optional(Text({ minLength: 1, maxLength: 255, description: 'Retries with the same key add the credit once (and answer 200 with the same ledger row)' })),
  }),
  creditResponse: t.Object({
    ledger_id: t.String(),
    wallet_id: t.String(),
    amount_usd: t.String(),
    created: t.Boolean({ description: 'false: a replay of an earlier request with the same Idempotency-Key' }),
    balance_usd: t.String({ description: "The wallet's ledger balance after this credit" }),
  }),
  balance: t.Object({
    balance_usd: t.String(),
    held_usd: t.String(),
    available_usd: t.String(),
    currency: t.Literal('USD'),
    status: Status,
    recent_ledger: t.Array(WalletModel.ledgerEntry, { description: 'The last 10 ledger entries, newest first' }),
  }),
}
