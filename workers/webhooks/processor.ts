// One webhook delivery attempt, pure over injected deps: load, re-check the URL, sign, send to the checked address, log, decide.
import type { NewDelivery, WebhookEndpointRow, WebhookEventRow } from '../../src/db/queries/webhooks'
import type { PinnedFetchInit, PinnedResponse } from '../../src/lib/pinned-fetch'
import type { CheckedTarget } from '../../src/lib/ssrf'
import { signedHeaders } from '../../src/modules/webhooks/signing'

/** Every attempt gets this long for the receiver to answer (connect, TLS, headers and the excerpt). */
export const DELIVERY_TIMEOUT_MS = 15_000

/** What the delivery log keeps of a response body: enough to debug a receiver, small enough for a log table. */
export const EXCERPT_CHARS = 1_000

export interface DeliveryDeps {
  findEndpoint(id: string): Promise<Pick<WebhookEndpointRow, 'id' | 'account_id' | 'url' | 'secret' | 'status' | 'deleted_at'> | null>
  findEvent(id: string): Promise<WebhookEventRow | null>
  /** The SSRF guard at delivery time: DNS answers can change after registration. Throws on refusal. */
  check(url: string): Promise<CheckedTarget>
  /** Connects to `target.address` only, never follows redirects; throws when no response came. */
  send(target: CheckedTarget, init: PinnedFetchInit): Promise<PinnedResponse>
  recordAttempt(delivery: NewDelivery): Promise<void>
  disableEndpoint(id: string, reason: string): Promise<void>
  /** Milliseconds since the epoch; injected so tests control webhook-timestamp. */
  now(): number
  timeoutMs?: number
}

export interface DeliveryJob {
  eventId: string
  endpointId: string
  /** 1 for the first attempt; names the delivery log row. */
  attempt: number
}

export type DeliveryOutcome = 'delivered' | 'skipped' | 'endpoint_disabled'

/** The attempt failed and should be retried with the backoff; the message goes to BullMQ's failed reason (no secrets in it). */
export class DeliveryFailedError extends Error {
  override readonly name = 'DeliveryFailedError'
}

/** The exact bytes sent on every attempt: built from the stored row only, so retries are byte-identical. */
export function eventBody(event: WebhookEventRow): string {
  return JSON.stringify({ id: event.id, type: event.type, created_at: event.created_at.toISOString(), data: event.payload })
}

export async function deliver(deps: DeliveryDeps, job: DeliveryJob): Promise<DeliveryOutcome> {
  const endpoint = await deps.findEndpoint(job.endpointId)
  // Deleted or disabled since the event was queued: the customer asked us to stop, so the job ends without a send.
  if (!endpoint || endpoint.deleted_at !== null || endpoint.status !== 'enabled') return 'skipped'
  const event = await deps.findEvent(job.eventId)
  // emitEvent commits the event before queueing, so this is a database hiccup or a replica lag: retry.
  if (!event) throw new DeliveryFailedError(`event ${job.eventId} not found`)
  if (event.account_id !== endpoint.account_id) return 'skipped'

  const log = (fields: Omit<NewDelivery, 'eventId' | 'endpointId' | 'attempt'>) =>
    deps.recordAttempt({ eventId: event.id, endpointId: endpoint.id, attempt: job.attempt, ...fields })

  const started = deps.now()
  let target: CheckedTarget
  try {
    target = await deps.check(endpoint.url)
  } catch (error) {
    // Refused now (DNS moved to a private address) or unresolvable: never connect; retry in case DNS is fixed.
    const message = `unsafe_url: ${(error as Error).message}`
    await log({ statusCode: null, error: message, latencyMs: deps.now() - started, responseExcerpt: '' })
    throw new DeliveryFailedError(message)
  }

  const body = eventBody(event)
  // Same webhook-id (the event id) on every attempt, so receivers can de-duplicate; a fresh timestamp keeps the
  // signature inside the receiver's tolerance however late the retry; the current secret, so a rotation applies at once.
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Meterway-Webhooks/1.0',
    ...signedHeaders(endpoint.secret, event.id, Math.floor(deps.now() / 1000), body),
  }
  const sentAt = deps.now()
  let response: PinnedResponse
  try {
    response = await deps.send(target, { method: 'POST', headers, body, timeoutMs: deps.timeoutMs ?? DELIVERY_TIMEOUT_MS })
  } catch (error) {
    const message = (error as Error).message
    await log({ statusCode: null, error: message, latencyMs: deps.now() - sentAt, responseExcerpt: '' })
    throw new DeliveryFailedError(message)
  }
  const latencyMs = deps.now() - sentAt
  const excerpt = response.bodyExcerpt.slice(0, EXCERPT_CHARS)
  const { status } = response

  if (status >= 200 && status < 300) {
    await log({ statusCode: status, error: null, latencyMs, responseExcerpt: excerpt })
    return 'delivered'
  }
  if (status === 410) {
    await log({ statusCode: status, error: 'endpoint gone (410): disabled', latencyMs, responseExcerpt: excerpt })
    // 410 Gone is the receiver telling us the endpoint will never come back (Standard Webhooks' convention).
    await deps.disableEndpoint(endpoint.id, `The endpoint answered 410 Gone at ${new Date(deps.now()).toISOString()} (event ${event.id}).`)
    return 'endpoint_disabled'
  }
  // A 3xx is not followed: the target would be a URL nobody checked. It counts as a failure like any other status.
  const error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}`
  await log({ statusCode: status, error, latencyMs, responseExcerpt: excerpt })
  throw new DeliveryFailedError(error)
}
