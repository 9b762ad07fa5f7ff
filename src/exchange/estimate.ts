// The worst case a chat request can cost: its output cap (sent upstream as is) times n, and its input as the provider could count it.
import type { ChatRequest } from '../openai/chat-request'
import type { PromptMeasure } from '../metering/prompt'
import { countedPromptTokens } from '../metering/prompt'
import { pricesAt, type CatalogModel } from '../pricing/catalog'
import { tokenClassCost } from '../pricing/money'
import type { PromptProfile } from '../providers/types'

export interface Estimate {
  /** Our own count of the prompt (usage records show it beside the provider's). */
  promptTokens: number
  /** The most prompt tokens the provider can bill for this request. */
  inputHoldTokens: number
  /** The output cap per choice, sent upstream in the provider's own field. */
  outputCap: number
  /** Choices asked for (n); the provider bills each one's output. */
  choices: number
  /** Output tokens held at admission: outputCap × choices, or one slice of a progressive hold. */
  heldOutputTokens: number
  /** Set for a progressive hold: the stream asks for this many more output tokens at a time. */
  sliceTokens: number | null
  /** The hold: input and output held, at the prices they can be billed at. */
  holdNano: bigint
  /** Charged to the token bucket at admission (corrected to what was used at the end). */
  chargeTokens: number
}

/** The cap: the larger of the client's two fields (OpenAI honours either), else the catalog default, never above the model's max. */
export function outputCapOf(request: ChatRequest, model: CatalogModel): { cap: number; clientSet: boolean } {
  const asked = Math.max(request.max_tokens ?? 0, request.max_completion_tokens ?? 0)
  if (asked === 0) return { cap: model.defaultMaxTokens, clientSet: false }
  return { cap: Math.min(asked, model.maxOutputTokens), clientSet: true }
}

/** The most input the provider can bill: text with its tokenizer margin, images at their maximum, and whole context for what we cannot count. */
export function inputHoldOf(measure: PromptMeasure, profile: PromptProfile, model: CatalogModel): number {
  let tokens = Math.ceil(measure.textTokens * profile.textMargin) + (measure.hasTools ? profile.toolPromptTokens : 0)
  for (const detail of measure.imageDetails) {
    tokens += model.imageMaxTokens ? (detail === 'low' ? model.imageMaxTokens.low : model.imageMaxTokens.high) : profile.imageMaxTokens(detail)
  }
  // A part we cannot count may fill whatever the context window leaves; no prompt can bill more than the window holds.
  if (measure.uncountableParts > 0) return model.contextWindow
  return Math.min(tokens, model.contextWindow)
}

export interface EstimateInput {
  request: ChatRequest
  model: CatalogModel
  measure: PromptMeasure
  profile: PromptProfile
  /** Output tokens per slice when the payment may hold progressively (a prepaid wallet); null otherwise. */
  progressiveSliceTokens: number | null
}

export function estimateChat({ request, model, measure, profile, progressiveSliceTokens }: EstimateInput): Estimate {
  const { cap, clientSet } = outputCapOf(request, model)
  return estimateWorstCase({ cap, clientSet, choices: request.n ?? 1, stream: request.stream === true, model, measure, profile, progressiveSliceTokens })
}

export interface WorstCaseInput {
  /** The output cap per choice, already at most the model's max output. */
  cap: number
  /** The client chose the cap (it is then held whole). */
  clientSet: boolean
  choices: number
  stream: boolean
  model: CatalogModel
  measure: PromptMeasure
  profile: PromptProfile
  progressiveSliceTokens: number | null
}

/** The estimate of any request shape once its cap and prompt are known (chat, the Messages API). */
export function estimateWorstCase({ cap, clientSet, choices, stream, model, measure, profile, progressiveSliceTokens }: WorstCaseInput): Estimate {
  const inputHoldTokens = inputHoldOf(measure, profile, model)
  const fullOutput = cap * choices
  // Slice by slice only where every billed token streams past us: not with hidden reasoning, and not when the
  // client set its own cap (it then gets exactly what it asked for, or a 402). Nor when one slice holds the whole
  // output: a budget whose slice passed its hold asked for another before the first event (a round trip, and the
  // stream tracked as a grown hold) for money it could never use.
  const progressive =
    progressiveSliceTokens !== null && progressiveSliceTokens < fullOutput && stream && !clientSet && !model.hiddenReasoning && model.prices.output > 0n
  const heldOutputTokens = progressive ? progressiveSliceTokens : fullOutput
  // A model with a long-prompt tier is held at that tier whenever the most the prompt can bill passes its threshold.
  const prices = pricesAt(model, inputHoldTokens)
  // Prompt tokens bill at the input price, or above it when the provider writes them to its cache.
  const inputPrice = [prices.input, prices.cachedInput, prices.cacheWrite].reduce((a, b) => (b > a ? b : a))
  return {
    promptTokens: countedPromptTokens(measure),
    inputHoldTokens,
    outputCap: cap,
    choices,
    heldOutputTokens,
    sliceTokens: progressive ? progressiveSliceTokens : null,
    holdNano: tokenClassCost(inputHoldTokens, inputPrice) + tokenClassCost(heldOutputTokens, prices.output),
    chargeTokens: inputHoldTokens + heldOutputTokens,
  }
}
