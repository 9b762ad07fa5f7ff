// TypeBox models of the reconciliation admin API.
import { t } from 'elysia'

export const ReconciliationModel = {
  periodQuery: t.Object({ period: t.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'a calendar month (UTC), YYYY-MM' }) }),
  manualQuery: t.Object({
    period: t.Optional(t.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'a calendar month (UTC), YYYY-MM; all periods when absent' })),
    limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  }),
}
