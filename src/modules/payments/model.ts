// TypeBox models of the x402 payments admin API.
import { t } from 'elysia'
import { IntegerParam, Month } from '../../lib/request-schemas'

/** Rows per page of GET /admin/payments. */
export const PAYMENTS_LIMIT = { minimum: 1, maximum: 1000 } as const

export const PaymentsModel = {
  listQuery: t.Object({
    period: Month(),
    limit: t.Optional(IntegerParam(PAYMENTS_LIMIT, 'an integer from 1 to 1000; default 100')),
    starting_after: t.Optional(t.String({ minLength: 1, maxLength: 200, description: 'the request_id of the last payment of the previous page' })),
  }),
}
