// Billing periods are calendar months in UTC: [first instant, first instant of the next month).

export interface Period {
  start: Date
  /** Exclusive. */
  end: Date
}

export function monthPeriod(year: number, month: number): Period {
  return { start: new Date(Date.UTC(year, month - 1, 1)), end: new Date(Date.UTC(year, month, 1)) }
}

export function currentPeriod(now = new Date()): Period {
  return monthPeriod(now.getUTCFullYear(), now.getUTCMonth() + 1)
}

/** "2026-03" → March 2026; the caller validated the shape. */
export function parsePeriod(yyyyMm: string): Period {
  const [year, month] = yyyyMm.split('-').map(Number)
  return monthPeriod(year!, month!)
}

/** "2026-03-01T00:00:00Z" — second precision, as the product documents it. */
export const isoSeconds = (date: Date) => `${date.toISOString().slice(0, 19)}Z`
