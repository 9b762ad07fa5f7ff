// The checkpoint sweep: every live stream is checkpointed each interval, a tenth of them per turn, and a removed one never again.
import { describe, expect, test } from 'bun:test'
import { Checkpoints } from '../../src/exchange/checkpoints'
import { waitFor } from '../helpers/poll'

describe('Checkpoints', () => {
  test('25 streams are swept a share per turn, each once per round; removed streams stop', async () => {
    const checkpoints = new Checkpoints(200)
    const log: number[] = []
    const streams = Array.from({ length: 25 }, (_, i) => ({ checkpointIfMoved: () => void log.push(i) }))
    for (const s of streams) checkpoints.add(s)
    const count = (i: number) => log.filter((x) => x === i).length
    await waitFor(() => streams.every((_, i) => count(i) >= 3), 5_000, 'three checkpoints of every stream')

    // One share per turn, in the order they were added (round-robin over ten shares): never all of them at once.
    const firstRound = Array.from({ length: 10 }, (_, share) => [share, share + 10, share + 20].filter((i) => i < 25)).flat()
    expect(log.slice(0, 25)).toEqual(firstRound)
    // Each stream once per round: no stream is ever more than one checkpoint ahead of another.
    const counts = streams.map((_, i) => count(i))
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)

    for (const s of streams) checkpoints.remove(s)
    const before = log.length
    // The timer went with the last stream; a new stream starts it again, and only it is checkpointed.
    const late: number[] = []
    const lateStream = { checkpointIfMoved: () => void late.push(1) }
    checkpoints.add(lateStream)
    await waitFor(() => late.length >= 2, 5_000, 'two checkpoints of a stream added after all left')
    expect(log.length).toBe(before)
    checkpoints.remove(lateStream)
  })
})
