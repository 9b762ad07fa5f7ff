// Webhook endpoints of an account or of a project's mode (register, list, delete, rotate, delivery log) and emitEvent, which stores an event and queues its deliveries.
import type { Queue } from 'bullmq'
import {
  countEndpoints,
  deleteEndpoint,
  findOwnEndpoint,
  insertEndpoint,
  insertEvent,
  listDeliveries,
  listEndpoints,
  matchingEndpointIds,
  setEndpointSecret,
  type EndpointOwner,
  type WebhookEndpointRow,
} from '../../db/queries/webhooks'
import { InvalidRequestError, NotFoundError } from '../../errors'
import type { Sql } from '../../lib/db'
import { isValidJobId } from '../../lib/queues'
import { parseWebhookUrl, resolveChecked, type LookupFn } from '../../lib/ssrf'
import type { ProjectPrincipal } from '../auth/platform-credentials'
import type { Principal } from '../auth/service'
import { PROJECT_EVENT_TYPES, WEBHOOK_EVENT_TYPES, isWebhookEventType, type WebhookEventType } from './model'
import { webhookJobOptions, type WebhookJobData } from './queue'
import { generateSecret } from './signing'

export interface WebhookServiceDeps {
  sql: Sql
  /** Dev/tests only: http:// and loopback targets (Config.webhooks.allowHttpLoopback). */
  allowHttpLoopback: boolean
  /** DNS override for tests; the system resolver otherwise. */
  lookup?: LookupFn
}

/** Bounds what one account can make us call per event. */
export const MAX_ENDPOINTS_PER_ACCOUNT = 16

const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
export const newEndpointId = () => `we_${hex(12)}`
export const newEventId = () => `evt_${hex(12)}`

const endpointView = (row: WebhookEndpointRow) => ({
  id: row.id,
  object: 'webhook_endpoint' as const,
  url: row.url,
  enabled_events: row.enabled_events,
  status: row.status,
  disabled_reason: row.disabled_reason,
  created_at: row.created_at.toISOString(),
})

/** Who registers: an agent key owns the account's endpoints, a secret key its project's endpoints of its mode. */
export type EndpointCaller = Principal | { kind: 'project'; project: ProjectPrincipal }

/** Static gateway keys have no account row to own endpoints. */
function ownerOf(caller: EndpointCaller): EndpointOwner {
  if (caller.kind === 'project') return { accountId: caller.project.accountId, projectId: caller.project.projectId, mode: caller.project.mode }
  const principal = caller
  if (principal.kind === 'static') {
    throw new InvalidRequestError(
      'This is a static gateway key (GATEWAY_API_KEYS), which has no account to send webhooks to. Use an agent key.',
      null,
      'webhooks_not_available',
    )
  }
  return { accountId: principal.accountId, projectId: null, mode: null }
}

const endpointNotFound = (id: string) => new NotFoundError(`No webhook endpoint '${id}'.`, 'webhook_endpoint_not_found', 'id')

function checkEventTypes(types: string[], owner: EndpointOwner): WebhookEventType[] {
  // A project's endpoints hear about its end users' wallets; the account's own events go to the account's endpoints.
  const allowed: readonly string[] = owner.projectId === null ? WEBHOOK_EVENT_TYPES : PROJECT_EVENT_TYPES
  const unknown = types.filter((type) => !allowed.includes(type))
  if (unknown.length > 0) {
    throw new InvalidRequestError(
      `Invalid value for 'enabled_events': unknown event type ${unknown.map((u) => JSON.stringify(u)).join(', ')}; allowed: ${allowed.join(', ')}.`,
      'enabled_events',
      'invalid_value',
    )
  }
  return [...new Set(types as WebhookEventType[])]
}

export async function createEndpoint(deps: WebhookServiceDeps, caller: EndpointCaller, body: { url: string; enabled_events: string[] }) {
  const owner = ownerOf(caller)
  const enabledEvents = checkEventTypes(body.enabled_events, owner)
  const options = { allowHttpLoopback: deps.allowHttpLoopback, ...(deps.lookup ? { lookup: deps.lookup } : {}) }
  // Refusals are UnsafeUrlError: 400, code unsafe_url, param url. Delivery checks again, since DNS answers change.
  const checked = await resolveChecked(parseWebhookUrl(body.url, options), options)
  if ((await countEndpoints(deps.sql, owner)) >= MAX_ENDPOINTS_PER_ACCOUNT) {
    throw new InvalidRequestError(`An account (or a project's mode) can have at most ${MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints; delete one first.`, null, 'too_many_webhook_endpoints')
  }
  const secret = generateSecret()
  const row = await insertEndpoint(deps.sql, { id: newEndpointId(), owner, url: checked.url.href, enabledEvents, secret })
  return { ...endpointView(row), secret }
}

