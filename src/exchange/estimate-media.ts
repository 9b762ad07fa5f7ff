// The worst case an embeddings or image request can cost: embeddings their counted input with the provider's margin,
// images n × the most one image of that quality and size can cost (plus, for token-billed models, the prompt).
import type { CatalogModel } from '../pricing/catalog'
import { imageTier, mostOutputTokens, mostPerImageNano } from '../pricing/images'
import { tokenClassCost } from '../pricing/money'
import type { Estimate } from './estimate'

const maxOf = (...values: bigint[]) => values.reduce((a, b) => (b > a ? b : a))

/** Embeddings bill input only: the hold is our count × the provider's tokenizer margin, at the input price. */
export function estimateEmbeddings(model: CatalogModel, countedTokens: number, textMargin: number): Estimate {
  const inputHoldTokens = Math.ceil(countedTokens * textMargin)
  return {
    promptTokens: countedTokens,
    inputHoldTokens,
    outputCap: 0,
    choices: 1,
    heldOutputTokens: 0,
    sliceTokens: null,
    holdNano: tokenClassCost(inputHoldTokens, maxOf(model.prices.input, model.prices.cachedInput)),
    chargeTokens: inputHoldTokens,
  }
}

export interface ImageAsk {
  n: number
  quality: string
  size: string
  /** Our count of the prompt's text (token-billed models). */
  promptTokens: number
  textMargin: number
}

export interface ImageEstimate extends Estimate {
  /** Per-image models: the tier each image is priced at ("hd/1024x1792"). */
  imageTier: string | undefined
  /** Token-billed models: the most output tokens one image can bill at this quality and size (0 for per-image models). */
  outputTokensPerImage: number
}

/**
 * n × the most one image can cost: per-image models at the table's price (the largest, where quality or size is
 * "auto"); token-billed models at the most output tokens one image bills there, plus the prompt with its margin.
 * The caller has checked that the quality and size are in the model's table.
 */
export function estimateImages(model: CatalogModel, ask: ImageAsk): ImageEstimate {
  const pricing = model.images!
  const perImage = mostPerImageNano(pricing, ask.quality, ask.size)
  if (perImage !== undefined) {
    return {
      promptTokens: 0,
      inputHoldTokens: 0,
      outputCap: 0,
      choices: ask.n,
      heldOutputTokens: 0,
      sliceTokens: null,
      holdNano: BigInt(ask.n) * perImage,
      chargeTokens: 0,
      imageTier: imageTier(ask.quality, ask.size),
      outputTokensPerImage: 0,
    }
  }
  const outputPerImage = mostOutputTokens(pricing, ask.quality, ask.size) ?? 0
  const inputHoldTokens = Math.ceil(ask.promptTokens * ask.textMargin)
  const heldOutputTokens = ask.n * outputPerImage
  return {
    promptTokens: ask.promptTokens,
    inputHoldTokens,
    outputCap: 0,
    choices: ask.n,
    heldOutputTokens,
    sliceTokens: null,
    holdNano:
      tokenClassCost(inputHoldTokens, maxOf(model.prices.input, model.prices.cachedInput)) +
      tokenClassCost(heldOutputTokens, maxOf(model.prices.imageOutput, model.prices.output)),
    chargeTokens: inputHoldTokens + heldOutputTokens,
    imageTier: undefined,
    outputTokensPerImage: outputPerImage,
  }
}
