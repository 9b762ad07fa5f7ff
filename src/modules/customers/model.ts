// TypeBox models of the end customers API (secret key): a page of customers, and one with its recent ledger.
import { t } from 'elysia'
import { IntegerParam, Text } from '../../lib/request-schemas'
import { WalletModel } from '../wallet/model'

export const CUSTOMERS_LIMIT = { minimum: 1, maximum: 100 } as const

const customer = {
  id: t.String({ description: 'ecus_…' }),
  object: t.Literal('end_customer'),
  external_id: t.String(),
  email: t.Union([t.String(), t.Null()]),
  name: t.Union([t.String(), t.Null()]),
  mode: t.Union([t.Literal('live'), t.Literal('test')]),
  wallet: t.Object({ id: t.String(), status: t.Union([t.Literal('active'), t.Literal('frozen')]), balance_usd: t.String({ description: 'The ledger balance' }) }),
  lifetime_spend_usd: t.String({ description: 'Usage debited from the wallet, ever' }),
  lifetime_topped_up_usd: t.String({ description: 'Credits added to the wallet, ever (top-ups and grants)' }),
  created_at: t.String(),
}

export const CustomerModel = {
  listQuery: t.Object({
    limit: t.Optional(IntegerParam(CUSTOMERS_LIMIT, 'an integer from 1 to 100; default 10')),
    starting_after: t.Optional(Text({ minLength: 1, maxLength: 100, description: 'a customer id: the page starts after it' })),
  }),
  customerParams: t.Object({ id: Text({ minLength: 1, maxLength: 100 }) }),
  list: t.Object({ object: t.Literal('list'), data: t.Array(t.Object(customer)), has_more: t.Boolean() }),
  detail: t.Object({ ...customer, recent_ledger: t.Array(WalletModel.ledgerEntry, { description: 'The last 20 ledger entries, newest first' }) }),
}
