// Where usage records go. For now: one structured log line each (the usage queue replaces this sink).
import type { Logger } from '../lib/logger'
import type { UsageSink } from './usage-record'

export function createLoggingUsageSink(logger: Logger): UsageSink {
  return (record) => logger.info('usage', { usage: record })
}
