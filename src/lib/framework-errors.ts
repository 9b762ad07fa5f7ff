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

interface ValueErrorLike {
  path: string
  message: string
  value: unknown
}

function describeValidation(error: ValidationError): InvalidRequestError {
  const first = (error.all as ValueErrorLike[] | undefined)?.[0] ?? (error.valueError as ValueErrorLike | undefined)
  if (!first) return new InvalidRequestError('The request body does not match the expected schema.', null, 'invalid_body')
  const param = jsonPointerToParam(first.path) || null
  if (first.value === undefined && param) {
    return new InvalidRequestError(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter')
  }
  const where = param ? `'${param}'` : 'the request body'
  const detail = first.message.charAt(0).toLowerCase() + first.message.slice(1)
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

/** Bun refuses bodies above this before we see them; our own check (in JSON shape) sits below it. */
export function serverBodyLimit(maxBodyBytes: number): number {
  return Math.max(maxBodyBytes * 2, maxBodyBytes + 1024 * 1024)
}
