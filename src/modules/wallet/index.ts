// The wallet plugin: GET /llm/balance (agent key) — the prepaid wallet's balance, holds and recent ledger.
import { Elysia } from 'elysia'
import type { Sql } from '../../lib/db'
import type { Admission } from '../../limits/admission'
import { authPlugin } from '../auth'
import type { Authenticator } from '../auth/service'
import { BalanceResponse } from './model'
import { walletBalance } from './service'

export interface WalletDeps {
  sql: Sql
  admission: Pick<Admission, 'balance'>
  authenticate: Authenticator
}

export function walletPlugin(deps: WalletDeps) {
  const service = { sql: deps.sql, admission: deps.admission }
  return new Elysia({ name: 'wallet' })
    .use(authPlugin(deps.authenticate))
    .get('/llm/balance', ({ principal }) => walletBalance(service, principal), {
      response: BalanceResponse,
      detail: {
        tags: ['wallet'],
        summary: "The caller's prepaid wallet: balance, held and available amounts (USD), and the last 20 ledger entries",
        security: [{ bearer: [] }, { apiKey: [] }],
      },
    })
}
