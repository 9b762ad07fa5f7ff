// TypeBox pieces the feature models share for what callers send: text Postgres can store, a report month, a bounded integer in a query string.
import type { StringOptions } from '@sinclair/typebox'
import { t } from 'elysia'
import { InvalidRequestError } from '../errors'

/** Postgres refuses U+0000 in text; a value carrying it must be a 400 naming the field, never a failed query. */
const NO_NUL = '^[^\\u0000]*$'

type TextOptions = Omit<StringOptions, 'pattern'>

/** A string that can be stored or used in a query: no NUL characters. Fields with their own pattern exclude NUL there. */
export const Text = (options: TextOptions = {}) => t.String({ ...options, pattern: NO_NUL })

/**
 * A calendar month in UTC, `YYYY-MM`, with a year from 1970 to 9999: earlier months hold no usage (Unix time starts
 * there), and later ones cannot be written as the timestamps Postgres and ISO 8601 share.
 */
export const Month = (description = 'a calendar month (UTC), YYYY-MM, from 1970-01 to 9999-12') =>
  t.String({ pattern: '^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$', description })

/**
 * An integer query parameter, as digits: "2.5", "-1", "1e3" or "0x10" are refused by the pattern, naming the field,
 * before `queryInteger` checks the range. (Elysia's own numeric coercion reports range errors without the field name.)
 */
export const IntegerParam = (range: { minimum: number; maximum: number }, description?: string) =>
  t.String({ pattern: '^[0-9]{1,16}$', description: description ?? `an integer from ${range.minimum} to ${range.maximum}` })

/** The value of an IntegerParam, `fallback` when absent; out of range is a 400 naming `name`. */
export function queryInteger(raw: string | undefined, name: string, range: { minimum: number; maximum: number }, fallback: number): number {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < range.minimum || value > range.maximum) {
    throw new InvalidRequestError(`Invalid value for '${name}': expected an integer from ${range.minimum} to ${range.maximum}.`, name, 'invalid_value')
  }
  return value
}
