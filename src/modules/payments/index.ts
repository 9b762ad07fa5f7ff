// The x402 payments admin plugin: GET /admin/payments?period=YYYY-MM, behind `Authorization: Bearer $ADMIN_TOKEN`.
import { Elysia } from 'elysia'
import { queryInteger } from '../../lib/request-schemas'
import type { AdminGuard } from '../auth/admin-guard'
import { PAYMENTS_LIMIT, PaymentsModel } from './model'
import { listPayments, type PaymentsDeps } from './service'

export interface PaymentsOptions extends PaymentsDeps {
  /** The admin guard (src/modules/auth/admin-guard.ts); the plugin is mounted only when ADMIN_TOKEN is set. */
  guard: AdminGuard
}

export function paymentsPlugin({ guard, ...deps }: PaymentsOptions) {
  return new Elysia({ name: 'x402-payments', prefix: '/admin/payments' })
    // Local on purpose, as in the admin plugin: a scoped guard would lock every route mounted after this one.
    .derive(({ headers, request }) => {
      guard({ headers, request })
      return {}
    })
    .get('', ({ query }) => listPayments(deps, query.period, queryInteger(query.limit, 'limit', PAYMENTS_LIMIT, 100), query.starting_after), {
      query: PaymentsModel.listQuery,
      detail: {
        tags: ['admin'],
        summary: 'x402 payments of a month (payer, route, amount, settlement transaction, status), paged',
        security: [{ bearer: [] }],
      },
    })
}
