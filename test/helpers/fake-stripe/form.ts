// Wire helpers shared by every resource: answers, Stripe's error shape, form-field parsing, ids and API-key reading.
export interface Answer {
  status: number
  body: unknown
}

export const randomId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`

export function stripeError(status: number, type: string, message: string, extra: { code?: string; param?: string } = {}): Answer {
  return { status, body: { error: { type, message, ...extra, ...(extra.code ? { doc_url: `https://stripe.com/docs/error-codes/${extra.code.replaceAll('_', '-')}` } : {}) } } }
}

export const missing = (param: string) =>
  stripeError(400, 'invalid_request_error', `Missing required param: ${param}.`, { code: 'parameter_missing', param })

/** `metadata[agent_id]=x` → { agent_id: 'x' } for the given prefix. */
export function nested(form: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {}
  const open = `${prefix}[`
  for (const [key, value] of Object.entries(form)) {
    if (key.startsWith(open) && key.endsWith(']') && !key.slice(open.length, -1).includes('[')) out[key.slice(open.length, -1)] = value
  }
  return out
}

/** The secret key from `Authorization: Bearer sk_…` or HTTP Basic (`curl -u sk_…:`). */
export function presentedKey(request: Request): string | null {
  const header = request.headers.get('authorization') ?? ''
  if (/^bearer /i.test(header)) return header.slice(7).trim()
  if (/^basic /i.test(header)) return atob(header.slice(6).trim()).replace(/:.*$/, '')
  return null
}

export const masked = (key: string) => `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`
