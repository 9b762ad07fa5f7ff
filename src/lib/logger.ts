// Structured JSON-line logging with levels; callers pass ids and facts, never keys or secrets.
import { activeTraceId } from './tracing'

/** The active span's trace id, when tracing is on and a request's span is active. */
function traced(): { traceId?: string } {
  const traceId = activeTraceId()
  return traceId === undefined ? {} : { traceId }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const threshold = RANK[level]
  const emit = (lvl: Exclude<LogLevel, 'silent'>) =>
    RANK[lvl] < threshold
      ? () => {}
      : (message: string, fields?: Record<string, unknown>) =>
          write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: message, ...fields, ...traced() })}\n`)
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
