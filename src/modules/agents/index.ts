// The agents plugin: POST /agents/register creates an account and returns its first API key, once.
import { Elysia } from 'elysia'
import type { Sql } from '../../lib/db'
import { jsonBody } from '../../lib/json-body'
import { AgentModel } from './model'
import { registerAgent } from './service'

/** A registration is a few short fields; anyone may call this route, so it reads no more than this. */
const REGISTER_MAX_BODY_BYTES = 64 * 1024

export function agentsPlugin(sql: Sql) {
  return new Elysia({ name: 'agents' }).post(
    '/agents/register',
    async ({ body, set }) => {
      const registered = await registerAgent(sql, {
        agentId: body.agent_id,
        name: body.name,
        description: body.description ?? '',
        capabilities: body.capabilities ?? [],
      })
      set.status = 201
      return registered
    },
    {
      parse: jsonBody(REGISTER_MAX_BODY_BYTES),
      body: AgentModel.register,
      response: { 201: AgentModel.registered },
      detail: { tags: ['agents'], summary: 'Register an agent; the answer carries its API key, shown once' },
    },
  )
}
