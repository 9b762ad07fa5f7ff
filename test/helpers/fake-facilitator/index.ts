// A local x402 facilitator for tests: /supported, /verify and /settle as the spec says, real signature checks, nonces used once, every call recorded, and switches for being down or refusing to settle.
import { judge } from './checks'

export interface FacilitatorCall {
  path: '/verify' | '/settle'
  x402Version: number
  paymentPayload: Record<string, unknown>
  paymentRequirements: Record<string, unknown>
  headers: Record<string, string>
  answer: Record<string, unknown>
}

export interface FakeFacilitator {
  url: string
  calls: FacilitatorCall[]
  /** `down`: every call answers 503 with no JSON (as a facilitator that is away); `refuse-settle`: verify passes, settle says no. */
  mode: 'ok' | 'down' | 'refuse-settle'
  /** Settle calls wait this long before answering (a slow chain). */
  settleDelayMs: number
  settled(): FacilitatorCall[]
  stop(): void
}

export function startFakeFacilitator(): FakeFacilitator {
  const usedNonces = new Set<string>()
  let transactions = 0
  const state: FakeFacilitator = {
    url: '',
    calls: [],
    mode: 'ok',
    settleDelayMs: 0,
    settled: () => state.calls.filter((c) => c.path === '/settle' && c.answer.success === true),
    stop: () => server.stop(true),
  }
  const json = (body: unknown, status = 200) => Response.json(body, { status })
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const path = new URL(request.url).pathname
      if (state.mode === 'down') return new Response('facilitator down for maintenance', { status: 503 })
      if (request.method === 'GET' && path === '/supported') {
        return json({
          kinds: [
            { x402Version: 2, scheme: 'exact', network: 'eip155:8453' },
            { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
            { x402Version: 1, scheme: 'exact', network: 'base' },
            { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
          ],
          extensions: [],
          signers: { 'eip155:*': ['0x000000000000000000000000000000000000fAc1'] },
        })
      }
      if (request.method !== 'POST' || (path !== '/verify' && path !== '/settle')) return json({ error: 'not found' }, 404)
      const body = (await request.json()) as { x402Version: number; paymentPayload: Record<string, unknown>; paymentRequirements: Record<string, unknown> }
      const judged = await judge(body.paymentPayload, body.paymentRequirements as never)
      const network = String(body.paymentRequirements.network)
      let answer: Record<string, unknown>
      if (path === '/verify') {
        const reused = judged.ok && usedNonces.has(judged.nonce!)
        answer = judged.ok && !reused ? { isValid: true, payer: judged.payer } : { isValid: false, invalidReason: reused ? 'invalid_exact_evm_nonce_already_used' : judged.reason, payer: judged.payer }
      } else {
        if (state.settleDelayMs > 0) await Bun.sleep(state.settleDelayMs)
        if (state.mode === 'refuse-settle') answer = { success: false, errorReason: 'invalid_exact_evm_transaction_failed', errorMessage: 'the transfer reverted', transaction: '', network, payer: judged.payer }
        else if (!judged.ok) answer = { success: false, errorReason: judged.reason, transaction: '', network, payer: judged.payer }
        else if (usedNonces.has(judged.nonce!)) answer = { success: false, errorReason: 'invalid_exact_evm_nonce_already_used', transaction: '', network, payer: judged.payer }
        else {
          usedNonces.add(judged.nonce!)
          transactions += 1
          answer = { success: true, transaction: `0x${transactions.toString(16).padStart(64, '0')}`, network, payer: judged.payer, amount: judged.amount }
        }
      }
      state.calls.push({ path, x402Version: body.x402Version, paymentPayload: body.paymentPayload, paymentRequirements: body.paymentRequirements, headers: Object.fromEntries(request.headers), answer })
      return json(answer)
    },
  })
  state.url = `http://127.0.0.1:${server.port}`
  return state
}
