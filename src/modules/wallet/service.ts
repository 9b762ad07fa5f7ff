// GET /llm/balance: the prepaid wallet as admission sees it (Redis, rebuilt from Postgres when missing) and its recent ledger.
import { recentLedger, type LedgerRow } from '../../db/queries/ledger'
import { GatewayError, InvalidRequestError, ServiceUnavailableError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { Admission } from '../../limits/admission'
import { formatNanoAsUsd } from '../../pricing/money'
import type { Principal } from '../auth/service'

export interface WalletServiceDeps {
  sql: Sql
  admission: Pick<Admission, 'balance'>
}

const RECENT_ENTRIES = 20

export function ledgerEntry(row: LedgerRow) {
  return {
    id: row.id,
    kind: row.kind,
    amount_usd: formatNanoAsUsd(BigInt(row.amount_nano)),
    reference: row.reference,
    reason: row.reason,
    created_at: row.created_at.toISOString(),
  }
}

/** Redis's view, since that is what the next request is admitted against; a Redis error is a 503, not a guess from Postgres. */
async function walletOf(deps: WalletServiceDeps, accountId: string) {
  try {
    return await deps.admission.balance(accountId)
  } catch (error) {
    if (error instanceof GatewayError) throw error
    throw new ServiceUnavailableError('The wallet balance is unavailable right now. Try again shortly.', 'wallet_unavailable')
  }
}

export async function walletBalance(deps: WalletServiceDeps, principal: Principal) {
  if (principal.kind === 'static') {
    throw new InvalidRequestError(
      'This is a static gateway key (GATEWAY_API_KEYS), which has no wallet. Call GET /llm/balance with an agent key.',
      null,
      'wallet_not_available',
    )
  }
  const [wallet, ledger] = await Promise.all([walletOf(deps, principal.accountId), recentLedger(deps.sql, principal.accountId, RECENT_ENTRIES)])
  return {
    balance_usd: formatNanoAsUsd(wallet.availableNano + wallet.heldNano),
    held_usd: formatNanoAsUsd(wallet.heldNano),
    available_usd: formatNanoAsUsd(wallet.availableNano),
    currency: 'USD' as const,
    billing_mode: principal.billingMode,
    recent_ledger: ledger.map(ledgerEntry),
  }
}
