// One billable request's lifecycle: estimate and hold at open, the meter and deadline while it runs, and one finish (meter → settle → enqueue).
import type { PlatformUsage, UsageRecord, UsageSink } from '../metering/usage-record'
import { streamEnded, streamStarted } from '../lib/metrics'
import type { EndSpan, RequestTrace } from '../lib/tracing'
import { RequestMeter } from '../metering/meter'
import { pricesAt, type CatalogModel } from '../pricing/catalog'
import { tokenClassCost } from '../pricing/money'
import type { GatewayError } from '../errors'
import type { ChunkBound, ChunkReader, OutputKind, ProviderUsage, ResponseIdentity, StreamSink, StreamTranslator } from '../providers/types'
import { chunkHead, deltaChunk, usageChunk } from '../providers/openai-format'
import { budgeted } from './budget'
import type { Checkpoints } from './checkpoints'
import { UpstreamDeadline, type ClientConnection } from './deadline'
import type { Estimate } from './estimate'
import type { Outcome } from './outcome'
import type { PaymentMethod, Reservation } from './payment'
import { usageRecord, type RecordHeader } from './record'
import type { EventHandler, RelaySink } from './relay-contract'

export interface ExchangeDeps {
  catalogVersion: string
  recordUsage: UsageSink
  upstream: { firstByteTimeoutMs: number; totalTimeoutMs: number }
  /** Share of requests whose output is counted even when the provider reports usage. */
  meterCrosscheckRate: number
  /** Live streams' checkpoints; null without Redis. */
  checkpoints: Checkpoints | null
  /** Sees every call of finish (tests assert exactly one per request); `first` is false for a call that did nothing. */
  onFinish?: (requestId: string, outcome: Outcome, first: boolean) => void
}

export interface ExchangeStart {
  requestId: string
  keyId: string
  accountId: string
  model: CatalogModel
  stream: boolean
  /** performance.now() at arrival. */
  startedAt: number
  client: ClientConnection | undefined
  estimate: Estimate
  payment: PaymentMethod
  /** The client asked for the usage chunk (stream_options.include_usage). */
  includeUsage: boolean
  /** The request's span when tracing is on: admission and settle are its children, and the finish ends it. */
  trace?: RequestTrace | undefined
  /** Images priced per image: the quality and size asked for ("hd/1024x1792"), which prices each one. */
  imageTier?: string
  /** A session-token request: whose end user paid (goes on the usage row). */
  platform?: PlatformUsage
}

/** Sent when a gateway dies before the request ends: what it had delivered, as the hold sweeper will write it. */
const LOST = { status: 'gateway_lost', httpStatus: 200, errorCode: 'gateway_lost' } as const

export class Exchange {
  readonly meter: RequestMeter
  readonly deadline: UpstreamDeadline
  readonly requestId: string
  private readonly header: RecordHeader
  /**
   * What the rest of the request needs of its start, not the start itself: a stream's exchange lives as long as the
   * stream, and the start holds the estimate, the payment method and the client's signal (see streamHandler).
   */
  private readonly stream: boolean
  private readonly includeUsage: boolean
  private readonly trace: RequestTrace | undefined
  private readonly estimate: Estimate
  private readonly model: CatalogModel
  private finished = false
  private checkpointedVersion = -1
  private streaming = false
  /** Counted in meterway_streams_in_flight from its first byte to its finish. */
  private relaying = false

  private constructor(
    private readonly deps: ExchangeDeps,
    start: ExchangeStart,
    private readonly reservation: Reservation,
    header: RecordHeader,
  ) {
    this.header = header
    this.requestId = start.requestId
    this.stream = start.stream
    this.includeUsage = start.includeUsage
    this.trace = start.trace
    this.estimate = start.estimate
    this.model = start.model
    this.meter = new RequestMeter(start.estimate.promptTokens, deps.meterCrosscheckRate > 0 && Math.random() < deps.meterCrosscheckRate)
    this.deadline = new UpstreamDeadline(deps.upstream.firstByteTimeoutMs, deps.upstream.totalTimeoutMs, start.client)
  }

