// The usage record of an exchange: what the meter saw, priced at the catalog, billed at most what was held.
import type { MoneyMode } from '../limits/admission'
import type { MeteredUsage } from '../metering/meter'
import type { PlatformUsage, UsageRecord, UsageStatus } from '../metering/usage-record'
import { pricesAt, type CatalogModel } from '../pricing/catalog'
import { perImageCost, usageCost } from '../pricing/cost'

/** What stays the same for the whole request. */
export interface RecordHeader {
  requestId: string
  keyId: string
  accountId: string
  model: CatalogModel
  stream: boolean
  catalogVersion: string
  moneyMode: MoneyMode
  subject: string
  /** Images priced per image: the quality and size they were asked at (its price is the catalog's for that tier). */
  imageTier?: string | null
  /** performance.now() at arrival. */
  startedAt: number
  startedAtIso: string
  /** A session-token request: whose end user paid. */
  platform?: PlatformUsage | undefined
}

export interface RecordEnd {
  status: UsageStatus
  httpStatus: number
  errorCode: string | null
  firstByteAt: number | null
  /** The most it may be billed (what it held); null: no money held. */
  limitNano: bigint | null
}

const round2 = (ms: number) => Math.round(ms * 100) / 100

/**
 * Prices the usage and builds the record. A request that held money is billed at most its hold: a provider that
 * counts more than the worst case we could foresee is not passed on (the excess is recorded as overHoldNano).
 */
export function usageRecord(header: RecordHeader, usage: MeteredUsage, end: RecordEnd): UsageRecord {
  const { model } = header
  // Priced at the tier the provider's prompt count falls in (one tier for most models), plus any per-image price.
  const perImage = header.imageTier == null ? undefined : model.images?.perImageNano?.get(header.imageTier)
  const price = usageCost(usage, pricesAt(model, usage.inputTokens)) + (perImage === undefined ? 0n : perImageCost(usage.images, perImage))
  const billed = end.limitNano !== null && price > end.limitNano ? end.limitNano : price
  return {
    requestId: header.requestId,
    keyId: header.keyId,
    accountId: header.accountId,
    model: model.id,
    provider: model.provider,
    upstreamModel: model.upstreamModel,
    stream: header.stream,
    status: end.status,
    httpStatus: end.httpStatus,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cachedInputTokens: usage.cachedInputTokens,
    cacheWriteTokens: usage.cacheWriteTokens,
    reasoningTokens: usage.reasoningTokens,
    imageInputTokens: usage.imageInputTokens,
    imageOutputTokens: usage.imageOutputTokens,
    images: usage.images,
    imageTier: header.imageTier ?? null,
    costNano: Number(billed),
    overHoldNano: Number(price - billed),
    catalogVersion: header.catalogVersion,
    moneyMode: header.moneyMode,
    subject: header.subject,
    source: usage.source,
    countedInputTokens: usage.countedInputTokens,
    countedOutputTokens: usage.countedOutputTokens,
    inputTokensDiff: usage.inputTokensDiff,
    outputTokensDiff: usage.outputTokensDiff,
    ttfbMs: end.firstByteAt === null ? null : round2(end.firstByteAt - header.startedAt),
    totalMs: round2(performance.now() - header.startedAt),
    startedAt: header.startedAtIso,
    errorCode: end.errorCode,
    ...(header.platform ? { platform: header.platform } : {}),
  }
}
