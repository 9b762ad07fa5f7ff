// How the dashboard writes money, counts and dates: USD strings from the API are shown as they are, rounded only for display.

/** "0.000555" → "$0.000555", "1234.5" → "$1,234.50": the API's exact decimal (nano-USD, at most 9 places), never rounded. */
export function usd(value) {
  const text = String(value ?? '0')
  const negative = text.startsWith('-')
  const [whole, fraction = ''] = text.replace('-', '').split('.')
  return `${negative ? '−' : ''}$${BigInt(whole || '0').toLocaleString('en-US')}.${fraction.padEnd(2, '0')}`
}

export const count = (value) => Number(value ?? 0).toLocaleString('en-US')

/** "2026-12-01T10:20:30.000Z" → "2026-12-01 10:20 UTC". */
export const when = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '—')

export const percent = (value) => `${Number(value).toLocaleString('en-US', { maximumFractionDigits: 2 })} %`

export const thisMonth = () => new Date().toISOString().slice(0, 7)
