// A progressive hold as a stream decorator: output is counted as it passes, the next slice is asked for before the held
// one runs out, and the answer is cut cleanly (finish_reason "length") where the money stops.
import { countTextTokens } from '../metering/tokenizer'
import type { ChunkReader, StreamSink, StreamTranslator } from '../providers/types'
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
  let held = options.heldTokens
  // Output tokens are counted exactly only near the hold: far from it, a delta's UTF-8 bytes bound its tokens (a
  // token is at least one byte), and a tiktoken call per delta cost ~8 µs each on a 20-chunk stream (bench/run.ts).
  // A chunk whose format bounds its bytes without parsing is not even read until then.
  let counted = 0
  /** Delivered and not counted yet, in order: texts, and chunks still to be read (each with its reader; null: a text). */
  let uncounted: string[] = []
  let readers: (ChunkReader | null)[] = []
  /** At least the UTF-8 bytes of what `uncounted` holds (exact for texts, a bound for unread chunks). */
  let uncountedBytes = 0
  let exhausted = false
  let cut = false

  /** Counts what was delivered since the last count; the delivered total is then exact. */
  function countDelivered(): number {
    if (uncounted.length > 0) {
      let text = ''
      for (let i = 0; i < uncounted.length; i++) {
        const read = readers[i]
        text += read ? read(uncounted[i]!) : uncounted[i]!
      }
      counted += countTextTokens(text)
      uncounted = []
      readers = []
      uncountedBytes = 0
    }
    return counted
  }

  const sink: StreamSink = {
    chunk: (json) => {
      if (!cut) down.chunk(json)
    },
    output(delta, kind) {
      if (cut) return
      const bytes = Buffer.byteLength(delta)
      if (counted + uncountedBytes + bytes > held) {
        // Near the hold: exactly.
        const tokens = countTextTokens(delta)
        if (countDelivered() + tokens > held) {
          cut = true
          for (const chunk of options.endOfCut()) down.chunk(chunk)
          down.truncate()
          return
        }
        counted += tokens
      } else {
        uncounted.push(delta)
        readers.push(null)
        uncountedBytes += bytes
      }
      down.output(delta, kind)
    },
    // Far from the hold, a chunk its format can bound is passed on unread (the meter too reads it only if it must);
    // near it, or without a bound, it is read now and counted as output.
    outputLater(chunkJson, read, bytesAtMost) {
      if (cut) return
      if (bytesAtMost) {
        const bound = bytesAtMost.atMost(chunkJson)
        if (counted + uncountedBytes + bound <= held) {
          uncounted.push(chunkJson)
          readers.push(read)
          uncountedBytes += bound
          down.outputLater(chunkJson, read)
          return
        }
      }
      const text = read(chunkJson)
      if (text !== '') sink.output(text, 'text')
    },
    // After a cut the provider's numbers still reach the meter (its input count), but the client saw our usage chunk.
    usage: (usage, chunkJson) => down.usage(usage, cut ? '' : chunkJson),
    fail: (error) => {
      if (!cut) down.fail(error)
    },
    complete: () => {
      if (!cut) down.complete()
    },
  }
  const translator = translatorFor(sink)

  const threshold = () => held - options.sliceTokens / 2
  const nearTheEnd = () => !exhausted && !cut && counted + uncountedBytes >= threshold() && countDelivered() >= threshold()
  async function topUpThen(event: string, data: string): Promise<void> {
    const granted = await options.extend()
    if (granted > 0) held += granted
    else exhausted = true
    if (!cut) translator.onEvent(event, data)
  }

  return {
    onEvent(event, data) {
      if (cut) return
      if (nearTheEnd()) return topUpThen(event, data)
      translator.onEvent(event, data)
    },
    onEnd: () => translator.onEnd(),
  }
}
