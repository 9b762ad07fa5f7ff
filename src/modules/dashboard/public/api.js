// The dashboard's only way to the gateway: JSON calls with the account key as a Bearer token, errors turned into ApiError with the gateway's message.

const STORAGE_KEY = 'meterway.accountKey'

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `The gateway answered ${status}.`)
    this.status = status
    this.code = body?.error?.code ?? null
    this.param = body?.error?.param ?? null
  }
}

/** The key kept for this tab only (sessionStorage): closing the tab signs out. */
export const savedKey = () => sessionStorage.getItem(STORAGE_KEY)
export const saveKey = (key) => sessionStorage.setItem(STORAGE_KEY, key)
export const forgetKey = () => sessionStorage.removeItem(STORAGE_KEY)

export function createApi(key) {
  async function call(method, path, body, headers = {}) {
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
    })
    const text = await response.text()
    let parsed = null
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {
      parsed = null
    }
    if (!response.ok) throw new ApiError(response.status, parsed)
    return parsed
  }
  const query = (params) => {
    const entries = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== '')
    return entries.length ? `?${new URLSearchParams(entries)}` : ''
  }
  const project = (id) => `/v1/projects/${encodeURIComponent(id)}`
  return {
    projects: () => call('GET', '/v1/projects'),
    createProject: (body) => call('POST', '/v1/projects', body, { 'idempotency-key': crypto.randomUUID() }),
    updateProject: (id, body) => call('PATCH', project(id), body),
    keys: (id) => call('GET', `${project(id)}/keys`),
    createKey: (id, mode) => call('POST', `${project(id)}/keys`, { mode }, { 'idempotency-key': crypto.randomUUID() }),
    revokeKey: (id, keyId) => call('DELETE', `${project(id)}/keys/${encodeURIComponent(keyId)}`),
    customers: (id, params = {}) => call('GET', `${project(id)}/customers${query({ limit: 100, ...params })}`),
    dailyUsage: (id, params) => call('GET', `${project(id)}/usage/daily${query(params)}`),
    ledger: (id, params = {}) => call('GET', `${project(id)}/ledger${query({ limit: 50, ...params })}`),
    webhookEndpoints: (id) => call('GET', `${project(id)}/webhook_endpoints`),
    deliveries: (id, endpointId) => call('GET', `${project(id)}/webhook_endpoints/${encodeURIComponent(endpointId)}/deliveries`),
    connectStatus: () => call('GET', '/v1/connect/status'),
    connectOnboard: (returnUrl) => call('POST', '/v1/connect/onboard', { refresh_url: returnUrl, return_url: returnUrl }),
    payouts: () => call('GET', '/v1/connect/payouts'),
    // One key per click: a retry of the same click cannot pay twice, a new click is a new payout.
    payout: () => call('POST', '/v1/connect/payouts', undefined, { 'idempotency-key': crypto.randomUUID() }),
  }
}

/** What to tell someone whose key was refused, by what it looks like. */
export function signInProblem(key, error) {
  if (/^sk_(live|test)_/.test(key)) return 'That is a project secret key (sk_…). Sign in with your account key (mw_live_…), the one POST /agents/register gave you.'
  if (/^es_/.test(key)) return 'That is an end-user session token (es_…). Sign in with your account key (mw_live_…).'
  if (error?.status === 401) return 'That key was not accepted. Check it and try again: the dashboard needs your account key (mw_live_…).'
  if (error?.status === 403) return error.message
  if (error?.status === 429) return 'Too many wrong keys from this address: wait a minute and try again.'
  return `Could not sign in: ${error?.message ?? 'the gateway did not answer.'}`
}
