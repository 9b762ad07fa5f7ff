// The reconciliation plugin under /admin (Postgres cost vs Stripe meter events, refused usage), behind `Authorization: Bearer $ADMIN_TOKEN`.
import { Elysia } from 'elysia'
import { queryInteger } from '../../lib/request-schemas'
import type { AdminGuard } from '../auth/admin-guard'
import { MANUAL_LIMIT, ReconciliationModel } from './model'
import { manualAdjustments, reconcile, type ReconciliationDeps } from './service'

export interface ReconciliationOptions extends ReconciliationDeps {
  /** The admin guard (src/modules/auth/admin-guard.ts); the plugin is mounted only when ADMIN_TOKEN is set. */
  guard: AdminGuard
}

export function reconciliationPlugin({ guard, ...deps }: ReconciliationOptions) {
  const detail = (summary: string) => ({ tags: ['admin'], summary, security: [{ bearer: [] }] })
  return new Elysia({ name: 'reconciliation', prefix: '/admin/reconciliation' })
    // Local on purpose, as in the admin plugin: a scoped guard would lock every route mounted after this one.
    .derive(({ headers, request }) => {
      guard({ headers, request })
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
