// Redis keys of one rate-limit and money subject (an account, or a static key): one hash tag, so one Cluster slot.

export interface SubjectKeys {
  limits: string
  wallet: string
  holds: string
  holdExpiry: string
  unposted: string
  posted: string
  settled: string
}

export function subjectKeys(subject: string): SubjectKeys {
  const tag = `{a:${subject}}`
  return { limits: `${tag}:rl`, wallet: `${tag}:w`, holds: `${tag}:holds`, holdExpiry: `${tag}:hexp`, unposted: `${tag}:unposted`, posted: `${tag}:posted`, settled: `${tag}:settled` }
}

/** "2026-11": the calendar month (UTC) a spend belongs to. */
export function monthId(date = new Date()): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`
}
