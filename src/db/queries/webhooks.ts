// Webhook queries: endpoints (per account, or per project and mode; soft-deleted), events (stored once) and the per-attempt delivery log.
import type { Queryable as Sql } from '../../lib/db'

export interface WebhookEndpointRow {
  id: string
  account_id: string
  url: string
  enabled_events: string[]
  secret: string
  status: 'enabled' | 'disabled'
  disabled_reason: string | null
  created_at: Date
  deleted_at: Date | null
  project_id: string | null
  mode: string | null
}

/**
 * Whose endpoints: an account's own (projectId and mode null), or one project's in one mode (registered with that
 * project's secret key). An owner never sees, changes or is sent another owner's endpoints.
 */
export interface EndpointOwner {
  accountId: string
  projectId: string | null
  mode: string | null
}

export interface WebhookEventRow {
  id: string
  account_id: string
  project_id: string | null
  mode: string | null
  type: string
  payload: unknown
  created_at: Date
}

export interface WebhookDeliveryRow {
  id: string
  event_id: string
  endpoint_id: string
  attempt: number
  status_code: number | null
  error: string | null
  latency_ms: number
  response_excerpt: string
  created_at: Date
}

export interface NewEndpoint {
  id: string
  owner: EndpointOwner
  url: string
  enabledEvents: string[]
  secret: string
}

export async function insertEndpoint(sql: Sql, e: NewEndpoint): Promise<WebhookEndpointRow> {
  const [row] = await sql<WebhookEndpointRow[]>`
    INSERT INTO webhook_endpoints (id, account_id, project_id, mode, url, enabled_events, secret)
    VALUES (${e.id}, ${e.owner.accountId}, ${e.owner.projectId}, ${e.owner.mode}, ${e.url}, ${e.enabledEvents}, ${e.secret})
    RETURNING *`
  return row!
}

/** The SQL condition that keeps to one owner's endpoints. */
const ownedBy = (sql: Sql, owner: EndpointOwner) =>
  sql`account_id = ${owner.accountId} AND project_id IS NOT DISTINCT FROM ${owner.projectId} AND mode IS NOT DISTINCT FROM ${owner.mode}`

export async function countEndpoints(sql: Sql, owner: EndpointOwner): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM webhook_endpoints WHERE ${ownedBy(sql, owner)} AND deleted_at IS NULL`
  return row!.n
}

/** The owner's live endpoints, oldest first. */
export async function listEndpoints(sql: Sql, owner: EndpointOwner): Promise<WebhookEndpointRow[]> {
  return sql<WebhookEndpointRow[]>`
    SELECT * FROM webhook_endpoints WHERE ${ownedBy(sql, owner)} AND deleted_at IS NULL ORDER BY created_at, id`
}

/** One live endpoint of this owner; null for another owner's or a deleted one, so callers cannot tell them apart. */
export async function findOwnEndpoint(sql: Sql, owner: EndpointOwner, id: string): Promise<WebhookEndpointRow | null> {
  const [row] = await sql<WebhookEndpointRow[]>`
    SELECT * FROM webhook_endpoints WHERE id = ${id} AND ${ownedBy(sql, owner)} AND deleted_at IS NULL`
  return row ?? null
}

/** Any endpoint by id, deleted ones included (the worker decides what a deleted endpoint means). */
export async function findEndpoint(sql: Sql, id: string): Promise<WebhookEndpointRow | null> {
  const [row] = await sql<WebhookEndpointRow[]>`SELECT * FROM webhook_endpoints WHERE id = ${id}`
  return row ?? null
}

export async function deleteEndpoint(sql: Sql, owner: EndpointOwner, id: string): Promise<boolean> {
  const rows = await sql`
    UPDATE webhook_endpoints SET deleted_at = now()
    WHERE id = ${id} AND ${ownedBy(sql, owner)} AND deleted_at IS NULL RETURNING id`
  return rows.length === 1
}

export async function setEndpointSecret(sql: Sql, owner: EndpointOwner, id: string, secret: string): Promise<WebhookEndpointRow | null> {
  const [row] = await sql<WebhookEndpointRow[]>`
    UPDATE webhook_endpoints SET secret = ${secret}
    WHERE id = ${id} AND ${ownedBy(sql, owner)} AND deleted_at IS NULL RETURNING *`
  return row ?? null
}

export async function disableEndpoint(sql: Sql, id: string, reason: string): Promise<void> {
  await sql`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = ${reason} WHERE id = ${id} AND status = 'enabled'`
}

/** The owner's enabled, live endpoints subscribed to this event type (a project's event goes to that project's endpoints of its mode only). */
export async function matchingEndpointIds(sql: Sql, owner: EndpointOwner, type: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM webhook_endpoints
    WHERE ${ownedBy(sql, owner)} AND status = 'enabled' AND deleted_at IS NULL AND ${type} = ANY (enabled_events)
    ORDER BY id`
  return rows.map((r) => r.id)
}

/** Inserts the event once; a replay with the same id returns the stored row (its payload wins). */
export async function insertEvent(sql: Sql, e: { id: string; owner: EndpointOwner; type: string; payload: unknown }): Promise<WebhookEventRow> {
  const [created] = await sql<WebhookEventRow[]>`
    INSERT INTO webhook_events (id, account_id, project_id, mode, type, payload)
    VALUES (${e.id}, ${e.owner.accountId}, ${e.owner.projectId}, ${e.owner.mode}, ${e.type}, ${sql.json(e.payload as Parameters<Sql['json']>[0])})
    ON CONFLICT (id) DO NOTHING
    RETURNING *`
  if (created) return created
  return (await findEvent(sql, e.id))!
}

export async function findEvent(sql: Sql, id: string): Promise<WebhookEventRow | null> {
  const [row] = await sql<WebhookEventRow[]>`SELECT * FROM webhook_events WHERE id = ${id}`
  return row ?? null
}

export interface NewDelivery {
  eventId: string
  endpointId: string
  attempt: number
  statusCode: number | null
  error: string | null
  latencyMs: number
  responseExcerpt: string
}

/** One row per attempt; a duplicate attempt number (a rerun BullMQ did not count) keeps the first row. */
export async function insertDelivery(sql: Sql, d: NewDelivery): Promise<void> {
  await sql`
    INSERT INTO webhook_deliveries (event_id, endpoint_id, attempt, status_code, error, latency_ms, response_excerpt)
    VALUES (${d.eventId}, ${d.endpointId}, ${d.attempt}, ${d.statusCode}, ${d.error}, ${Math.round(d.latencyMs)}, ${d.responseExcerpt})
    ON CONFLICT (event_id, endpoint_id, attempt) DO NOTHING`
}

/** Newest first. */
export async function listDeliveries(sql: Sql, endpointId: string, limit: number): Promise<(WebhookDeliveryRow & { event_type: string })[]> {
  return sql<(WebhookDeliveryRow & { event_type: string })[]>`
    SELECT d.*, e.type AS event_type
    FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
    WHERE d.endpoint_id = ${endpointId}
    ORDER BY d.id DESC
    LIMIT ${limit}`
}
