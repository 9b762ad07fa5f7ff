// Agent registration: the account and its first key, created together or not at all.
import { insertAccount } from '../../db/queries/accounts'
import { insertApiKey } from '../../db/queries/keys'
import { GatewayError } from '../../errors'
import type { Sql } from '../../lib/db'
import { mintApiKey } from '../auth/keys'

export class AgentIdTakenError extends GatewayError {
  constructor(agentId: string) {
    super(409, 'invalid_request_error', `The agent_id '${agentId}' is already registered.`, 'agent_id_taken', 'agent_id')
  }
}

export interface Registration {
  agentId: string
  name: string
  description: string
  capabilities: string[]
}

export async function registerAgent(sql: Sql, registration: Registration) {
  const minted = mintApiKey('live')
  const created = await sql.begin(async (tx) => {
    const inserted = await insertAccount(tx, {
      id: registration.agentId,
      name: registration.name,
      description: registration.description,
      capabilities: registration.capabilities,
    })
    if (!inserted) return false
    await insertApiKey(tx, { id: minted.id, accountId: registration.agentId, hash: minted.hash, display: minted.display, mode: 'live' })
    return true
  })
  if (!created) throw new AgentIdTakenError(registration.agentId)
  return {
    agent_id: registration.agentId,
    name: registration.name,
    description: registration.description,
    capabilities: registration.capabilities,
    api_key: minted.key,
    key_id: minted.id,
    subscription_status: 'none',
    created_at: new Date().toISOString(),
  }
}
