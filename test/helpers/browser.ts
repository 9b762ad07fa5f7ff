// The browser side of platform mode: the openai SDK holding an end user's session token, sending the page's Origin.
import OpenAI from 'openai'

/** A client as a page builds it: the session token as its key, the page's origin on every request. */
export function browserClient(gatewayUrl: string, token: string, origin: string): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${gatewayUrl}/v1`, maxRetries: 0, timeout: 15_000, defaultHeaders: { origin } })
}

/** The status and code a refused SDK call got; throws when the call succeeded. */
export async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string | null }> {
  try {
    await promise
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, code: (error.code as string | null) ?? null }
    throw error
  }
  throw new Error('expected a refusal')
}
