// Emitting webhook events from anywhere in the gateway: fire and forget, stored once, delivery queued; failures logged.
import { Queue } from 'bullmq'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import { createProducerConnection, QUEUE_PREFIX } from '../../lib/queues'
import type { RedisTarget } from '../../lib/redis'
import type { WebhookEventType } from './model'
import { WEBHOOKS_QUEUE } from './queue'
import { emitEvent } from './service'

export interface AccountEvent {
  accountId: string
  /** A project's event: it goes to that project's endpoints of this mode, not to the account's own. */
  project?: { id: string; mode: string }
  type: WebhookEventType
  data: Record<string, unknown>
  /** A fixed id makes the event happen once (a replay stores and sends nothing new). */
  id?: string
}

/** Never throws and never blocks the caller: events are about money already moved, not a condition for moving it. */
export type EmitEvent = (event: AccountEvent) => void

export interface EventEmitter {
  emit: EmitEvent
  close(): Promise<void>
}

/** Fixed ids already emitted by this process: a request refused a thousand times emits (and inserts) once. */
const MAX_REMEMBERED_IDS = 10_000

export function createEventEmitter(sql: Sql, redis: RedisTarget | string, logger: Logger, prefix = QUEUE_PREFIX): EventEmitter {
  const connection = createProducerConnection(redis)
  connection.on('error', () => {})
  const queue = new Queue(WEBHOOKS_QUEUE, { connection, prefix })
  queue.on('error', () => {})
  const emitted = new Set<string>()
  return {
    emit(event) {
      if (event.id) {
        if (emitted.has(event.id)) return
        if (emitted.size >= MAX_REMEMBERED_IDS) emitted.clear()
        emitted.add(event.id)
      }
      emitEvent(sql, queue, event).catch((error: Error) => {
        if (event.id) emitted.delete(event.id)
        logger.error('webhook event not emitted', { accountId: event.accountId, type: event.type, error: error.message })
      })
    },
    async close() {
      await queue.close().catch(() => {})
      connection.disconnect()
    },
  }
}
