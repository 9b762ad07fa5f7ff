// A progressive hold as a stream decorator: output is counted as it passes, the next slice is asked for before the held
// one runs out, and the answer is cut cleanly (finish_reason "length") where the money stops.
import { countTextTokens } from '../metering/tokenizer'
import type { GatewayError } from '../errors'
import type { ChunkBound, ChunkReader, OutputKind, ProviderUsage, StreamSink, StreamTranslator } from '../providers/types'
import type { EventHandler, RelaySink } from './relay-contract'

export interface BudgetOptions {
  /** Output tokens the hold covers now. */
  heldTokens: number
  sliceTokens: number
  /** Asks for the next slice; resolves with the output tokens granted (0: no more). */
  extend(): Promise<number>
  /** The chunks that end a cut answer: the finish chunk, and the usage chunk if the client asked for it. */
  endOfCut(): string[]
}

/**
 * Wraps the provider's translator. Every kind of generated token counts (text, refusals, tool names and arguments,
 * reasoning the client is not shown): a translator reports output before the chunk that carries it, so a delta the
 * budget cannot cover is never sent, and never billed. Events wait for a slice only when the output nears the hold.
 */
export function budgeted(down: RelaySink, translatorFor: (sink: StreamSink) => StreamTranslator, options: BudgetOptions): EventHandler {
  return new BudgetedStream(down, translatorFor, options)
}

/**
 * The budget is both the translator's sink and the relay's event handler. A class, not a dozen closures over one
 * frame: it lives as long as its stream.
 */
class BudgetedStream implements EventHandler, StreamSink {
  private held: number
  // Output tokens are counted exactly only near the hold: far from it, a delta's UTF-8 bytes bound its tokens (a
  // token is at least one byte), and a tiktoken call per delta cost ~8 µs each on a 20-chunk stream (bench/run.ts).
  // A chunk whose format bounds its bytes without parsing is not even read until then.
  private counted = 0
  /** Delivered and not counted yet, in order: texts, and chunks still to be read (each with its reader; null: a text). */
  private uncounted: string[] = []
  private readers: (ChunkReader | null)[] = []
  /** At least the UTF-8 bytes of what `uncounted` holds (exact for texts, a bound for unread chunks). */
  private uncountedBytes = 0
  private exhausted = false
  private cut = false
  private readonly translator: StreamTranslator

  constructor(
    private readonly down: RelaySink,
    translatorFor: (sink: StreamSink) => StreamTranslator,
    private readonly options: BudgetOptions,
  ) {
    this.held = options.heldTokens
    this.translator = translatorFor(this)
  }

  /** Counts what was delivered since the last count; the delivered total is then exact. */
  private countDelivered(): number {
    const { uncounted, readers } = this
    if (uncounted.length > 0) {
      let text = ''
      for (let i = 0; i < uncounted.length; i++) {
        const read = readers[i]
        text += read ? read(uncounted[i]!) : uncounted[i]!
      }
      this.counted += countTextTokens(text)
      this.uncounted = []
      this.readers = []
      this.uncountedBytes = 0
    }
    return this.counted
  }

  // StreamSink: what the provider's translator emits.
  chunk(json: string): void {
    if (!this.cut) this.down.chunk(json)
  }

  output(delta: string, kind: OutputKind): void {
    if (this.cut) return
    const bytes = Buffer.byteLength(delta)
    if (this.counted + this.uncountedBytes + bytes > this.held) {
      // Near the hold: exactly.
      const tokens = countTextTokens(delta)
      if (this.countDelivered() + tokens > this.held) {
        this.cut = true
        for (const chunk of this.options.endOfCut()) this.down.chunk(chunk)
        this.down.truncate()
        return
      }
      this.counted += tokens
    } else {
      this.uncounted.push(delta)
      this.readers.push(null)
      this.uncountedBytes += bytes
    }
    this.down.output(delta, kind)
  }

  // Far from the hold, a chunk its format can bound is passed on unread (the meter too reads it only if it must);
  // near it, or without a bound, it is read now and counted as output.
  outputLater(chunkJson: string, read: ChunkReader, bytesAtMost?: ChunkBound): void {
    if (this.cut) return
    if (bytesAtMost) {
      const bound = bytesAtMost.atMost(chunkJson)
      if (this.counted + this.uncountedBytes + bound <= this.held) {
        this.uncounted.push(chunkJson)
        this.readers.push(read)
        this.uncountedBytes += bound
        this.down.outputLater(chunkJson, read)
        return
      }
    }
    const text = read(chunkJson)
    if (text !== '') this.output(text, 'text')
  }

  // After a cut the provider's numbers still reach the meter (its input count), but the client saw our usage chunk.
  usage(usage: ProviderUsage, chunkJson: string): void {
    this.down.usage(usage, this.cut ? '' : chunkJson)
  }

  fail(error: GatewayError): void {
    if (!this.cut) this.down.fail(error)
  }

  complete(): void {
    if (!this.cut) this.down.complete()
  }

  // EventHandler: the relay's events, through the translator.
  onEvent(event: string, data: string): void | Promise<void> {
    if (this.cut) return
    if (this.nearTheEnd()) return this.topUpThen(event, data)
    this.translator.onEvent(event, data)
  }

  onEnd(): void {
    this.translator.onEnd()
  }

  private nearTheEnd(): boolean {
    const threshold = this.held - this.options.sliceTokens / 2
    return !this.exhausted && !this.cut && this.counted + this.uncountedBytes >= threshold && this.countDelivered() >= threshold
  }

  private async topUpThen(event: string, data: string): Promise<void> {
    const granted = await this.options.extend()
    if (granted > 0) this.held += granted
    else this.exhausted = true
    if (!this.cut) this.translator.onEvent(event, data)
  }
}
