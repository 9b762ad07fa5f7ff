// The customers plugin: /v1/customers (secret key) — the project's end customers in the key's mode, with wallet totals from the ledger.
import { Elysia } from 'elysia'
import type { Sql } from '../../lib/db'
import { queryInteger } from '../../lib/request-schemas'
import { secretKeyPlugin, type PlatformAuth } from '../auth/platform'
import { CUSTOMERS_LIMIT, CustomerModel } from './model'
import { listProjectCustomers, readCustomer } from './service'

export function customersPlugin(deps: { sql: Sql; auth: PlatformAuth }) {
  const detail = (summary: string) => ({ tags: ['customers'], summary, security: [{ bearer: [] }] })
  return new Elysia({ name: 'customers', prefix: '/v1/customers' })
    .use(secretKeyPlugin(deps.auth))
    .get('/', ({ project, query }) => listProjectCustomers(deps.sql, project, queryInteger(query.limit, 'limit', CUSTOMERS_LIMIT, 10), query.starting_after ?? null), {
      query: CustomerModel.listQuery,
      response: CustomerModel.list,
      detail: detail("End customers of the key's project and mode, oldest id first, with balance and lifetime totals"),
    })
    .get('/:id', ({ project, params }) => readCustomer(deps.sql, project, params.id), {
      params: CustomerModel.customerParams,
      response: CustomerModel.detail,
      detail: detail('One end customer with the last 20 entries of their wallet'),
    })
}
