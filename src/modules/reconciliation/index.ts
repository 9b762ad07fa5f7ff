// The reconciliation plugin under /admin (Postgres cost vs Stripe meter events, refused usage), behind `Authorization: Bearer $ADMIN_TOKEN`.
import { timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { AuthenticationError } from '../../errors'
import { extractApiKey, hashApiKey } from '../auth/service'
import { queryInteger } from '../../lib/request-schemas'
import { MANUAL_LIMIT, ReconciliationModel } from './model'
import { manualAdjustments, reconcile, type ReconciliationDeps } from './service'

export type { ReconciliationDeps } from './service'

/** Compares digests, not the tokens: equal lengths always, and the time taken says nothing about the token. */
function adminTokenMatcher(token: string) {
  const expected = Buffer.from(hashApiKey(token), 'hex')
  return (presented: string | undefined) => presented !== undefined && timingSafeEqual(Buffer.from(hashApiKey(presented), 'hex'), expected)
}

export function reconciliationPlugin(deps: ReconciliationDeps) {
  // An empty token would match nothing useful; refuse to build an open admin route.
  if (!deps.adminToken) throw new Error('reconciliationPlugin needs the admin token (ADMIN_TOKEN)')
  const isAdmin = adminTokenMatcher(deps.adminToken)
  const detail = (summary: string) => ({ tags: ['admin'], summary, security: [{ bearer: [] }] })
  return new Elysia({ name: 'reconciliation', prefix: '/admin/reconciliation' })
    // Local on purpose, as in the admin plugin: a scoped guard would lock every route mounted after this one.
    .derive(({ headers }) => {
      if (!isAdmin(extractApiKey(headers))) throw new AuthenticationError('Missing or invalid admin token.')
      return {}
    })
    .get('', ({ query }) => reconcile(deps, query.period), {
      query: ReconciliationModel.periodQuery,
      detail: detail('Per customer: usage cost in Postgres vs reported to Stripe, pending and refused, for a month (nano-USD)'),
    })
    .get('/manual-adjustments', ({ query }) => manualAdjustments(deps, query.period, queryInteger(query.limit, 'limit', MANUAL_LIMIT, 100)), {
      query: ReconciliationModel.manualQuery,
      detail: detail('Usage Stripe refused or would refuse (too old): to bill by a manual adjustment'),
    })
}
