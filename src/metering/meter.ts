// Watches one request as it runs (generated output, provider usage, first byte) and says what it used: at a checkpoint, and at the end.
import type { ProviderUsage } from '../providers/types'
import { countTextTokens } from './tokenizer'

/** Tokens a request used, and where the numbers came from. */
export interface MeteredUsage {
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  cacheWriteTokens: number
  reasoningTokens: number
  /** Image tokens read and generated (subsets of input and output), and images priced per image: image models only. */
  imageInputTokens: number
  imageOutputTokens: number
  images: number
  /** provider: the provider's numbers only; counted: ours only; both: the provider's, with our count beside. */
  source: 'provider' | 'counted' | 'both'
  countedInputTokens: number
  countedOutputTokens: number
  inputTokensDiff: number | null
  outputTokensDiff: number | null
}

/** How the request ended, as far as the meter cares. */
export interface MeterEnd {
  /** The provider marked a proper end of its answer (usage it reports is then complete). */
  complete: boolean
  /** The request never reached the upstream: nothing was generated or billed. */
  reachedUpstream: boolean
}

export class RequestMeter {
  private readonly pieces: string[] = []
  /** Chunks whose output is read only when it must be counted (outputLater), and how to read them. */
  private unread: string[] = []
  private readUnread: ((chunkJson: string) => string) | null = null
  /**
   * The output was counted so far once (a checkpoint): from then on each chunk is read as it comes. This stream's
   * output is counted at every checkpoint anyway, and a chunk held until the next one stays alive a second: on a slow
   * stream, past a young-generation collection, until a full one (the chunk's whole decoded piece, ~300 bytes a
   * chunk). Streams shorter than a checkpoint interval still never read a chunk their provider's usage makes moot.
   */
  private eager = false
  /** Output counted so far (in runs, not one by one); `pieces` holds only what is not counted yet. */
  private countedTokens = 0
  private providerUsage: ProviderUsage | null = null
  private truncated = false
  firstByteAt: number | null = null
  /** Bumped by every observation: a checkpoint is only worth sending when it moved. */
  version = 0

  constructor(
    /** Our count of the prompt, made before the call. */
    readonly promptTokens: number,
    /** Count output even when the provider reports usage, to record the difference. */
    private readonly crosscheck: boolean,
  ) {}

  output(delta: string): void {
    this.readPending()
    this.pieces.push(delta)
    this.version++
  }

  /** A chunk whose generated text `read` extracts, when (and if) it must be counted. */
  outputLater(chunkJson: string, read: (chunkJson: string) => string): void {
    this.version++
    if (this.eager) {
      const text = read(chunkJson)
      if (text !== '') this.pieces.push(text)
      return
    }
    this.unread.push(chunkJson)
    this.readUnread = read
  }

  private readPending(): void {
    if (this.unread.length === 0) return
    const read = this.readUnread!
    for (const chunk of this.unread) {
      const text = read(chunk)
      if (text !== '') this.pieces.push(text)
    }
    this.unread = []
  }

  setProviderUsage(usage: ProviderUsage): void {
    this.providerUsage = usage
    this.version++
  }

  /** The gateway ended the answer early (a budget ran out): what was delivered is what is billed. */
  markTruncated(): void {
    this.truncated = true
  }

  markFirstByte(): void {
    if (this.firstByteAt === null) this.firstByteAt = performance.now()
  }

  /**
   * Our count of the output so far. Pieces are counted once, in runs; a run boundary may split a token, never lose one.
   * A run counted is let go: a long stream holds only the output since its last checkpoint, not all it generated.
   */
  countedOutput(): number {
    this.eager = true
    this.readPending()
    if (this.pieces.length > 0) {
      this.countedTokens += countTextTokens(this.pieces.join(''))
      this.pieces.length = 0
    }
    return this.countedTokens
  }

  /** What has been used so far, for a checkpoint: the provider's input if it said, our count of the output delivered. */
  sofar(): MeteredUsage {
    const provider = this.providerUsage
    const output = this.countedOutput()
    return this.usage(provider?.inputTokens ?? this.promptTokens, Math.max(provider?.outputTokens ?? 0, output), provider, output, true)
  }

  /**
   * The request's usage. Provider usage is authoritative, except that an answer which did not complete is billed for at
   * least what we saw delivered (a provider's partial count can lag behind its text), and one the gateway cut short
   * for exactly what it delivered (that is what the hold covered).
   */
  final(end: MeterEnd): MeteredUsage {
    if (!end.reachedUpstream) return nothingUsed(this.promptTokens)
    const provider = this.providerUsage
    const complete = end.complete && !this.truncated
    const needCount = this.crosscheck || provider === null || !complete
    const counted = needCount ? this.countedOutput() : 0
    if (this.truncated) return this.usage(provider?.inputTokens ?? this.promptTokens, counted, provider, counted, true)
    if (!provider) return this.usage(this.promptTokens, counted, null, counted, true)
    return this.usage(provider.inputTokens, complete ? provider.outputTokens : Math.max(provider.outputTokens, counted), provider, counted, needCount)
  }

  private usage(inputTokens: number, outputTokens: number, provider: ProviderUsage | null, counted: number, didCount: boolean): MeteredUsage {
    return {
      inputTokens,
      outputTokens,
      cachedInputTokens: provider?.cachedInputTokens ?? 0,
      cacheWriteTokens: provider?.cacheWriteTokens ?? 0,
      reasoningTokens: provider?.reasoningTokens ?? 0,
      imageInputTokens: provider?.imageInputTokens ?? 0,
      imageOutputTokens: provider?.imageOutputTokens ?? 0,
      images: provider?.images ?? 0,
      source: provider ? (didCount ? 'both' : 'provider') : 'counted',
      countedInputTokens: this.promptTokens,
      countedOutputTokens: didCount ? counted : 0,
      inputTokensDiff: provider && didCount ? provider.inputTokens - this.promptTokens : null,
      outputTokensDiff: provider && didCount ? provider.outputTokens - counted : null,
    }
  }
}

/** The usage of a request that never reached its upstream: nothing, beside our count of its prompt. */
export function nothingUsed(promptTokens: number): MeteredUsage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    imageInputTokens: 0,
    imageOutputTokens: 0,
    images: 0,
    source: 'counted',
    countedInputTokens: promptTokens,
    countedOutputTokens: 0,
    inputTokensDiff: null,
    outputTokensDiff: null,
  }
}
