// Logs a BullMQ worker's connection errors once per distinct error, so a Redis outage is one line, not one per retry.
import type { Worker } from 'bullmq'
import type { Logger } from '../../src/lib/logger'

export function logWorkerErrors(worker: Worker, name: string, logger: Logger): void {
  let lastError = ''
  worker.on('error', (error) => {
    if (error.message === lastError) return
    lastError = error.message
    logger.error(`${name} worker error`, { error: error.message })
  })
  worker.on('ready', () => {
    lastError = ''
  })
}
