// Platform mode from a test's side: an account, its projects and keys, sessions, all through the public HTTP API.
import { uniqueId } from './db'

export interface Answer<T = Record<string, any>> {
  status: number
  body: T
}

/** One JSON call; `key` goes in Authorization, `headers` beside it. */
export async function call<T = Record<string, any>>(
  url: string,
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await response.text()
  return { status: response.status, body: text ? (JSON.parse(text) as T) : ({} as T) }
}

/** A registered account; returns its own key (mw_live_…). */
export async function registerAccount(url: string, label = 'platform'): Promise<string> {
  const registered = await call(url, 'POST', '/agents/register', null, { agent_id: uniqueId(label), name: label })
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`)
  return registered.body.api_key as string
}

export interface TestProject {
  id: string
  accountKey: string
  live: string
  test: string
}

/** An account with a project (end-user sessions on) and one live and one test secret key. */
export async function projectWithKeys(url: string, settings: Record<string, unknown> = {}, accountKey?: string): Promise<TestProject> {
  const key = accountKey ?? (await registerAccount(url))
  const project = await call(url, 'POST', '/v1/projects', key, { name: 'Test app', end_user_sessions: true, ...settings })
  if (project.status !== 201) throw new Error(`project: ${project.status} ${JSON.stringify(project.body)}`)
  const secret = async (mode: string) => {
    const created = await call(url, 'POST', `/v1/projects/${project.body.id}/keys`, key, { mode })
    if (created.status !== 201) throw new Error(`key: ${created.status} ${JSON.stringify(created.body)}`)
    return created.body.secret_key as string
  }
  return { id: project.body.id, accountKey: key, live: await secret('live'), test: await secret('test') }
}

export async function mintSession(url: string, secretKey: string, body: Record<string, unknown>) {
  const minted = await call(url, 'POST', '/v1/sessions', secretKey, body)
  if (minted.status !== 201) throw new Error(`session: ${minted.status} ${JSON.stringify(minted.body)}`)
  return minted.body as { session_token: string; wallet_id: string; end_customer_id: string; expires_at: string; publishable_key: string | null; mode: string }
}