  /**
   * Holds the worst case and charges the rate limits (one Redis round trip). Throws the refusal; nothing is open then.
   * A stream is checkpointed as it runs (its record waits in Redis beside its hold), so a gateway that dies still bills
   * what it delivered. Synchronous when the payment admits here without a round trip (its lease and float).
   */
  static open(deps: ExchangeDeps, start: ExchangeStart): Exchange | Promise<Exchange> {
    const header: RecordHeader = {
      requestId: start.requestId,
      keyId: start.keyId,
      accountId: start.accountId,
      model: start.model,
      stream: start.stream,
      catalogVersion: deps.catalogVersion,
      moneyMode: start.payment.mode,
      subject: start.payment.subject,
      imageTier: start.imageTier ?? null,
      startedAt: start.startedAt,
      startedAtIso: new Date().toISOString(),
      platform: start.platform,
    }
    const endAdmission = start.trace?.child('admission', { 'meterway.money_mode': start.payment.mode })
    let reserved: Reservation | Promise<Reservation>
    try {
      reserved = start.payment.reserve({ requestId: start.requestId, holdNano: start.estimate.holdNano, chargeTokens: start.estimate.chargeTokens })
    } catch (error) {
      endAdmission?.(error)
      throw error
    }
    if (reserved instanceof Promise) return Exchange.openWhenReserved(deps, start, header, reserved, endAdmission)
    return Exchange.opened(deps, start, header, reserved, endAdmission)
  }

  private static async openWhenReserved(deps: ExchangeDeps, start: ExchangeStart, header: RecordHeader, reserving: Promise<Reservation>, endAdmission: EndSpan | undefined): Promise<Exchange> {
    let reservation: Reservation
    try {
      reservation = await reserving
    } catch (error) {
      endAdmission?.(error)
      throw error
    }
    return Exchange.opened(deps, start, header, reservation, endAdmission)
  }

  private static opened(deps: ExchangeDeps, start: ExchangeStart, header: RecordHeader, reservation: Reservation, endAdmission: EndSpan | undefined): Exchange {
    endAdmission?.()
    if (start.trace) start.trace.ownedByExchange = true
    return new Exchange(deps, start, reservation, header)
  }

  /** Rate-limit headers for the response. */
  get headers(): Record<string, string> {
    return this.reservation.headers
  }

  /**
   * The event handler a stream relays through: the provider's translator, metered, and for a progressive hold wrapped
   * in its budget. `translatorFor` builds the provider's translator on the sink it is given; `endOfCut`, for a stream
   * that is not in OpenAI's chunk format, says how its answer ends where a budget cuts it (given the output so far).
   */
  streamHandler(
    down: RelaySink,
    translatorFor: (sink: StreamSink) => StreamTranslator,
    identity: ResponseIdentity,
    endOfCut?: (outputTokens: number) => string[],
  ): EventHandler {
    const metered = new MeteredSink(this.meter, down)
    const { estimate, model } = this
    if (estimate.sliceTokens === null) return translatorFor(metered)
    const slice = estimate.sliceTokens
    return budgeted(metered, translatorFor, {
      heldTokens: estimate.heldOutputTokens,
      sliceTokens: slice,
      extend: async () => {
        // The output price of the tier the request was held at.
        const outputPrice = pricesAt(model, estimate.inputHoldTokens).output
        const granted = await this.reservation.extend(tokenClassCost(slice, outputPrice), JSON.stringify(this.recordSoFar()))
        // Whole tokens only: a fraction of a token's price held is released at settlement.
        return Number((granted * 1_000_000n) / outputPrice)
      },
      endOfCut: () => {
        if (endOfCut) return endOfCut(this.meter.sofar().outputTokens)
        const head = chunkHead(identity)
        const chunks = [deltaChunk(head, {}, 'length')]
        if (this.includeUsage) {
          const sofar = this.meter.sofar()
          chunks.push(usageChunk(head, { inputTokens: sofar.inputTokens, outputTokens: sofar.outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }))
        }
        return chunks
      },
    })
  }

