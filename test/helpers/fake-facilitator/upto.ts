// The local facilitator extended with `upto`: @x402/evm's own UptoEvmScheme facilitator (its checks, its settle simulation) on a fake chain (test/helpers/fake-chain.ts); exact calls go on to the exact fake.
import { x402Facilitator } from '@x402/core/facilitator'
import type { Network, PaymentPayload, PaymentRequirements } from '@x402/core/types'
import type { FacilitatorEvmSigner } from '@x402/evm'
import { UptoEvmScheme } from '@x402/evm/upto/facilitator'
import { createPublicClient, http, verifyTypedData } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { FakeChain } from '../fake-chain'
import type { FakeFacilitator } from './index'

export interface UptoCall {
  path: '/verify' | '/settle'
  paymentPayload: PaymentPayload
  paymentRequirements: PaymentRequirements
  answer: Record<string, unknown>
}

export interface UptoFacilitator {
  url: string
  /** The signer a client's Permit2 witness must name (what /supported gives as extra.facilitatorAddress). */
  address: `0x${string}`
  /** upto calls only; exact calls are in the exact fake's `calls`. */
  calls: UptoCall[]
  stop(): void
}

/**
 * The chain is reached the way a real facilitator reaches it for reads (JSON-RPC through viem: eth_getCode, eth_call);
 * the settle transaction is applied to the fake chain's ledger directly (no mempool, no receipts to wait for).
 */
export function startUptoFacilitator(chain: FakeChain, exact: FakeFacilitator, networks: Network[]): UptoFacilitator {
  const account = privateKeyToAccount(generatePrivateKey())
  const client = createPublicClient({ transport: http(chain.url) })
  const signer: FacilitatorEvmSigner = {
    getAddresses: () => [account.address],
    readContract: (args) => client.readContract(args as Parameters<typeof client.readContract>[0]),
    verifyTypedData: (args) => verifyTypedData(args as Parameters<typeof verifyTypedData>[0]),
    async writeContract(args) {
      if (args.functionName !== 'settle') throw new Error(`the fake chain settles only; got ${args.functionName}`)
      const [permit, amount, owner, witness] = args.args as [{ permitted: { amount: bigint } }, bigint, string, { to: string }]
      return chain.settle(owner, witness.to, amount, permit.permitted.amount)
    },
    sendTransaction: async () => {
      throw new Error('the fake chain takes no raw transactions')
    },
    waitForTransactionReceipt: async () => ({ status: 'success' }),
    getCode: (args) => client.getCode(args),
  }
  const facilitator = new x402Facilitator().register(networks, new UptoEvmScheme(signer))
  const state: UptoFacilitator = { url: '', address: account.address, calls: [], stop: () => server.stop(true) }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const path = new URL(request.url).pathname
      if (request.method === 'GET' && path === '/supported') {
        const exactKinds = (await (await fetch(`${exact.url}/supported`)).json()) as { kinds: unknown[]; extensions: unknown[]; signers: Record<string, string[]> }
        const upto = facilitator.getSupported()
        return Response.json({ kinds: [...exactKinds.kinds, ...upto.kinds], extensions: exactKinds.extensions, signers: { ...exactKinds.signers, ...upto.signers } })
      }
      if (request.method !== 'POST' || (path !== '/verify' && path !== '/settle')) return Response.json({ error: 'not found' }, { status: 404 })
      const text = await request.text()
      const body = JSON.parse(text) as { paymentPayload: PaymentPayload; paymentRequirements: PaymentRequirements }
      if (body.paymentRequirements?.scheme !== 'upto') {
        // exact (and anything else) is the exact fake's: forwarded as it came.
        return fetch(`${exact.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })
      }
      const answer = (path === '/verify'
        ? await facilitator.verify(body.paymentPayload, body.paymentRequirements)
        : await facilitator.settle(body.paymentPayload, body.paymentRequirements)) as unknown as Record<string, unknown>
      state.calls.push({ path, paymentPayload: body.paymentPayload, paymentRequirements: body.paymentRequirements, answer })
      return Response.json(answer)
    },
  })
  state.url = `http://127.0.0.1:${server.port}`
  return state
}
