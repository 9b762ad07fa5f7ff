// The stream relay in the Messages API's framing: chunks are whole Anthropic SSE events, no [DONE], failures as `error` events.
import type { GatewayError } from '../errors'
import { StreamRelay } from '../exchange/relay'
import { anthropicErrorEvent } from './errors'

export class AnthropicStreamRelay extends StreamRelay {
  override chunk(events: string): void {
    if (!this.failure && !this.truncated) this.out += events
  }

  // message_stop is the end of an Anthropic stream; nothing follows it.
  protected override endEvent(): string {
    return ''
  }

  protected override errorEvent(error: GatewayError): string {
    return anthropicErrorEvent(error)
  }
}
