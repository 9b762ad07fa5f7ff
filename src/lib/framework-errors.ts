// Maps what Elysia itself throws (bad JSON, schema violations, unknown routes) to our typed errors.
import { ValidationError } from 'elysia'
import { GatewayError, InternalError, InvalidRequestError, NotFoundError } from '../errors'

/** "/messages/0/role" → "messages[0].role" */
export function jsonPointerToParam(path: string): string {
  return path
    .split('/')
    .filter(Boolean)
    .map((segment, i) => (/^\d+$/.test(segment) ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join('')
}

export interface ValueErrorLike {
  path: string
  message: string
  value: unknown
  schema?: { description?: string }
}

function describeValidation(error: ValidationError): InvalidRequestError {
  return describeValueError((error.all as ValueErrorLike[] | undefined)?.[0] ?? (error.valueError as ValueErrorLike | undefined))
}

/** The 400 for the first thing a body got wrong against its schema, naming the field. */
export function describeValueError(first: ValueErrorLike | undefined): InvalidRequestError {
  if (!first) return new InvalidRequestError('The request body does not match the expected schema.', null, 'invalid_body')
  const param = jsonPointerToParam(first.path) || null
  if (first.value === undefined && param) {
    return new InvalidRequestError(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter')
  }
  const where = param ? `'${param}'` : 'the request body'
  if (typeof first.value === 'string' && first.value.includes('\u0000')) {
    return new InvalidRequestError(`Invalid value for ${where}: text must not contain NUL characters (\\u0000).`, param, 'invalid_value')
  }
  const description = first.schema?.description
  // A regular expression says little to a person; the schema's description says what is expected.
  const detail =
    description && first.message.startsWith('Expected string to match')
      ? `expected ${description}`
      : first.message.charAt(0).toLowerCase() + first.message.slice(1) + (description ? ` (${description})` : '')
  return new InvalidRequestError(`Invalid value for ${where}: ${detail}.`, param, 'invalid_value')
}

export function frameworkError(code: string | number, error: unknown, method: string, path: string): GatewayError {
  if (error instanceof GatewayError) return error
  switch (code) {
    case 'PARSE':
      // Our body parsers throw typed errors (401, 413, invalid JSON); Elysia wraps them as the cause.
      if ((error as Error | undefined)?.cause instanceof GatewayError) return (error as Error).cause as GatewayError
      return new InvalidRequestError(
        'We could not parse the JSON body of your request. Send valid JSON with "Content-Type: application/json".',
        null,
        'invalid_json',
      )
    case 'VALIDATION':
      return error instanceof ValidationError ? describeValidation(error) : new InvalidRequestError('Invalid request.', null, 'invalid_body')
    case 'NOT_FOUND':
      return new NotFoundError(`Unknown route: ${method} ${path}`, 'unknown_route')
    default:
      return new InternalError()
  }
}

/**
 * Bun's maxRequestBodySize. Bun answers a Content-Length over it with a bare 413 (no body) before any of our code
 * runs, so it is set out of reach and every limit is ours, in the error shape: Content-Length in app.ts's onRequest,
 * chunked bodies counted by the parsers (src/lib/request-body.ts). A route that never reads its body costs nothing:
 * Bun answers and stops reading (measured: a 1 GiB upload refused after the first MiB, server memory unchanged).
 */
export const SERVER_BODY_LIMIT = Number.MAX_SAFE_INTEGER
