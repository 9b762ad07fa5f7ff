// Hostile inputs for the e2e tests: deep JSON, values put at a field path, chunked bodies, raw HTTP, and the check that an answer is our error shape.
import { expect } from 'bun:test'
import { connect } from 'node:net'

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** `[[[…]]]`, `levels` deep. */
export const deepArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)
/** `{"a":{"a":…1}}`, `levels` deep. */
export const deepObjects = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)

/** "messages[0].content" → ["messages", 0, "content"]. */
function segments(path: string): (string | number)[] {
  return path.split(/\.|(?=\[)/).map((part) => (part.startsWith('[') ? Number(part.slice(1, -1)) : part))
}

/** A copy of `body` with `value` at `path` (created if missing). */
export function withValue(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body)
  const keys = segments(path)
  let at: Record<string | number, unknown> = copy
  for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string | number, unknown>
  at[keys[keys.length - 1]!] = value
  return copy
}

/** The JSON text of `body` with the raw JSON `rawValue` (e.g. deepArrays(10_000)) at `path`. */
export function jsonWithRaw(body: Record<string, unknown>, path: string, rawValue: string): string {
  const marker = `__raw_${crypto.randomUUID()}__`
  return JSON.stringify(withValue(body, path, marker)).replace(`"${marker}"`, rawValue)
}

/** A body sent without Content-Length (Transfer-Encoding: chunked), `size` bytes in 16 KiB chunks. */
export function chunkedBody(size: number): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close()
      const chunk = new Uint8Array(Math.min(16 * 1024, size - sent)).fill(0x20)
      sent += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
}

/** Sends raw bytes over TCP and returns what came back before the server closed or `waitMs` passed. */
export function rawHttp(url: string, request: string, waitMs = 2_000): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    let answer = ''
    const socket = connect(Number(port), hostname)
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(done, waitMs)
    socket.on('data', (data) => {
      answer += data.toString('latin1')
      // One complete answer is all we want: a status line, headers, and the body its Content-Length announces.
      const [head, body = ''] = answer.split('\r\n\r\n')
      const length = /content-length: (\d+)/i.exec(head ?? '')?.[1]
      if (answer.includes('\r\n\r\n') && (length === undefined || body.length >= Number(length))) done()
    })
    socket.on('close', done)
    socket.on('error', done)
    socket.write(request)
  })
}

export interface Expected {
  status: number | '4xx'
  code?: string
  /** The exact param, or a prefix ending in "…" (deep paths are long). */
  param?: string | null
}

/** The answer is a client error in our one shape (status, code and param as expected); never a 5xx. */
export async function expectError(response: Response, expected: Expected, label = ''): Promise<ErrorBody> {
  const text = await response.text()
  const context = `${label} → ${response.status} ${text.slice(0, 300)}`
  if (expected.status === '4xx') expect(response.status >= 400 && response.status < 500, context).toBe(true)
  else expect(response.status, context).toBe(expected.status)
  expect(response.headers.get('content-type'), context).toStartWith('application/json')
  const json = JSON.parse(text) as ErrorBody
  expect(Object.keys(json), context).toEqual(['error'])
  expect(Object.keys(json.error).sort(), context).toEqual(['code', 'message', 'param', 'type'])
  expect(json.error.message.length, context).toBeGreaterThan(10)
  if (expected.code !== undefined) expect(json.error.code, context).toBe(expected.code)
  if (expected.param === null) expect(json.error.param, context).toBeNull()
  else if (expected.param?.endsWith('…')) expect(json.error.param ?? '', context).toStartWith(expected.param.slice(0, -1))
  else if (expected.param !== undefined) expect(json.error.param, context).toBe(expected.param)
  return json
}

/** Anthropic's error type for each status our refusals use (docs.claude.com/en/api/errors). */
const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
}

/**
 * The same refusal on an Anthropic Messages API route: Anthropic's shape, which has no code or param, so the status
 * says the type and the message must name the param.
 */
export async function expectAnthropicError(response: Response, expected: Expected, label = ''): Promise<void> {
  const text = await response.text()
  const context = `${label} → ${response.status} ${text.slice(0, 300)}`
  if (expected.status === '4xx') expect(response.status >= 400 && response.status < 500, context).toBe(true)
  else expect(response.status, context).toBe(expected.status)
  expect(response.headers.get('content-type'), context).toStartWith('application/json')
  const json = JSON.parse(text) as { type: string; error: { type: string; message: string }; request_id: string }
  expect(Object.keys(json).sort(), context).toEqual(['error', 'request_id', 'type'])
  expect(json.type, context).toBe('error')
  expect(Object.keys(json.error).sort(), context).toEqual(['message', 'type'])
  expect(json.error.type, context).toBe(ANTHROPIC_TYPE[response.status] ?? 'invalid_request_error')
  expect(json.request_id, context).toBe(response.headers.get('x-request-id')!)
  expect(json.error.message.length, context).toBeGreaterThan(10)
  if (expected.param) expect(json.error.message, context).toContain(expected.param.endsWith('…') ? expected.param.slice(0, -1) : expected.param)
}