  /** A stream's whole answer went out in one body: its first byte, and nothing left to checkpoint. */
  sentWhole(): void {
    if (this.meter.firstByteAt === null) this.meter.markFirstByte()
  }

  /** Bytes reached the client: the first time, the stream starts being checkpointed. */
  sent(): void {
    if (this.meter.firstByteAt !== null) return
    this.meter.markFirstByte()
    if (!this.stream) return
    this.relaying = true
    streamStarted()
    if (this.deps.checkpoints) {
      this.streaming = true
      this.deps.checkpoints.add(this)
    }
  }

  checkpointIfMoved(): void {
    if (this.finished || this.meter.version === this.checkpointedVersion) return
    this.checkpointedVersion = this.meter.version
    this.reservation.checkpoint(JSON.stringify(this.recordSoFar()))
  }

  /**
   * The end of the request, whatever it was: the meter says what was used, the hold pays it (never more than it
   * held), and the record goes to the queue. Runs once; later calls do nothing.
   */
  finish(outcome: Outcome): void {
    const first = !this.finished
    this.deps.onFinish?.(this.requestId, outcome, first)
    if (!first) return
    this.finished = true
    if (this.relaying) streamEnded()
    if (this.streaming) this.deps.checkpoints?.remove(this)
    // The call is over: its upstream pool slot is freed, and an answer not read to its end is aborted.
    this.deadline.end(outcome.complete)
    const usage = this.meter.final({ complete: outcome.complete, reachedUpstream: outcome.reachedUpstream })
    const record = usageRecord(this.header, usage, {
      status: outcome.status,
      httpStatus: outcome.httpStatus,
      errorCode: outcome.errorCode,
      firstByteAt: this.meter.firstByteAt,
      limitNano: this.reservation.limitNano(),
    })
    const settled = this.reservation.settle(record.costNano, usage.inputTokens + usage.outputTokens, this.reservation.tracked() ? JSON.stringify(record) : null)
    this.deps.recordUsage(record)
    const trace = this.trace
    if (trace) {
      const endSettle = trace.child('settle', { 'meterway.cost_nano': record.costNano })
      void settled.then(() => endSettle(), endSettle)
      trace.setAttributes({ 'meterway.request_id': record.requestId, 'meterway.status': record.status, 'meterway.input_tokens': record.inputTokens, 'meterway.output_tokens': record.outputTokens })
      trace.end(outcome.httpStatus)
    }
  }

  /** The record the hold sweeper writes if this gateway dies now. */
  private recordSoFar(): UsageRecord {
    return usageRecord(this.header, this.meter.sofar(), { ...LOST, firstByteAt: this.meter.firstByteAt, limitNano: this.reservation.limitNano() })
  }
}

/**
 * A sink that lets the meter see every generated token and the provider's usage on their way down. A class, not an
 * object of closures: it lives as long as its stream.
 */
class MeteredSink implements RelaySink {
  constructor(
    private readonly meter: RequestMeter,
    private readonly down: RelaySink,
  ) {}

  chunk(json: string): void {
    this.down.chunk(json)
  }
  output(delta: string, kind: OutputKind): void {
    this.meter.output(delta)
    this.down.output(delta, kind)
  }
  outputLater(chunkJson: string, read: ChunkReader, bytesAtMost?: ChunkBound): void {
    this.meter.outputLater(chunkJson, read)
    this.down.outputLater(chunkJson, read, bytesAtMost)
  }
  usage(usage: ProviderUsage, chunkJson: string): void {
    this.meter.setProviderUsage(usage)
    this.down.usage(usage, chunkJson)
  }
  fail(error: GatewayError): void {
    this.down.fail(error)
  }
  complete(): void {
    this.down.complete()
  }
  truncate(): void {
    this.meter.markTruncated()
    this.down.truncate()
  }
}
