// deliver() with injected deps: what is signed and sent on each attempt, and how each answer is logged and decided.
import { describe, expect, test } from 'bun:test'
import type { NewDelivery, WebhookEventRow } from '../../src/db/queries/webhooks'
import type { PinnedFetchInit, PinnedResponse } from '../../src/lib/pinned-fetch'
import { PinnedFetchError } from '../../src/lib/pinned-fetch'
import { UnsafeUrlError, type CheckedTarget } from '../../src/lib/ssrf'
import { generateSecret } from '../../src/modules/webhooks/signing'
import { constructEvent } from '../../src/sdk/webhooks'
import { DELIVERY_TIMEOUT_MS, DeliveryFailedError, deliver, type DeliveryDeps } from '../../workers/webhooks/processor'

const event: WebhookEventRow = {
  id: 'evt_aaaaaaaaaaaaaaaaaaaaaaaa',
  account_id: 'acct-1',
  project_id: null,
  mode: null,
  type: 'wallet.credited',
  payload: { amount_usd: '1.00', nested: { b: 2, a: 1 } },
  created_at: new Date('2025-03-01T12:00:00.000Z'),
}

function harness(answers: (PinnedResponse | Error)[]) {
  let clock = Date.parse('2025-03-01T12:00:05.000Z')
  const endpoint = { id: 'we_1', account_id: 'acct-1', url: 'https://hooks.example.com/x', secret: generateSecret(), status: 'enabled' as const, deleted_at: null as Date | null }
  const sent: { target: CheckedTarget; init: PinnedFetchInit; at: number }[] = []
  const logged: NewDelivery[] = []
  const disabled: string[] = []
  let checkError: Error | null = null
  const deps: DeliveryDeps = {
    findEndpoint: async () => ({ ...endpoint }),
    findEvent: async () => event,
    check: async (url) => {
      if (checkError) throw checkError
      return { url: new URL(url), address: '93.184.215.14', family: 4 }
    },
    send: async (target, init) => {
      sent.push({ target, init, at: clock })
      clock += 25
      const answer = answers[Math.min(sent.length - 1, answers.length - 1)]!
      if (answer instanceof Error) throw answer
      return answer
    },
    recordAttempt: async (d) => void logged.push(d),
    disableEndpoint: async (id) => void disabled.push(id),
    now: () => clock,
  }
  return {
    deps,
    endpoint,
    sent,
    logged,
    disabled,
    advance: (ms: number) => (clock += ms),
    refuseNextCheck: (error: Error | null) => (checkError = error),
  }
}

const ok = (status: number, body = ''): PinnedResponse => ({ status, headers: {}, bodyExcerpt: body, truncated: false })
const job = (attempt: number) => ({ eventId: event.id, endpointId: 'we_1', attempt })

describe('deliver', () => {
  test('every attempt: same id and body bytes, fresh timestamp, current secret, 15 s timeout, the checked address', async () => {
    const h = harness([ok(500), ok(200, 'thanks')])
    await expect(deliver(h.deps, job(1))).rejects.toBeInstanceOf(DeliveryFailedError)
    h.advance(3_600_000)
    const oldSecret = h.endpoint.secret
    h.endpoint.secret = generateSecret()
    expect(await deliver(h.deps, job(2))).toBe('delivered')

    const [first, second] = h.sent
    expect(first!.init.body).toBe(second!.init.body)
    expect(first!.init.body).toBe(JSON.stringify({ id: event.id, type: event.type, created_at: '2025-03-01T12:00:00.000Z', data: event.payload }))
    expect(first!.init.headers!['webhook-id']).toBe(event.id)
    expect(second!.init.headers!['webhook-id']).toBe(event.id)
    expect(Number(second!.init.headers!['webhook-timestamp']) - Number(first!.init.headers!['webhook-timestamp'])).toBe(3_600)
    expect(first!.init.timeoutMs).toBe(DELIVERY_TIMEOUT_MS)
    expect(DELIVERY_TIMEOUT_MS).toBe(15_000)
    expect(first!.init.method).toBe('POST')
    expect(first!.target.address).toBe('93.184.215.14')
    // Each attempt verifies with the secret current at its time.
    const verify = (s: (typeof h.sent)[number], secret: string) => constructEvent(String(s.init.body), s.init.headers!, secret, 300, Math.floor(s.at / 1000))
    expect(verify(first!, oldSecret).id).toBe(event.id)
    expect(verify(second!, h.endpoint.secret).id).toBe(event.id)
    expect(() => verify(second!, oldSecret)).toThrow()

    expect(h.logged).toEqual([
      { eventId: event.id, endpointId: 'we_1', attempt: 1, statusCode: 500, error: 'HTTP 500', latencyMs: 25, responseExcerpt: '' },
      { eventId: event.id, endpointId: 'we_1', attempt: 2, statusCode: 200, error: null, latencyMs: 25, responseExcerpt: 'thanks' },
    ])
  })

  test('410 disables the endpoint and completes; 3xx fails without following', async () => {
    const gone = harness([ok(410, 'bye')])
    expect(await deliver(gone.deps, job(1))).toBe('endpoint_disabled')
    expect(gone.disabled).toEqual(['we_1'])
    expect(gone.logged[0]!.statusCode).toBe(410)

    const moved = harness([ok(301)])
    await expect(deliver(moved.deps, job(1))).rejects.toThrow('HTTP 301: redirects are not followed')
    expect(moved.sent).toHaveLength(1)
    expect(moved.disabled).toEqual([])
  })

  test('no answer, or a URL refused at delivery, is logged without a status and retried; a refused URL is never sent to', async () => {
    const down = harness([new PinnedFetchError('No response from hooks.example.com within 15000 ms.', 'timeout')])
    await expect(deliver(down.deps, job(3))).rejects.toBeInstanceOf(DeliveryFailedError)
    expect(down.logged[0]).toMatchObject({ attempt: 3, statusCode: null, error: 'No response from hooks.example.com within 15000 ms.' })

    const rebound = harness([ok(200)])
    rebound.refuseNextCheck(new UnsafeUrlError('Webhook URL host hooks.example.com resolves to 127.0.0.1, which is a loopback address', 'loopback'))
    await expect(deliver(rebound.deps, job(1))).rejects.toThrow(/^unsafe_url: /)
    expect(rebound.sent).toHaveLength(0)
    expect(rebound.logged[0]).toMatchObject({ statusCode: null, responseExcerpt: '' })
  })

  test('disabled, deleted or foreign endpoints end the job without a send or a log row', async () => {
    for (const change of [{ status: 'disabled' as const }, { deleted_at: new Date() }, { account_id: 'acct-2' }]) {
      const h = harness([ok(200)])
      Object.assign(h.endpoint, change)
      expect(await deliver(h.deps, job(1))).toBe('skipped')
      expect(h.sent).toHaveLength(0)
      expect(h.logged).toHaveLength(0)
    }
    const missing = harness([ok(200)])
    missing.deps.findEndpoint = async () => null
    expect(await deliver(missing.deps, job(1))).toBe('skipped')
  })
})
