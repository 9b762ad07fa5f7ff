// GET /llm/usage: an account's tokens and cost for one month, per model, summed in Postgres from usage_events.
import { usageByModel } from '../../db/queries/usage-summary'
import type { Sql } from '../../lib/db'
import { formatNanoAsUsd } from '../../pricing/money'
import { isoSeconds, type Period } from './period'

export async function usageReport(sql: Sql, accountId: string, period: Period) {
  const rows = await usageByModel(sql, accountId, period.start, period.end)
  let input = 0n
  let output = 0n
  let cost = 0n
  const byModel: Record<string, { input: number; output: number; cost_usd: string; images?: number }> = {}
  for (const row of rows) {
    input += BigInt(row.input)
    output += BigInt(row.output)
    cost += BigInt(row.cost_nano)
    byModel[row.model] = { input: Number(row.input), output: Number(row.output), cost_usd: formatNanoAsUsd(BigInt(row.cost_nano)) }
    // Models priced per image say how many they made; token-priced ones are read from input and output.
    if (Number(row.images) > 0) byModel[row.model]!.images = Number(row.images)
  }
  return {
    period_start: isoSeconds(period.start),
    period_end: isoSeconds(new Date(period.end.getTime() - 1_000)),
    total_input_tokens: Number(input),
    total_output_tokens: Number(output),
    estimated_cost_usd: formatNanoAsUsd(cost),
    by_model: byModel,
  }
}
