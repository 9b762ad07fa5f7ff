// The usage plugin: GET /llm/usage (agent key) for the current month or ?period=YYYY-MM.
import { Elysia, t } from 'elysia'
import type { Sql } from '../../lib/db'
import { Month } from '../../lib/request-schemas'
import { authPlugin } from '../auth'
import type { Authenticator } from '../auth/service'
import { currentPeriod, parsePeriod } from './period'
import { usageReport } from './service'

export function usagePlugin(sql: Sql, authenticate: Authenticator) {
  return new Elysia({ name: 'usage' })
    .use(authPlugin(authenticate))
    .get('/llm/usage', ({ principal, query }) => usageReport(sql, principal.accountId, query.period ? parsePeriod(query.period) : currentPeriod()), {
      query: t.Object({ period: t.Optional(Month('YYYY-MM (UTC), from 1970-01 to 9999-12; default: this month')) }),
      detail: { tags: ['usage'], summary: "This key's account usage and cost for a calendar month", security: [{ bearer: [] }, { apiKey: [] }] },
    })
}
