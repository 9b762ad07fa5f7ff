// The test command (`bun run test`): runs the whole suite with bun test and ends with one line "N passed, N failed".
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { START_ENV } from '../src/lib/start-env'

const root = join(import.meta.dir, '..')
const reportDir = join(root, 'test-results')
const reportFile = join(reportDir, 'junit.xml')
rmSync(reportFile, { force: true })
mkdirSync(reportDir, { recursive: true })

const child = Bun.spawn(['bun', 'test', '--timeout=30000', '--reporter=junit', `--reporter-outfile=${reportFile}`, ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['inherit', 'inherit', 'inherit'],
  // As `bun run start` runs the gateway: Bun sizes its fetch pool and reads its allocator's settings only at start,
  // and in-process gateways share them.
  env: { ...process.env, ...START_ENV },
})
const exitCode = await child.exited

/** Counts from the junit report's <testsuites> element; null if the report is missing or unreadable. */
function readCounts(): { passed: number; failed: number; skipped: number } | null {
  let xml: string
  try {
    xml = readFileSync(reportFile, 'utf8')
  } catch {
    return null
  }
  const head = /<testsuites\b([^>]*)>/.exec(xml)?.[1]
  if (!head) return null
  const attribute = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(head)?.[1] ?? NaN)
  const tests = attribute('tests')
  const failures = attribute('failures') + (Number.isNaN(attribute('errors')) ? 0 : attribute('errors'))
  const skipped = Number.isNaN(attribute('skipped')) ? 0 : attribute('skipped')
  if (Number.isNaN(tests) || Number.isNaN(failures)) return null
  return { passed: tests - failures - skipped, failed: failures, skipped }
}

const counts = readCounts()
if (!counts) {
  console.log(`\ncould not read ${reportFile}; bun test exited with ${exitCode}`)
  console.log('0 passed, 1 failed')
  process.exit(exitCode === 0 ? 1 : exitCode)
}
// A crash between files can leave the report short of a failure: bun's exit code counts as one.
const failed = counts.failed === 0 && exitCode !== 0 ? 1 : counts.failed
const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''
console.log(`\n${counts.passed} passed, ${failed} failed${skipped}`)
process.exit(failed > 0 || counts.passed === 0 ? 1 : 0)
