// Translates an OpenAI-form chat.completion (what translated providers answer) into an Anthropic Messages API message.
import { UpstreamError } from '../errors'
import type { ProviderUsage } from '../providers/types'
import { messagesUsage, stopReasonOf } from './usage'

interface CompletionMessage {
  content?: unknown
  tool_calls?: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[] | null
}

interface Completion {
  model?: unknown
  choices?: { message?: CompletionMessage; finish_reason?: string | null }[]
}

/** Tool arguments as Anthropic's `input` object; arguments that are not a JSON object are kept under `_raw` rather than lost. */
export function toolInput(args: unknown): Record<string, unknown> {
  if (typeof args !== 'string' || args.trim() === '') return {}
  try {
    const parsed = JSON.parse(args)
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    // Falls through to the raw text.
  }
  return { _raw: args }
}

export interface MessageIdentity {
  id: string
  /** The model named when the completion does not say. */
  model: string
}

export function completionToMessage(completionJson: string, usage: ProviderUsage | null, identity: MessageIdentity): string {
  let completion: Completion
  try {
    completion = JSON.parse(completionJson)
  } catch {
    throw new UpstreamError('The upstream returned a response that is not JSON.', 'upstream_bad_response')
  }
  const choice = completion?.choices?.[0]
  if (!choice) throw new UpstreamError('The upstream returned a response without choices.', 'upstream_bad_response')
  const content: Record<string, unknown>[] = []
  const message = choice.message ?? {}
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content })
  for (const call of message.tool_calls ?? []) {
    content.push({
      type: 'tool_use',
      id: typeof call?.id === 'string' ? call.id : '',
      name: typeof call?.function?.name === 'string' ? call.function.name : '',
      input: toolInput(call?.function?.arguments),
    })
  }
  return JSON.stringify({
    id: identity.id,
    type: 'message',
    role: 'assistant',
    model: typeof completion.model === 'string' && completion.model !== '' ? completion.model : identity.model,
    content,
    stop_reason: stopReasonOf(choice.finish_reason),
    stop_sequence: null,
    usage: messagesUsage(usage),
  })
}
