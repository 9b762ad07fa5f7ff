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
  /** Image tokens read (a subset of inputTokens), at the image input price. */
  imageInputTokens?: number
  /** Image tokens generated (a subset of outputTokens), at the image output price. */
  imageOutputTokens?: number
}

const clamp = (tokens: number | undefined, most: number) => Math.min(Math.max(tokens ?? 0, 0), most)

/**
 * Σ ceil(tokens × price / 1M) over the classes: uncached input, cached input, cache writes, image input, output, image
 * output. Subsets larger than their whole (a provider glitch) are clamped so no class goes negative.
 */
export function usageCost(usage: BillableUsage, prices: ModelPrices): bigint {
  const input = Math.max(usage.inputTokens, 0)
  const imageInput = clamp(usage.imageInputTokens, input)
  const textInput = input - imageInput
  const cached = clamp(usage.cachedInputTokens, textInput)
  const cacheWrite = clamp(usage.cacheWriteTokens, textInput - cached)
  const uncached = textInput - cached - cacheWrite
  const output = Math.max(usage.outputTokens, 0)
  const imageOutput = clamp(usage.imageOutputTokens, output)
  return (
    tokenClassCost(uncached, prices.input) +
    tokenClassCost(cached, prices.cachedInput) +
    tokenClassCost(cacheWrite, prices.cacheWrite) +
    tokenClassCost(imageInput, prices.imageInput) +
    tokenClassCost(output - imageOutput, prices.output) +
    tokenClassCost(imageOutput, prices.imageOutput)
  )
}

/** Images priced per image: count × the price of one at the quality and size asked for (exact; no rounding). */
export function perImageCost(images: number, nanoPerImage: bigint): bigint {
  return images <= 0 ? 0n : BigInt(images) * nanoPerImage
}
