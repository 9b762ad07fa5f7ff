// A metered route's markup ("20%", "2.5%") parsed exactly into basis points: no floats, at most 2 decimals, 0% to 1000%.

export const MAX_MARKUP_BPS = 100_000

/** Parses "20%" or "2.55%"; returns basis points (2000, 255) or what was wrong with it (the caller names the key). */
export function parseMarkup(value: unknown): number | string {
  if (typeof value === 'number') return `expected a quoted percentage such as "20%" (got the bare number ${value})`
  if (typeof value !== 'string') return 'expected a percentage such as "20%"'
  const match = /^(\d{1,4})(?:\.(\d{1,2}))?%$/.exec(value.trim())
  if (!match) return `expected a percentage such as "20%" (at most 2 decimals); got ${JSON.stringify(value)}`
  const bps = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'))
  if (bps > MAX_MARKUP_BPS) return `expected at most 1000%; got ${JSON.stringify(value)}`
  return bps
}

/** As a config would write it: 2000 → "20%", 255 → "2.55%". */
export function formatMarkup(bps: number): string {
  const whole = Math.floor(bps / 100)
  const cents = bps % 100
  return cents === 0 ? `${whole}%` : `${whole}.${String(cents).padStart(2, '0').replace(/0$/, '')}%`
}
