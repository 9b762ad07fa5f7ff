// Admin operations on agents: subscription, spending cap, limits, keys, billing mode, wallet credits; changes to the account evict its cached principals.
import { findAccount, setLimits, setSpendCap, setSubscriptionStatus } from '../../db/queries/accounts'
import { setBillingMode, type BillingMode } from '../../db/queries/billing'
import { insertApiKey, revokeApiKey } from '../../db/queries/keys'
import { insertCredit, ledgerBalance } from '../../db/queries/ledger'
import { GatewayError, InvalidRequestError, NotFoundError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { Admission } from '../../limits/admission'
import { formatNanoAsUsd, parseUsdToNano } from '../../pricing/money'
import { mintApiKey } from '../auth/keys'
import type { EmitEvent } from '../webhooks/emitter'
import { setLowBalanceThreshold } from '../../db/queries/low-balance'

export interface AdminDeps {
  sql: Sql
  onAccountChanged(accountId: string): Promise<void>
  onKeyRevoked(keyHash: string): Promise<void>
  /** Raises the Redis wallet after a credit is committed in Postgres. */
  admission: Pick<Admission, 'credit'>
  logger: Logger
  /** Webhook events (wallet.credited, subscription.updated); optional so the admin API runs without them. */
  emit?: EmitEvent
}

const agentNotFound = (agentId: string) => new NotFoundError(`No agent '${agentId}'.`, 'agent_not_found', 'agent_id')

export async function setAgentSubscription(deps: AdminDeps, agentId: string, status: 'active' | 'canceled') {
  if (!(await setSubscriptionStatus(deps.sql, agentId, status))) throw agentNotFound(agentId)
  await deps.onAccountChanged(agentId)
  deps.emit?.({ accountId: agentId, type: 'subscription.updated', data: { subscription_status: status, source: 'admin' } })
  return { agent_id: agentId, subscription_status: status }
}

export async function setAgentSpendCap(deps: AdminDeps, agentId: string, usd: string | null) {
  const capNano = usd === null ? null : parseUsdToNano(usd)
  if (!(await setSpendCap(deps.sql, agentId, capNano))) throw agentNotFound(agentId)
  await deps.onAccountChanged(agentId)
  return { agent_id: agentId, spend_cap_usd: capNano === null ? null : formatNanoAsUsd(capNano) }
}

/** A partial update: `{rpm: 5}` leaves tpm as it was; null puts one back to the gateway default. */
export async function setAgentLimits(deps: AdminDeps, agentId: string, changes: { rpm?: number | null; tpm?: number | null }) {
  const limits = await setLimits(deps.sql, agentId, changes)
  if (!limits) throw agentNotFound(agentId)
  await deps.onAccountChanged(agentId)
  return { agent_id: agentId, rpm: limits.rpm, tpm: limits.tpm }
}

export async function createAgentKey(deps: AdminDeps, agentId: string) {
  if (!(await findAccount(deps.sql, agentId))) throw agentNotFound(agentId)
  const minted = mintApiKey('live')
  await insertApiKey(deps.sql, { id: minted.id, accountId: agentId, hash: minted.hash, display: minted.display, mode: 'live' })
  return { agent_id: agentId, key_id: minted.id, api_key: minted.key }
}

export async function revokeKey(deps: AdminDeps, keyId: string) {
  const revoked = await revokeApiKey(deps.sql, keyId)
  if (!revoked) throw new NotFoundError(`No live key '${keyId}'.`, 'key_not_found', 'key_id')
  await deps.onKeyRevoked(revoked.hash)
  return { key_id: keyId, agent_id: revoked.accountId, revoked: true }
}

export async function setAgentBillingMode(deps: AdminDeps, agentId: string, mode: BillingMode) {
  if (!(await setBillingMode(deps.sql, agentId, mode))) throw agentNotFound(agentId)
  await deps.onAccountChanged(agentId)
  return { agent_id: agentId, billing_mode: mode }
}

/**
 * One credit at most $1,000,000: the wallet scripts compute in Lua numbers (doubles), exact only below 2^53 nano-USD
 * (about $9M), so a single typo must not push a wallet out of the exact range.
 */
const MAX_CREDIT_NANO = 1_000_000n * 1_000_000_000n

function parseCreditAmount(usd: string): bigint {
  let nano: bigint
  try {
    nano = parseUsdToNano(usd)
  } catch {
    throw new InvalidRequestError(`Invalid value for 'usd': ${JSON.stringify(usd)} is not a USD amount like "10.00" (at most 9 decimals).`, 'usd', 'invalid_value')
  }
  if (nano <= 0n) throw new InvalidRequestError(`Invalid value for 'usd': a credit must be greater than 0 (got ${JSON.stringify(usd)}).`, 'usd', 'invalid_value')
  if (nano > MAX_CREDIT_NANO) {
    throw new InvalidRequestError(`Invalid value for 'usd': one credit can add at most $${formatNanoAsUsd(MAX_CREDIT_NANO)}.`, 'usd', 'invalid_value')
  }
  return nano
}

/** A replayed Idempotency-Key that came with a different amount or reason: answering the old credit would hide the mistake. */
export class IdempotencyKeyReusedError extends GatewayError {
  constructor() {
    super(
      409,
      'invalid_request_error',
      'This Idempotency-Key was already used for a credit with a different amount or reason. Use a new key for a new credit.',
      'idempotency_key_reused',
      'idempotency-key',
    )
  }
}

const isForeignKeyViolation = (error: unknown) => (error as { code?: unknown } | null)?.code === '23503'

export interface CreditOutcome {
  created: boolean
  body: { ledger_id: string; agent_id: string; amount_usd: string; reference: string; created: boolean; balance_usd: string }
}

/**
 * Adds a ledger credit once per Idempotency-Key, then raises the Redis wallet. Postgres is the truth: once the row is
 * committed the credit exists, whatever Redis does; the Redis step is idempotent per ledger id, so it runs on replays too.
 */
export async function creditAgent(deps: AdminDeps, agentId: string, usd: string, reason: string, idempotencyKey: string | undefined): Promise<CreditOutcome> {
  const amountNano = parseCreditAmount(usd)
  if (!(await findAccount(deps.sql, agentId))) throw agentNotFound(agentId)
  // Agent ids cannot contain ':', so the agent part of the reference is unambiguous and one agent's key never replays another's credit.
  const reference = idempotencyKey === undefined ? crypto.randomUUID() : `credit:${agentId}:${idempotencyKey}`
  let outcome: Awaited<ReturnType<typeof insertCredit>>
  try {
    outcome = await insertCredit(deps.sql, agentId, amountNano, reference, reason)
  } catch (error) {
    if (isForeignKeyViolation(error)) throw agentNotFound(agentId)
    throw error
  }
  const { row, created } = outcome
  try {
    // The committed row's amount, not the request's: on a replay they may differ, and Redis must match Postgres.
    await deps.admission.credit(agentId, BigInt(row.amount_nano), row.id)
  } catch (error) {
    // The credit is committed; a wallet rebuilt from Postgres counts it, and a retry with the same key applies it here.
    deps.logger.warn('wallet credit not applied in Redis; it will be on the next rebuild or retry', {
      agentId,
      ledgerId: row.id,
      error: (error as Error).message,
    })
  }
  if (!created && (BigInt(row.amount_nano) !== amountNano || row.reason !== reason)) throw new IdempotencyKeyReusedError()
  const balance = await ledgerBalance(deps.sql, agentId)
  if (created) {
    deps.emit?.({
      accountId: agentId,
      type: 'wallet.credited',
      id: `evt_ledger_${row.id}`,
      data: { ledger_id: row.id, amount_usd: formatNanoAsUsd(BigInt(row.amount_nano)), balance_usd: formatNanoAsUsd(balance), reason: row.reason },
    })
  }
  return {
    created,
    body: {
      ledger_id: row.id,
      agent_id: agentId,
      amount_usd: formatNanoAsUsd(BigInt(row.amount_nano)),
      reference: row.reference,
      created,
      balance_usd: formatNanoAsUsd(balance),
    },
  }
}

export async function setAgentLowBalanceThreshold(deps: AdminDeps, agentId: string, usd: string | null) {
  const thresholdNano = usd === null ? null : parseUsdToNano(usd)
  if (!(await setLowBalanceThreshold(deps.sql, agentId, thresholdNano))) throw agentNotFound(agentId)
  return { agent_id: agentId, low_balance_threshold_usd: thresholdNano === null ? null : formatNanoAsUsd(thresholdNano) }
}
