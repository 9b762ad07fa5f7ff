// Watches one request as it runs (text deltas, provider usage, first byte) and emits its single usage record at the end.
import type { CatalogModel } from '../pricing/catalog'
import { usageCost } from '../pricing/cost'
import type { ProviderUsage } from '../providers/types'
import { countTextTokens } from './tokenizer'
import type { UsageRecord, UsageSink, UsageStatus } from './usage-record'

export interface MeterStart {
  requestId: string
  keyId: string
  accountId: string
  model: CatalogModel
  stream: boolean
  /** Our tiktoken count of the prompt, made before the call. */
  promptTokens: number
  /** performance.now() when the request arrived. */
  startedAt: number
  catalogVersion: string
  moneyMode: UsageRecord['moneyMode']
  subject: string
}

export class RequestMeter {
  private readonly texts: string[] = []
  private providerUsage: ProviderUsage | null = null
  private firstByteAt: number | null = null
  private finished = false
  /** The gateway ended the stream early (a budget ran out): the output tokens it delivered, which are what is billed. */
  private truncatedAt: number | null = null
  private readonly startedAtIso = new Date().toISOString()

  constructor(
    private readonly start: MeterStart,
    private readonly sink: UsageSink,
    /** Count output even when the provider reports usage, to record the difference. */
    private readonly crosscheck: boolean,
  ) {}

  addText(delta: string): void {
    this.texts.push(delta)
  }

  setProviderUsage(usage: ProviderUsage): void {
    this.providerUsage = usage
  }

  markTruncated(deliveredOutputTokens: number): void {
    this.truncatedAt = deliveredOutputTokens
  }

  get promptTokens(): number {
    return this.start.promptTokens
  }

  markFirstByte(): void {
    if (this.firstByteAt === null) this.firstByteAt = performance.now()
  }

  get isFinished(): boolean {
    return this.finished
  }

  /**
   * Emits the record once; later calls are ignored. Provider usage is authoritative, except that a stream which did
   * not complete is billed for at least what we saw delivered (a provider's partial count can lag behind its text).
   */
  finish(status: UsageStatus, httpStatus: number, errorCode: string | null = null): void {
    if (this.finished) return
    this.finished = true
    const { start } = this
    const provider = this.providerUsage
    const complete = status === 'ok' && this.truncatedAt === null
    const needCount = this.crosscheck || provider === null || !complete
    const countedOutput = needCount ? countTextTokens(this.texts.join('')) : 0
    const countedInput = start.promptTokens
    let inputTokens = countedInput
    let outputTokens = countedOutput
    if (this.truncatedAt !== null) {
      // Exactly what the budget let through and held for: never more than the wallet covered.
      outputTokens = this.truncatedAt
      if (provider) inputTokens = provider.inputTokens
    } else if (provider) {
      inputTokens = provider.inputTokens
      outputTokens = complete ? provider.outputTokens : Math.max(provider.outputTokens, countedOutput)
    }
    const cachedInputTokens = provider?.cachedInputTokens ?? 0
    const cacheWriteTokens = provider?.cacheWriteTokens ?? 0
    const cost = usageCost({ inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens }, start.model.prices)
    const now = performance.now()
    const record: UsageRecord = {
      requestId: start.requestId,
      keyId: start.keyId,
      accountId: start.accountId,
      model: start.model.id,
      provider: start.model.provider,
      upstreamModel: start.model.upstreamModel,
      stream: start.stream,
      status,
      httpStatus,
      inputTokens,
      outputTokens,
      cachedInputTokens,
      cacheWriteTokens,
      reasoningTokens: provider?.reasoningTokens ?? 0,
      costNano: Number(cost),
      catalogVersion: start.catalogVersion,
      moneyMode: start.moneyMode,
      subject: start.subject,
      source: provider ? (needCount ? 'both' : 'provider') : 'counted',
      countedInputTokens: countedInput,
      countedOutputTokens: needCount ? countedOutput : 0,
      inputTokensDiff: provider && needCount ? provider.inputTokens - countedInput : null,
      outputTokensDiff: provider && needCount ? provider.outputTokens - countedOutput : null,
      ttfbMs: this.firstByteAt === null ? null : round2(this.firstByteAt - start.startedAt),
      totalMs: round2(now - start.startedAt),
      startedAt: this.startedAtIso,
      errorCode,
    }
    this.sink(record)
  }
}

const round2 = (ms: number) => Math.round(ms * 100) / 100
