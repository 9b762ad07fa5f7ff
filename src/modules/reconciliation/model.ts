// TypeBox models of the reconciliation admin API.
import { t } from 'elysia'
import { IntegerParam, Month } from '../../lib/request-schemas'

/** How many refused batches one page of /manual-adjustments lists. */
export const MANUAL_LIMIT = { minimum: 1, maximum: 1000 } as const

export const ReconciliationModel = {
  periodQuery: t.Object({ period: Month() }),
  manualQuery: t.Object({
    period: t.Optional(Month('a calendar month (UTC), YYYY-MM, from 1970-01 to 9999-12; all periods when absent')),
    limit: t.Optional(IntegerParam(MANUAL_LIMIT, 'an integer from 1 to 1000; default 100')),
  }),
}
