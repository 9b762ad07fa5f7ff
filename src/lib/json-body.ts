// JSON request bodies under our limits: size (413), syntax (400 invalid_json) and nesting depth (400 nesting_too_deep), as Elysia parse hooks.
import { InvalidRequestError } from '../errors'
import { firstTooDeep, MAX_JSON_DEPTH, pathToParam } from './json-depth'
import { readBodyText } from './request-body'

/**
 * Parses a body text; the depth is checked once here, so no code after the parser ever walks a value nested deeper
 * than MAX_JSON_DEPTH (JSON.parse itself is iterative in Bun and parses any depth).
 */
export function parseJsonBody(text: string): unknown {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new InvalidRequestError(
      'We could not parse the JSON body of your request. Send valid JSON with "Content-Type: application/json".',
      null,
      'invalid_json',
    )
  }
  const tooDeep = firstTooDeep(body, MAX_JSON_DEPTH)
  if (tooDeep) {
    const param = pathToParam(tooDeep)
    throw new InvalidRequestError(
      `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels at '${param}'. Flatten the value; no request needs that depth.`,
      param,
      'nesting_too_deep',
    )
  }
  return body
}

/** Parse hook for JSON routes: any Content-Type is read as JSON (as OpenAI does), at most `maxBytes`. */
export function jsonBody(maxBytes: number) {
  return async ({ request }: { request: Request }): Promise<unknown> => parseJsonBody(await readBodyText(request, maxBytes))
}

/** Parse hook for routes that need the exact bytes (signed webhooks), at most `maxBytes`. */
export function textBody(maxBytes: number) {
  return ({ request }: { request: Request }): Promise<string> => readBodyText(request, maxBytes)
}
