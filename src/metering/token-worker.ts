// A token-pool thread: builds one o200k_base encoder when it starts and counts the texts the main thread posts to it.
import { get_encoding } from 'tiktoken'
import type { CountJob, CountReply } from './token-pool'

// The same encoding and call as countTextTokens in ./tokenizer: counts off the thread equal counts on it.
const encoder = get_encoding('o200k_base')

const reply = (message: CountReply) => postMessage(message)

addEventListener('message', (event: MessageEvent<CountJob>) => {
  const { id, text } = event.data
  try {
    reply({ id, tokens: text.length === 0 ? 0 : encoder.encode_ordinary(text).length })
  } catch (error) {
    reply({ id, error: error instanceof Error ? error.message : String(error) })
  }
})
