// The payment methods the bench drives through the gateway, their keys (agents made through the gateway's own API), and the requests it sends.
import type { Kind } from './lib-options'
import type { Target } from './lib-load'

export const METHODS = ['static', 'postpaid', 'prepaid', 'session'] as const
export type Method = (typeof METHODS)[number]
/** What sits in front of the mock in a scenario: the floor, or the gateway paid one way. */
export type Relay = 'floor' | Method

export const RELAY_LABELS: Record<Relay, string> = {
  floor: 'floor',
  static: 'static key (rpm limit)',
  postpaid: 'postpaid + cap',
  prepaid: 'prepaid wallet',
  session: 'session wallet',
}

/**
 * GATEWAY_API_KEYS of the bench gateway; DEFAULT_RPM is set so high that its admission runs and never refuses. Its
 * own name (not bench:capacity's `bench-key`), so the Redis keys of its subject are this bench's to drop.
 */
export const STATIC_KEY = 'bench-run-key'
/** The admin API exists only with a token of 32+ characters; this one lives as long as the bench's gateway. */
export const ADMIN_TOKEN = `bench-admin-${crypto.randomUUID()}`
/** $1,000,000 (10^15 nano-USD): the cap and the wallet are never what stops the load. The most one credit may add. */
const PLENTY_USD = '1000000'

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant.' },
  { role: 'user', content: 'In one sentence: what does a metering gateway do?' },
]

/** The `user` the mock answers one chunk a write, 1 ms apart (bench/mock-upstream.ts). */
export const PACED_USER = 'bench-paced'

/**
 * One request shape for every relay: the floor strips `openai/`, the gateway resolves it. No max_tokens, so a prepaid
 * stream holds progressively (slices of PROGRESSIVE_HOLD_TOKENS): the mock's 20 chunks must still pass uncut.
 */
export function requestBody(kind: Kind): string {
  const model = 'openai/gpt-4o'
  if (kind === 'json') return JSON.stringify({ model, messages: MESSAGES })
  // `user` passes through every relay to the mock, which then sends one chunk a write (bench/mock-upstream.ts).
  return JSON.stringify({ model, messages: MESSAGES, stream: true, stream_options: { include_usage: true }, ...(kind === 'paced' ? { user: PACED_USER } : {}) })
}

/**
 * Checked on every response of the load (autocannon's verifyBody; a failure counts as a mismatch): a complete answer
 * that stopped on its own. A stream a progressive hold cut would end in `"finish_reason":"length"`.
 */
export function completeBody(kind: Kind): (body: string) => boolean {
  if (kind === 'json') return (body) => body.includes('"finish_reason":"stop"')
  return (body) => body.includes('"finish_reason":"stop"') && body.endsWith('data: [DONE]\n\n')
}

export function target(port: number, kind: Kind, key: string | null): Target {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key !== null) headers.authorization = `Bearer ${key}`
  return { url: `http://127.0.0.1:${port}/v1/chat/completions`, headers, body: requestBody(kind), complete: completeBody(kind) }
}

async function call(port: number, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`setting up the bench agents: ${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`)
  return JSON.parse(text)
}

/** Registers an agent through POST /agents/register (as a customer would) and activates its subscription. */
async function registerAgent(port: number, method: Method): Promise<{ agentId: string; apiKey: string }> {
  const agentId = `bench-run-${method}-${crypto.randomUUID().slice(0, 8)}`
  const registered = (await call(port, 'POST', '/agents/register', { agent_id: agentId, name: `bench ${method}` })) as { api_key: string }
  await call(port, 'POST', `/admin/agents/${agentId}/subscription`, { status: 'active' })
  return { agentId, apiKey: registered.api_key }
}

/**
 * The key each method is called with. Agents are new every run (their money starts clean) and billed through the
 * admin API, which evicts the cached principal: postpaid with a cap (so admission checks spend + holds against it),
 * prepaid with a ledger credit (which the admin API also raises in the Redis wallet).
 */
export async function methodKeys(port: number, methods: readonly Method[]): Promise<Record<Method, string>> {
  const keys: Record<Method, string> = { static: STATIC_KEY, postpaid: '', prepaid: '', session: '' }
  if (methods.includes('postpaid')) {
    const agent = await registerAgent(port, 'postpaid')
    await call(port, 'PUT', `/admin/agents/${agent.agentId}/spend-cap`, { usd: PLENTY_USD })
    keys.postpaid = agent.apiKey
  }
  if (methods.includes('prepaid')) {
    const agent = await registerAgent(port, 'prepaid')
    await call(port, 'PUT', `/admin/agents/${agent.agentId}/billing`, { mode: 'prepaid' })
    await call(port, 'POST', `/admin/agents/${agent.agentId}/credit`, { usd: PLENTY_USD, reason: 'bench load' }, { 'idempotency-key': agent.agentId })
    keys.prepaid = agent.apiKey
  }
  if (methods.includes('session')) keys.session = await sessionToken(port)
  return keys
}

/**
 * An end user's session token, as a platform's backend gets one: the agent's project (end-user sessions on), its live
 * secret key, a session for one end user (no max_spend, so its wallet is the only limit) and a credit to that user's
 * wallet. The token lives an hour, longer than a run.
 */
async function sessionToken(port: number): Promise<string> {
  const owner = await registerAgent(port, 'session')
  const asOwner = { authorization: `Bearer ${owner.apiKey}` }
  const project = (await call(port, 'POST', '/v1/projects', { name: 'bench', end_user_sessions: true }, asOwner)) as { id: string }
  const { secret_key: secret } = (await call(port, 'POST', `/v1/projects/${project.id}/keys`, { mode: 'live' }, asOwner)) as { secret_key: string }
  const asBackend = { authorization: `Bearer ${secret}` }
  const session = (await call(port, 'POST', '/v1/sessions', { customer: `bench-user-${owner.agentId}`, ttl_seconds: 3600 }, asBackend)) as {
    session_token: string
    wallet_id: string
  }
  await call(port, 'POST', `/v1/wallets/${session.wallet_id}/credit`, { amount_usd: PLENTY_USD, reason: 'bench load' }, { ...asBackend, 'idempotency-key': owner.agentId })
  return session.session_token
}
