// What a Messages API prompt is made of, measured as it goes to Anthropic untranslated: its texts in tokens, its images, and what we cannot count.
import { countPromptText, type CountText, type PromptMeasure } from '../metering/prompt'
import type { CountTokensRequest } from './messages-request'

// The same framing allowance as a chat prompt (src/metering/prompt.ts); Anthropic's own framing is in its textMargin.
const TOKENS_PER_MESSAGE = 3
const REPLY_PRIMING_TOKENS = 3

interface Block {
  type?: unknown
  text?: unknown
  thinking?: unknown
  data?: unknown
  name?: unknown
  input?: unknown
  content?: unknown
  source?: { type?: unknown; data?: unknown } | null
}

function walkBlocks(blocks: unknown, texts: string[], measure: PromptMeasure): void {
  if (typeof blocks === 'string') {
    texts.push(blocks)
    return
  }
  if (!Array.isArray(blocks)) return
  for (const block of blocks as Block[]) {
    if (block === null || typeof block !== 'object') continue
    switch (block.type) {
      case 'text':
        if (typeof block.text === 'string') texts.push(block.text)
        break
      case 'image':
        measure.imageDetails.push(undefined)
        break
      case 'tool_use':
        texts.push(String(block.name ?? ''), JSON.stringify(block.input ?? {}))
        break
      case 'tool_result':
        walkBlocks(block.content, texts, measure)
        break
      case 'thinking':
        if (typeof block.thinking === 'string') texts.push(block.thinking)
        break
      case 'redacted_thinking':
        // Encrypted: its text is longer than the thinking it stands for, so counting it errs on the safe side.
        if (typeof block.data === 'string') texts.push(block.data)
        break
      case 'document':
        // A plain-text document is text; a PDF or a file reference costs what Anthropic decides.
        if (block.source?.type === 'text' && typeof block.source.data === 'string') texts.push(block.source.data)
        else measure.uncountableParts++
        break
      default:
        measure.uncountableParts++
    }
  }
}

/** Measures a Messages API prompt (system, messages, tools); texts are counted like a chat prompt's. */
export async function measureMessagesPrompt(request: CountTokensRequest, count: CountText = countPromptText): Promise<PromptMeasure> {
  const measure: PromptMeasure = { textTokens: REPLY_PRIMING_TOKENS, imageDetails: [], uncountableParts: 0, hasTools: false }
  const texts: string[] = []
  walkBlocks(request.system, texts, measure)
  for (const message of request.messages) {
    measure.textTokens += TOKENS_PER_MESSAGE
    texts.push(message.role)
    walkBlocks(message.content, texts, measure)
  }
  if (request.tools && request.tools.length > 0) {
    measure.hasTools = true
    texts.push(JSON.stringify(request.tools))
    // An Anthropic-defined tool (bash, text editor, computer…) brings a prompt of Anthropic's we cannot count.
    for (const tool of request.tools) if (tool.type !== undefined && tool.type !== 'custom') measure.uncountableParts++
  }
  const counts = texts.map(count)
  for (const tokens of counts) measure.textTokens += typeof tokens === 'number' ? tokens : await tokens
  return measure
}