export async function listOwnEndpoints(deps: WebhookServiceDeps, caller: EndpointCaller) {
  const rows = await listEndpoints(deps.sql, ownerOf(caller))
  return { object: 'list' as const, data: rows.map(endpointView) }
}

export async function removeEndpoint(deps: WebhookServiceDeps, caller: EndpointCaller, id: string) {
  if (!(await deleteEndpoint(deps.sql, ownerOf(caller), id))) throw endpointNotFound(id)
  return { id, object: 'webhook_endpoint' as const, deleted: true as const }
}

/** The old secret stops working at once: deliveries sign with the secret current at each attempt. */
export async function rotateSecret(deps: WebhookServiceDeps, caller: EndpointCaller, id: string) {
  const secret = generateSecret()
  const row = await setEndpointSecret(deps.sql, ownerOf(caller), id, secret)
  if (!row) throw endpointNotFound(id)
  return { ...endpointView(row), secret }
}

export async function endpointDeliveries(deps: WebhookServiceDeps, caller: EndpointCaller, id: string, limit = 20) {
  const endpoint = await findOwnEndpoint(deps.sql, ownerOf(caller), id)
  if (!endpoint) throw endpointNotFound(id)
  const rows = await listDeliveries(deps.sql, endpoint.id, limit)
  return {
    object: 'list' as const,
    data: rows.map((r) => ({
      id: String(r.id),
      event_id: r.event_id,
      event_type: r.event_type,
      attempt: r.attempt,
      status_code: r.status_code,
      error: r.error,
      latency_ms: r.latency_ms,
      response_excerpt: r.response_excerpt,
      created_at: r.created_at.toISOString(),
    })),
  }
}

export interface NewEvent {
  accountId: string
  /** A project's event (about its end users' wallets), for that project's endpoints of this mode only. */
  project?: { id: string; mode: string }
  type: WebhookEventType
  data: Record<string, unknown>
  /**
   * A deterministic id (e.g. derived from a ledger row) makes the emit idempotent: a caller that retries after a crash
   * stores nothing new and re-adds the same job ids, which BullMQ ignores while those jobs exist. Random otherwise.
   */
  id?: string
}

/** What emitEvent needs of a BullMQ Queue (a Queue on WEBHOOKS_QUEUE with the workers' prefix). */
export type WebhookQueue = Pick<Queue<WebhookJobData>, 'addBulk'>

/**
 * Stores the event once, then queues one delivery job per enabled endpoint of the account subscribed to its type.
 * The row is committed before the jobs exist, so a worker never sees a job without its event. Returns the event id
 * and the endpoints it was queued for. Call it after the transaction that caused the event commits (a pool, not a tx).
 */
export async function emitEvent(sql: Sql, queue: WebhookQueue, event: NewEvent): Promise<{ eventId: string; endpointIds: string[] }> {
  if (!isWebhookEventType(event.type)) throw new Error(`unknown webhook event type ${event.type}`)
  const id = event.id ?? newEventId()
  if (!/^evt_[A-Za-z0-9_-]{1,100}$/.test(id)) throw new Error(`webhook event id must match evt_[A-Za-z0-9_-]+ (got ${id})`)
  const owner: EndpointOwner = { accountId: event.accountId, projectId: event.project?.id ?? null, mode: event.project?.mode ?? null }
  const stored = await insertEvent(sql, { id, owner, type: event.type, payload: event.data })
  const endpointIds = await matchingEndpointIds(sql, { accountId: stored.account_id, projectId: stored.project_id, mode: stored.mode }, stored.type)
  const jobs = endpointIds.map((endpointId) => {
    const opts = webhookJobOptions(stored.id, endpointId)
    if (!isValidJobId(opts.jobId)) throw new Error(`invalid webhook job id ${opts.jobId}`)
    return { name: stored.type, data: { eventId: stored.id, endpointId }, opts }
  })
  if (jobs.length > 0) await queue.addBulk(jobs)
  return { eventId: stored.id, endpointIds }
}
