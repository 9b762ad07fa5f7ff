// GET /v1/projects/{id}/usage: a project's month per model and per end customer (tokens, cost), summed in Postgres from usage_events.
import { findOwnProject } from '../../db/queries/projects'
import { projectUsageByCustomer, projectUsageByModel } from '../../db/queries/usage-summary'
import { NotFoundError } from '../../errors'
import { formatNanoAsUsd } from '../../pricing/money'
import type { Principal } from '../auth/service'
import { isoSeconds, type Period } from '../usage/period'
import { accountOf, type ProjectServiceDeps } from './service'

export async function projectUsage(deps: Pick<ProjectServiceDeps, 'sql'>, principal: Principal, projectId: string, period: Period) {
  if (!(await findOwnProject(deps.sql, accountOf(principal), projectId))) throw new NotFoundError(`No project '${projectId}'.`, 'project_not_found', 'id')
  const [models, customers] = await Promise.all([
    projectUsageByModel(deps.sql, projectId, period.start, period.end),
    projectUsageByCustomer(deps.sql, projectId, period.start, period.end),
  ])
  let input = 0n
  let output = 0n
  let cost = 0n
  const byModel: Record<string, { input: number; output: number; cost_usd: string }> = {}
  for (const row of models) {
    input += BigInt(row.input)
    output += BigInt(row.output)
    cost += BigInt(row.cost_nano)
    byModel[row.model] = { input: Number(row.input), output: Number(row.output), cost_usd: formatNanoAsUsd(BigInt(row.cost_nano)) }
  }
  const byCustomer = customers.map((row) => ({
    end_customer_id: row.end_customer_id,
    external_id: row.external_id,
    mode: row.mode,
    requests: Number(row.requests),
    input: Number(row.input),
    output: Number(row.output),
    cost_usd: formatNanoAsUsd(BigInt(row.cost_nano)),
  }))
  return {
    object: 'project_usage' as const,
    project_id: projectId,
    period_start: isoSeconds(period.start),
    period_end: isoSeconds(new Date(period.end.getTime() - 1_000)),
    total_input_tokens: Number(input),
    total_output_tokens: Number(output),
    cost_usd: formatNanoAsUsd(cost),
    by_model: byModel,
    by_customer: byCustomer,
  }
}
