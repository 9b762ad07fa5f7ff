// The OpenAI request: the client's body passes through with the upstream model id, one output cap, and usage asked for.
import { InvalidRequestError } from '../../errors'
import type { UpstreamCall } from '../types'

/**
 * Pass-through fields OpenAI bills beyond the tokens the cap bounds (per-search fees, audio tokens at other prices,
 * priority tiers at a higher rate): the hold could not cover them, so they are refused rather than billed wrong.
 */
function refuseUnboundedBilling(request: Record<string, unknown>): void {
  if (request.web_search_options != null) {
    throw new InvalidRequestError('web_search_options is not supported: searches are billed per call, which the hold cannot bound.', 'web_search_options')
  }
  if (request.audio != null) throw new InvalidRequestError('Audio output is not supported through this gateway.', 'audio')
  const modalities = request.modalities
  if (Array.isArray(modalities) && modalities.some((m) => m !== 'text')) {
    throw new InvalidRequestError('Only the text modality is supported through this gateway.', 'modalities')
  }
  const tier = request.service_tier
  if (tier != null && tier !== 'auto' && tier !== 'default') {
    throw new InvalidRequestError(`service_tier '${String(tier)}' is billed at other prices than the catalog's; use 'auto' or 'default'.`, 'service_tier')
  }
}

export function buildOpenAiBody(call: UpstreamCall): Record<string, unknown> {
  const body: Record<string, unknown> = { ...call.request, model: call.model.upstreamModel }
  refuseUnboundedBilling(body)
  // One cap, in the field every current OpenAI model takes (o-series refuse max_tokens): the one the hold covers.
  delete body.max_tokens
  body.max_completion_tokens = call.maxTokens
  if (call.stream) {
    // Always ask for usage so a stream is billed on the provider's numbers; the relay hides it if the client did not ask.
    body.stream = true
    body.stream_options = { ...(call.request.stream_options ?? {}), include_usage: true }
  } else {
    delete body.stream
    delete body.stream_options
  }
  return body
}
