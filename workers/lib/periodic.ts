// A task run every interval, never two runs at once: a failed run is logged and the next one tries again; close waits for a run in progress.

export interface Periodic {
  /** Stops the timer and waits for a run in progress. */
  close(): Promise<void>
}

export interface PeriodicOptions {
  intervalMs: number
  /** Logged with the error's message when a run fails. */
  onError: (error: Error) => void
  /** Run once at once as well (the partition keeper), not only after the first interval. */
  runNow?: boolean
  /** Let a process with nothing else to do exit (the timer does not hold it). */
  unref?: boolean
}

export function startPeriodic(task: () => Promise<unknown>, o: PeriodicOptions): Periodic {
  let running: Promise<unknown> | null = null
  const run = () => {
    if (running) return
    running = task()
      .catch(o.onError)
      .finally(() => (running = null))
  }
  if (o.runNow) run()
  const timer = setInterval(run, o.intervalMs)
  if (o.unref) timer.unref?.()
  return {
    async close() {
      clearInterval(timer)
      await running
    },
  }
}
