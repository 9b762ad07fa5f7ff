// Waiting in tests: poll a condition until it holds or a deadline passes; never sleep a fixed time and hope.

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>

/**
 * The first truthy value `probe` returns, polled every 20 ms; throws naming `what` after `limitMs` (a generous
 * bound, not a timing assertion: a passing test returns as soon as the condition holds).
 */
export async function waitFor<T>(probe: () => T | Promise<T>, limitMs = 5_000, what = 'the condition'): Promise<Truthy<T>> {
  const deadline = performance.now() + limitMs
  for (;;) {
    const value = await probe()
    if (value) return value as Truthy<T>
    if (performance.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`)
    await Bun.sleep(20)
  }
}
