// What the streaming relay and the code around it agree on: the sinks and handlers it calls, who is told of its end, when the gateway counts as quiet, the SSE wire constants.
import { UpstreamTimeoutError, type GatewayError } from '../errors'
import { upstreamPool } from '../providers/http'
import type { StreamSink } from '../providers/types'
import type { UpstreamDeadline } from './deadline'
import type { Outcome } from './outcome'

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const

export const DONE_EVENT = 'data: [DONE]\n\n'

export const openAiErrorEvent = (error: GatewayError) => `data: ${JSON.stringify(error.toBody())}\n\n`

/** What the relay takes from the translator chain: a StreamSink, and the gateway ending the answer itself. */
export interface RelaySink extends StreamSink {
  /** The answer ends here (a budget ran out): the client gets [DONE], the upstream is let go. */
  truncate(): void
}

/** One SSE event in; a promise when the handler must wait (for a hold to grow) before the next one. */
export interface EventHandler {
  onEvent(event: string, data: string): void | Promise<void>
  /** The upstream body ended, or the relay gave up on it. */
  onEnd(): void
}

/** Whoever a handed-off stream's end belongs to (the exchange). */
export interface StreamOwner {
  finish(outcome: Outcome): void
}

/** Who is told that bytes went to the client: each piece of a stream, or an answer that went out whole. */
export interface RelayClient {
  sent(): void
  /** The whole answer went out in one body: the stream is over as it starts. */
  sentWhole(): void
}

export type ReadResult = { done: boolean; value?: Uint8Array }

/** The part of a body reader the relay uses. */
export interface ByteReader {
  read(): Promise<ReadResult>
  cancel(reason?: unknown): Promise<void>
}

/**
 * Upstream calls in flight at or below which the gateway is quiet, and a stream's first output goes out ahead of the
 * rest of its piece (see StreamRelay.onEvent). Under load the piece goes in one write: sent alone, the first output
 * cost a stream a write more, 12–13 µs of CPU when a whole answer came in one piece (bench:ab --kind stream, in turns, twice).
 */
export const QUIET_UPSTREAM_CALLS = 4

/** Whether the gateway is quiet now (few upstream calls in flight): a new stream's first output may go out alone. */
export function quietGateway(): boolean {
  return upstreamPool.stats().active <= QUIET_UPSTREAM_CALLS
}

export function timeoutError(deadline: UpstreamDeadline): UpstreamTimeoutError {
  return new UpstreamTimeoutError(
    deadline.reason === 'first_byte_timeout' ? 'The upstream did not start answering in time.' : 'The upstream did not finish answering in time.',
  )
}
