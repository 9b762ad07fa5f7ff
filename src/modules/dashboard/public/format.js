// How the dashboard writes money, counts and dates: USD strings from the API are shown exactly as written (nano-USD precision), with thousands separators.

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

/** The exact sum of the API's decimal USD strings (at most 9 places), as one such string. */
export function sumUsd(values) {
  const nano = values.reduce((total, value) => {
    const text = String(value)
    const [whole, fraction = ''] = text.replace('-', '').split('.')
    const amount = BigInt(whole || '0') * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9))
    return total + (text.startsWith('-') ? -amount : amount)
  }, 0n)
  const abs = nano < 0n ? -nano : nano
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0')
  return `${nano < 0n ? '-' : ''}${abs / 1_000_000_000n}.${fraction}`
}
