// The cost of one request's usage at a model's prices: integer nano-USD, one rounding rule per token class.
import type { ModelPrices } from './catalog'
import { tokenClassCost } from './money'

export interface BillableUsage {
  /** Every prompt token, cached and cache-write ones included. */
  inputTokens: number
  cachedInputTokens: number
  cacheWriteTokens: number
  /** Every generated token; reasoning tokens are part of it and billed at the output price, as the providers do. */
  outputTokens: number
}

/**
 * Σ ceil(tokens × price / 1M) over the classes: uncached input, cached input, cache writes, output.
 * Cached and cache-write counts larger than the input (a provider glitch) are clamped so no class goes negative.
 */
export function usageCost(usage: BillableUsage, prices: ModelPrices): bigint {
  const cached = Math.min(Math.max(usage.cachedInputTokens, 0), Math.max(usage.inputTokens, 0))
  const cacheWrite = Math.min(Math.max(usage.cacheWriteTokens, 0), Math.max(usage.inputTokens, 0) - cached)
  const uncached = Math.max(usage.inputTokens, 0) - cached - cacheWrite
  return (
    tokenClassCost(uncached, prices.input) +
    tokenClassCost(cached, prices.cachedInput) +
    tokenClassCost(cacheWrite, prices.cacheWrite) +
    tokenClassCost(Math.max(usage.outputTokens, 0), prices.output)
  )
}
