// How amounts show: the gateway's decimal USD strings as dollars and cents.

/** "8.333333333" → "$8.33" (floored to the cent: never show more than can be spent). */
export function formatUsd(amount: string): string {
  const [whole = '0', fraction = ''] = amount.replace(/^-/, '').split('.')
  return `${amount.startsWith('-') ? '-' : ''}$${Number(whole).toLocaleString('en-US')}.${(fraction + '00').slice(0, 2)}`
}
