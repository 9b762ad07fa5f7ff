// A tiny local EVM JSON-RPC for x402 tests: eth_chainId, eth_getCode and the eth_calls UptoEvmScheme's facilitator makes (the proxy's settle simulation, Multicall3, USDC balanceOf/allowance), over an in-memory ledger of one token.
import { PERMIT2_ADDRESS, erc20AllowanceAbi, eip3009ABI, x402UptoPermit2ProxyABI, x402UptoPermit2ProxyAddress } from '@x402/evm'
import { decodeFunctionData, encodeFunctionResult, getAddress, parseAbi, type Hex } from 'viem'

const MULTICALL3 = getAddress('0xcA11bde05977b3631167028862bE2a173976CA11')
const multicall3Abi = parseAbi(['function tryAggregate(bool requireSuccess, (address target, bytes callData)[] calls) returns ((bool success, bytes returnData)[])'])
/** Any non-empty bytecode: the facilitator only asks whether a contract is there. */
const CODE = '0x6080604052'

export interface ChainTransfer {
  from: string
  to: string
  amount: bigint
  hash: Hex
}

export interface FakeChain {
  url: string
  chainId: number
  token: `0x${string}`
  /** USDC balances and the owners' allowances to Permit2 (the upto proxy's precondition). */
  balances: Map<string, bigint>
  allowances: Map<string, bigint>
  /** What each JSON-RPC method was asked, in order. */
  calls: string[]
  /** Transfers made by settlements (the facilitator's writeContract lands here). */
  transfers: ChainTransfer[]
  /** The proxy's settle: moves `amount` from owner to `to` if the ledger allows it; throws as a revert would. */
  settle(owner: string, to: string, amount: bigint, permitted: bigint): Hex
  stop(): void
}

class Revert extends Error {}

export function startFakeChain(chainId: number, token: `0x${string}`): FakeChain {
  const tokenAddress = getAddress(token)
  const proxy = getAddress(x402UptoPermit2ProxyAddress)
  let transactions = 0
  const key = (address: string) => address.toLowerCase()

  /** The reasons the real proxy would revert a settle, checked against the ledger. */
  function check(owner: string, amount: bigint, permitted: bigint): void {
    if (amount > permitted) throw new Revert('AmountExceedsPermitted')
    if ((chain.balances.get(key(owner)) ?? 0n) < amount) throw new Revert('ERC20: transfer amount exceeds balance')
    if ((chain.allowances.get(key(owner)) ?? 0n) < amount) throw new Revert('ERC20: insufficient allowance')
  }

  function call(to: string, data: Hex): Hex {
    const target = getAddress(to)
    if (target === proxy) {
      const decoded = decodeFunctionData({ abi: x402UptoPermit2ProxyABI, data })
      if (decoded.functionName === 'PERMIT2') return encodeFunctionResult({ abi: x402UptoPermit2ProxyABI, functionName: 'PERMIT2', result: PERMIT2_ADDRESS })
      if (decoded.functionName === 'settle') {
        const [permit, amount, owner] = decoded.args as unknown as [{ permitted: { amount: bigint } }, bigint, string]
        check(owner, amount, permit.permitted.amount)
        return '0x'
      }
      throw new Revert(`unexpected proxy call ${decoded.functionName}`)
    }
    if (target === tokenAddress) {
      const selector = data.slice(0, 10)
      try {
        const decoded = decodeFunctionData({ abi: erc20AllowanceAbi, data })
        if (decoded.functionName === 'allowance') return encodeFunctionResult({ abi: erc20AllowanceAbi, functionName: 'allowance', result: chain.allowances.get(key(decoded.args[0] as string)) ?? 0n })
      } catch {}
      const decoded = decodeFunctionData({ abi: eip3009ABI, data })
      if (decoded.functionName === 'balanceOf') return encodeFunctionResult({ abi: eip3009ABI, functionName: 'balanceOf', result: chain.balances.get(key(decoded.args[0] as string)) ?? 0n })
      throw new Revert(`unexpected token call ${selector}`)
    }
    if (target === MULTICALL3) {
      const { args } = decodeFunctionData({ abi: multicall3Abi, data })
      const results = args[1].map(({ target: t, callData }) => {
        try {
          return { success: true, returnData: call(t, callData) }
        } catch {
          return { success: false, returnData: '0x' as Hex }
        }
      })
      return encodeFunctionResult({ abi: multicall3Abi, functionName: 'tryAggregate', result: results })
    }
    throw new Revert(`no contract at ${target}`)
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const body = (await request.json()) as { id: number; method: string; params: unknown[] } | { id: number; method: string; params: unknown[] }[]
      const answer = (one: { id: number; method: string; params: unknown[] }) => {
        chain.calls.push(one.method)
        const ok = (result: unknown) => ({ jsonrpc: '2.0', id: one.id, result })
        try {
          if (one.method === 'eth_chainId') return ok(`0x${chainId.toString(16)}`)
          if (one.method === 'eth_getCode') {
            const address = getAddress(one.params[0] as string)
            return ok(address === tokenAddress || address === proxy || address === MULTICALL3 ? CODE : '0x')
          }
          if (one.method === 'eth_call') {
            const { to, data, input } = one.params[0] as { to: string; data?: Hex; input?: Hex }
            return ok(call(to, (data ?? input)!))
          }
          return { jsonrpc: '2.0', id: one.id, error: { code: -32601, message: `method ${one.method} not served by the fake chain` } }
        } catch (error) {
          return { jsonrpc: '2.0', id: one.id, error: { code: 3, message: `execution reverted: ${(error as Error).message}`, data: '0x' } }
        }
      }
      return Response.json(Array.isArray(body) ? body.map(answer) : answer(body))
    },
  })

  const chain: FakeChain = {
    url: `http://127.0.0.1:${server.port}`,
    chainId,
    token: tokenAddress,
    balances: new Map(),
    allowances: new Map(),
    calls: [],
    transfers: [],
    settle(owner, to, amount, permitted) {
      check(owner, amount, permitted)
      chain.balances.set(key(owner), (chain.balances.get(key(owner)) ?? 0n) - amount)
      chain.balances.set(key(to), (chain.balances.get(key(to)) ?? 0n) + amount)
      chain.allowances.set(key(owner), (chain.allowances.get(key(owner)) ?? 0n) - amount)
      transactions += 1
      const hash = `0x${transactions.toString(16).padStart(64, 'a')}` as Hex
      chain.transfers.push({ from: getAddress(owner), to: getAddress(to), amount, hash })
      return hash
    },
    stop: () => server.stop(true),
  }
  return chain
}
