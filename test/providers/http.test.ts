// postJson and the upstream pool: every request that never left the gateway rejects with a typed not-sent error.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Server } from 'bun'
import { GatewayCapacityError, GatewayError, UpstreamNotSentError, UpstreamUnreachableError } from '../../src/errors'
import { classifyFetchError, postJson, UpstreamPool } from '../../src/providers/http'

/** Counts requests that reached it; `/hold` answers a stream that stays open until release(). */
function startUpstream(tls?: { key: string; cert: string }) {
  let received = 0
  const held: ReadableStreamDefaultController<Uint8Array>[] = []
  const encoder = new TextEncoder()
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    tls,
    fetch: async (request) => {
      received++
      await request.arrayBuffer()
      if (new URL(request.url).pathname === '/hold') {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode('data: first\n\n'))
            held.push(controller)
          },
        })
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
      }
      return Response.json({ ok: true })
    },
  })
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${server.port}`,
    received: () => received,
    release: () => {
      for (const controller of held.splice(0)) {
        try {
          controller.enqueue(encoder.encode('data: [DONE]\n\n'))
          controller.close()
        } catch {
          // The client cancelled this one already.
        }
      }
    },
    stop: () => server.stop(true),
  }
}

/** A port nothing listens on: bound once by the kernel's choice, then closed. */
function closedPort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}

const never = () => new AbortController().signal

let upstream: ReturnType<typeof startUpstream>
beforeAll(() => {
  upstream = startUpstream()
})
afterAll(() => upstream.stop())

describe('requests that never left: not-sent errors', () => {
  test('a closed port → 502 upstream_unreachable, sent = false', async () => {
    const error = await postJson(`http://127.0.0.1:${closedPort()}/v1/chat/completions`, {}, '{}', never()).catch((e) => e)
    expect(error).toBeInstanceOf(UpstreamUnreachableError)
    expect(error).toBeInstanceOf(UpstreamNotSentError)
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.sent).toBe(false)
    expect(error.status).toBe(502)
    expect(error.code).toBe('upstream_unreachable')
    expect(error.message).toContain('ECONNREFUSED')
    // Clients never learn where the upstream lives.
    expect(error.message).not.toContain('127.0.0.1')
    expect(error.toBody().error.type).toBe('upstream_error')
  })

  test('a name that does not resolve → 502 upstream_unreachable, sent = false', async () => {
    const error = await postJson('http://meterway-no-such-host.invalid/v1/chat/completions', {}, '{}', never()).catch((e) => e)
    expect(error).toBeInstanceOf(UpstreamUnreachableError)
    expect(error.sent).toBe(false)
    expect(error.status).toBe(502)
  })

  test.skipIf(!Bun.which('openssl'))('a certificate the gateway does not trust → 502 upstream_unreachable; the upstream saw nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-tls-'))
    try {
      const made = Bun.spawnSync(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'])
      expect(made.exitCode).toBe(0)
      const tlsUpstream = startUpstream({ key: await Bun.file(join(dir, 'key.pem')).text(), cert: await Bun.file(join(dir, 'cert.pem')).text() })
      try {
        const error = await postJson(`${tlsUpstream.url}/v1/chat/completions`, {}, '{}', never()).catch((e) => e)
        expect(error).toBeInstanceOf(UpstreamUnreachableError)
        expect(error.sent).toBe(false)
        expect(tlsUpstream.received()).toBe(0)
      } finally {
        tlsUpstream.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('errors after the request may have left stay what they were (a reset is not "not sent")', () => {
    const reset = Object.assign(new TypeError('socket closed'), { code: 'ECONNRESET' })
    expect(classifyFetchError(reset)).toBeNull()
    expect(classifyFetchError(new DOMException('aborted', 'AbortError'))).toBeNull()
    expect(classifyFetchError(Object.assign(new TypeError('x'), { code: 'ENFILE' }))).toBeInstanceOf(GatewayCapacityError)
  })

  test('file descriptors exhausted (a real process under ulimit -n 64) → 503 gateway_capacity_exhausted; one freed fd and it sends again', async () => {
    const child = Bun.spawn(['sh', '-c', `ulimit -n 64; exec "${process.execPath}" test/providers/fd-exhaustion-child.ts "$1"`, 'sh', `${upstream.url}/v1/chat/completions`], {
      cwd: join(import.meta.dir, '..', '..'),
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
    expect({ code, err }).toEqual({ code: 0, err: '' })
    const result = JSON.parse(out)
    expect(result.held).toBeGreaterThan(0)
    expect(result.exhausted).toMatchObject({ ok: false, notSent: true, sent: false, status: 503, code: 'gateway_capacity_exhausted', type: 'service_unavailable', retryAfter: '1' })
    expect(result.exhausted.message).toContain('EMFILE')
    expect(result.recovered).toMatchObject({ ok: true, status: 200 })
  })
})

describe('our own pool', () => {
  test('full pool → 503 gateway_capacity_exhausted with Retry-After after the wait; nothing reaches the upstream', async () => {
    const pool = new UpstreamPool({ maxConnections: 1, waitMs: 20 })
    const before = upstream.received()
    const holder = new AbortController()
    const streaming = await pool.send(`${upstream.url}/hold`, { method: 'POST', body: '{}', signal: holder.signal })
    expect(pool.stats()).toEqual({ size: 1, active: 1, waiting: 0 })
    const error = await pool.send(`${upstream.url}/json`, { method: 'POST', body: '{}', signal: never() }).catch((e) => e)
    expect(error).toBeInstanceOf(GatewayCapacityError)
    expect(error.sent).toBe(false)
    expect(error.status).toBe(503)
    expect(error.code).toBe('gateway_capacity_exhausted')
    expect(error.headers['retry-after']).toBe('1')
    expect(upstream.received()).toBe(before + 1)
    // The slot is held while its call lasts: the body read, the caller ends the call (as a request's finish does).
    upstream.release()
    expect(await streaming.text()).toBe('data: first\n\ndata: [DONE]\n\n')
    expect(pool.stats().active).toBe(1)
    holder.abort()
    expect(pool.stats().active).toBe(0)
    const done = new AbortController()
    const next = await pool.send(`${upstream.url}/json`, { method: 'POST', body: '{}', signal: done.signal })
    expect(await next.json()).toEqual({ ok: true })
    done.abort()
    expect(pool.stats().active).toBe(0)
  })

  test('a waiter whose call is aborted → 503 not-sent, and the queue moves on', async () => {
    const pool = new UpstreamPool({ maxConnections: 1, waitMs: 60_000 })
    const holder = new AbortController()
    await pool.send(`${upstream.url}/hold`, { method: 'POST', body: '{}', signal: holder.signal })
    const before = upstream.received()
    const controller = new AbortController()
    const waiting = pool.send(`${upstream.url}/json`, { method: 'POST', body: '{}', signal: controller.signal }).catch((e) => e)
    const behindCall = new AbortController()
    const behind = pool.send(`${upstream.url}/json`, { method: 'POST', body: '{}', signal: behindCall.signal })
    expect(pool.stats().waiting).toBe(2)
    controller.abort(new Error('client went away'))
    const error = await waiting
    expect(error).toBeInstanceOf(GatewayCapacityError)
    expect(error.sent).toBe(false)
    expect(upstream.received()).toBe(before)
    // The holder's call ends: its slot goes to the next in line.
    holder.abort()
    expect(await (await behind).json()).toEqual({ ok: true })
    behindCall.abort()
    expect(upstream.received()).toBe(before + 1)
    expect(pool.stats()).toEqual({ size: 1, active: 0, waiting: 0 })
    upstream.release()
  })

  test('an aborted call frees its slot even when nobody reads the body', async () => {
    const pool = new UpstreamPool({ maxConnections: 1, waitMs: 0 })
    const controller = new AbortController()
    await pool.send(`${upstream.url}/hold`, { method: 'POST', body: '{}', signal: controller.signal })
    expect(pool.stats().active).toBe(1)
    controller.abort()
    expect(pool.stats().active).toBe(0)
    upstream.release()
  })

  test('an answer with no body passes through with its status and headers; its slot goes when the call ends', async () => {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(null, { status: 204, headers: { 'x-seen': 'yes' } }) })
    try {
      const pool = new UpstreamPool({ maxConnections: 1, waitMs: 0 })
      const call = new AbortController()
      const response = await pool.send(`http://127.0.0.1:${server.port}/`, { method: 'POST', body: '{}', signal: call.signal })
      expect(response.status).toBe(204)
      expect(response.headers.get('x-seen')).toBe('yes')
      call.abort()
      expect(pool.stats().active).toBe(0)
    } finally {
      server.stop(true)
    }
  })

  test('a fetch that fails frees its slot at once', async () => {
    const pool = new UpstreamPool({ maxConnections: 1, waitMs: 0 })
    await pool.send(`http://127.0.0.1:${closedPort()}/`, { method: 'POST', body: '{}', signal: never() }).catch(() => {})
    expect(pool.stats().active).toBe(0)
  })
})
