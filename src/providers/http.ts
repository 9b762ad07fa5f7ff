// The one way adapters reach an upstream: a keep-alive POST of a JSON body (serialised by prepare), aborted through the call's signal.

export function postJson(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
    signal,
    // A redirect from a provider API is unexpected; surface it instead of re-sending the body elsewhere.
    redirect: 'manual',
  })
}
