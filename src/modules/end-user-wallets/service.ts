// End-user wallets: their balance as admission sees it, frozen or active, and credits in the ledger (raising the Redis wallet).
import { findWallet, findWalletById, setWalletStatus, type WalletRow } from '../../db/queries/end-customers'
import { insertCredit, ledgerBalance, recentLedger } from '../../db/queries/ledger'
import { GatewayError, InvalidRequestError, NotFoundError, ServiceUnavailableError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { Admission } from '../../limits/admission'
import { formatNanoAsUsd, parseUsdToNano } from '../../pricing/money'
import { IdempotencyKeyReusedError } from '../admin/service'
import type { ProjectPrincipal, SessionPrincipal } from '../auth/platform-credentials'
import { ledgerEntry } from '../wallet/service'
import type { EmitEvent } from '../webhooks/emitter'

export interface EndUserWalletDeps {
  sql: Sql
  admission: Pick<Admission, 'balance' | 'credit'>
  logger: Logger
  /** A wallet was frozen or unfrozen: cached sessions of its project are read again. */
  onProjectChanged(projectId: string): Promise<void>
  /** wallet.credited to the project's endpoints of the wallet's mode. */
  emit?: EmitEvent
}

/** As for agents' credits: Lua numbers are exact below 2^53 nano-USD, so one credit stays far below it. */
const MAX_CREDIT_NANO = 1_000_000n * 1_000_000_000n
const RECENT_ENTRIES = 10

const walletNotFound = (id: string) => new NotFoundError(`No wallet '${id}'.`, 'wallet_not_found', 'id')

/** This key's project and mode only: a wallet of another project or mode is not found. */
async function ownWallet(deps: EndUserWalletDeps, project: ProjectPrincipal, walletId: string): Promise<WalletRow> {
  const wallet = await findWallet(deps.sql, project.projectId, project.mode, walletId)
  if (!wallet) throw walletNotFound(walletId)
  return wallet
}

/** Redis's view, since that is what the next request is admitted against; a Redis error is a 503, not a guess. */
async function moneyOf(deps: EndUserWalletDeps, wallet: Pick<WalletRow, 'ledger_account_id'>) {
  try {
    return await deps.admission.balance(wallet.ledger_account_id)
  } catch (error) {
    if (error instanceof GatewayError) throw error
    throw new ServiceUnavailableError('The wallet balance is unavailable right now. Try again shortly.', 'wallet_unavailable')
  }
}

async function walletBody(deps: EndUserWalletDeps, wallet: WalletRow) {
  const money = await moneyOf(deps, wallet)
  return {
    id: wallet.id,
    object: 'wallet' as const,
    end_customer_id: wallet.end_customer_id,
    mode: wallet.mode,
    balance_usd: formatNanoAsUsd(money.availableNano + money.heldNano),
    held_usd: formatNanoAsUsd(money.heldNano),
    available_usd: formatNanoAsUsd(money.availableNano),
    currency: 'USD' as const,
    status: wallet.status,
  }
}

export async function readWallet(deps: EndUserWalletDeps, project: ProjectPrincipal, walletId: string) {
  return walletBody(deps, await ownWallet(deps, project, walletId))
}

export async function changeWalletStatus(deps: EndUserWalletDeps, project: ProjectPrincipal, walletId: string, status: 'active' | 'frozen') {
  const wallet = await setWalletStatus(deps.sql, project.projectId, project.mode, walletId, status)
  if (!wallet) throw walletNotFound(walletId)
  await deps.onProjectChanged(project.projectId)
  return walletBody(deps, wallet)
}

function parseCreditAmount(usd: string): bigint {
  const nano = parseUsdToNano(usd)
  if (nano <= 0n) throw new InvalidRequestError(`Invalid value for 'amount_usd': a credit must be greater than 0 (got "${usd}").`, 'amount_usd', 'invalid_value')
  if (nano > MAX_CREDIT_NANO) throw new InvalidRequestError(`Invalid value for 'amount_usd': one credit can add at most $${formatNanoAsUsd(MAX_CREDIT_NANO)}.`, 'amount_usd', 'invalid_value')
  return nano
}

/**
 * A ledger credit once per Idempotency-Key, then the Redis wallet raised, as the admin credit does for agents:
 * Postgres is the truth, and the Redis step is idempotent per ledger id, so it runs on replays too.
 */
export async function creditWallet(deps: EndUserWalletDeps, project: ProjectPrincipal, walletId: string, usd: string, reason: string, idempotencyKey: string | undefined) {
  const amountNano = parseCreditAmount(usd)
  const wallet = await ownWallet(deps, project, walletId)
  // The wallet id names the holder, so one wallet's key never replays another's credit.
  const reference = idempotencyKey === undefined ? crypto.randomUUID() : `wallet-credit:${wallet.id}:${idempotencyKey}`
  const { row, created } = await insertCredit(deps.sql, wallet.ledger_account_id, amountNano, reference, reason)
  try {
    await deps.admission.credit(wallet.ledger_account_id, BigInt(row.amount_nano), row.id)
  } catch (error) {
    deps.logger.warn('end-user wallet credit not applied in Redis; it will be on the next rebuild or retry', { walletId, ledgerId: row.id, error: (error as Error).message })
  }
  if (!created && (BigInt(row.amount_nano) !== amountNano || row.reason !== reason)) throw new IdempotencyKeyReusedError()
  const balance = await ledgerBalance(deps.sql, wallet.ledger_account_id)
  if (created) {
    deps.emit?.({
      accountId: project.accountId,
      project: { id: project.projectId, mode: project.mode },
      type: 'wallet.credited',
      id: `evt_ledger_${row.id}`,
      data: { wallet_id: wallet.id, end_customer_id: wallet.end_customer_id, mode: project.mode, ledger_id: row.id, amount_usd: formatNanoAsUsd(BigInt(row.amount_nano)), balance_usd: formatNanoAsUsd(balance), reason: row.reason },
    })
  }
  return {
    created,
    body: { ledger_id: row.id, wallet_id: wallet.id, amount_usd: formatNanoAsUsd(BigInt(row.amount_nano)), created, balance_usd: formatNanoAsUsd(balance) },
  }
}

/** The session's own wallet, as the browser shows it. */
export async function sessionBalance(deps: EndUserWalletDeps, session: SessionPrincipal) {
  const wallet = await findWalletById(deps.sql, session.walletId)
  if (!wallet) throw walletNotFound(session.walletId)
  const [money, ledger] = await Promise.all([moneyOf(deps, wallet), recentLedger(deps.sql, wallet.ledger_account_id, RECENT_ENTRIES)])
  return {
    balance_usd: formatNanoAsUsd(money.availableNano + money.heldNano),
    held_usd: formatNanoAsUsd(money.heldNano),
    available_usd: formatNanoAsUsd(money.availableNano),
    currency: 'USD' as const,
    status: wallet.status,
    recent_ledger: ledger.map(ledgerEntry),
  }
}
