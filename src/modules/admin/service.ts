// Admin operations on agents: subscription, spending cap, limits, keys; each evicts the cached principals it changes.
import { findAccount, setLimits, setSpendCap, setSubscriptionStatus } from '../../db/queries/accounts'
import { insertApiKey, revokeApiKey } from '../../db/queries/keys'
import { NotFoundError } from '../../errors'
import type { Sql } from '../../lib/db'
import { formatNanoAsUsd, parseUsdToNano } from '../../pricing/money'
import { mintApiKey } from '../auth/keys'

export interface AdminDeps {
  sql: Sql
  onAccountChanged(accountId: string): Promise<void>
  onKeyRevoked(keyHash: string): Promise<void>
}

const agentNotFound = (agentId: string) => new NotFoundError(`No agent '${agentId}'.`, 'agent_not_found', 'agent_id')

export async function setAgentSubscription(deps: AdminDeps, agentId: string, status: 'active' | 'canceled') {
  if (!(await setSubscriptionStatus(deps.sql, agentId, status))) throw agentNotFound(agentId)
  await deps.onAccountChanged(agentId)
  return { agent_id: agentId, subscription_status: status }
}

export async function setAgentSpendCap(deps: AdminDeps, agentId: string, usd: string | null) {
  const capNano = usd === null ? null : parseUsdToNano(usd)
  if (!(await setSpendCap(deps.sql, agentId, capNano))) throw agentNotFound(agentId)
  await deps.onAccountChanged(agentId)
  return { agent_id: agentId, spend_cap_usd: capNano === null ? null : formatNanoAsUsd(capNano) }
}

export async function setAgentLimits(deps: AdminDeps, agentId: string, rpm: number | null, tpm: number | null) {
  if (!(await setLimits(deps.sql, agentId, rpm, tpm))) throw agentNotFound(agentId)
  await deps.onAccountChanged(agentId)
  return { agent_id: agentId, rpm, tpm }
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
