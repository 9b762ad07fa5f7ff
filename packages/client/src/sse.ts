// Server-sent events from a fetch body (ReadableStream only): the `data:` payloads of an OpenAI chat stream, and the text deltas in them.
import { MeterwayClientError } from './errors'

/** Each event's data (multi-line data joined by \n), until the stream ends; `[DONE]` is yielded like any other. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let data: string[] = []
  try {
    for (;;) {
      const { value, done } = await reader.read()
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true })
      // Events end at a blank line; lines end at \n, \r\n or \r.
      let newline: RegExpExecArray | null
      while ((newline = /\r\n|\r|\n/.exec(buffer)) !== null) {
        // A trailing \r may be the first half of \r\n: wait for more unless the stream ended.
        if (newline[0] === '\r' && newline.index === buffer.length - 1 && !done) break
        const line = buffer.slice(0, newline.index)
        buffer = buffer.slice(newline.index + newline[0].length)
        if (line === '') {
          if (data.length > 0) yield data.join('\n')
          data = []
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line[5] === ' ' ? 6 : 5))
        }
      }
      if (done) {
        if (buffer.startsWith('data:')) data.push(buffer.slice(buffer[5] === ' ' ? 6 : 5))
        if (data.length > 0) yield data.join('\n')
        return
      }
    }
  } finally {
    reader.releaseLock()
  }
}

/** The text deltas of an OpenAI chat-completions stream; an error event becomes a MeterwayClientError. */
export async function* chatDeltas(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  for await (const data of sseData(body)) {
    if (data === '[DONE]') return
    let chunk: { choices?: { delta?: { content?: unknown } }[]; error?: { message?: string; code?: string | null } }
    try {
      chunk = JSON.parse(data)
    } catch {
      throw new MeterwayClientError(`Unreadable stream event: ${data.slice(0, 200)}`, 200, 'invalid_stream')
    }
    if (chunk.error) throw new MeterwayClientError(chunk.error.message ?? 'The stream failed', 200, chunk.error.code ?? null, chunk)
    const content = chunk.choices?.[0]?.delta?.content
    if (typeof content === 'string' && content !== '') yield content
  }
}
