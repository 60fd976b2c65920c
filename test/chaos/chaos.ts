/**
 * `npm run chaos [-- --seconds N]`: the chaos soak against the built package (dist), on a
 * disposable MariaDB of its own. Compiled by `npm run build:tools` to .build/test/chaos/chaos.js
 * and run with `node --expose-gc`.
 *
 * Options:
 *   --seconds N         length of the run (default 120)
 *   --concurrency N     concurrent operations (default 32)
 *   --no-kernel-drops   skip the network-namespace drops even where the machine allows them
 *   --json FILE         also write the full result as JSON
 *   --quiet             no fault log, only the summary
 *
 * Prints the summary table; exits 1 on any violation (2 on a usage error). Never calls
 * process.exit: it sets the exit code and lets the process end on its own, so a handle left
 * open by the library would show up as a process that does not exit.
 */
import { writeFile } from 'node:fs/promises'
import { createLifespan } from 'mysql-lifespan'
import { runSoak } from './soak.js'

interface Args {
  seconds: number
  concurrency: number
  kernelDrops: boolean
  json: string | undefined
  quiet: boolean
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 120, concurrency: 32, kernelDrops: true, json: undefined, quiet: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = (): string => {
      const next = argv[++i]
      if (next === undefined) throw new Error(`${arg} needs a value`)
      return next
    }
    const number = (): number => {
      const n = Number(value())
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} needs a positive number`)
      return n
    }
    if (arg === '--seconds') args.seconds = number()
    else if (arg === '--concurrency') args.concurrency = Math.round(number())
    else if (arg === '--no-kernel-drops') args.kernelDrops = false
    else if (arg === '--json') args.json = value()
    else if (arg === '--quiet') args.quiet = true
    else throw new Error(`unknown argument ${arg}`)
  }
  if (args.seconds < 5) throw new Error('--seconds must be at least 5 (2 s of warm-up, then faults, then a quiet period)')
  return args
}

async function main(): Promise<void> {
  let args: Args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n`)
    process.exitCode = 2
    return
  }
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    process.stderr.write('chaos: run with node --expose-gc for the heap check (turning it on at run time instead)\n')
  }
  const log = (line: string): void => void process.stdout.write(`${line}\n`)
  log(`mysql-lifespan chaos soak: ${args.seconds} s at concurrency ${args.concurrency}, against dist (mysql-lifespan)`)
  const result = await runSoak({
    createLifespan,
    seconds: args.seconds,
    concurrency: args.concurrency,
    kernelDrops: args.kernelDrops,
    log: args.quiet ? undefined : log,
  })
  log('')
  log(result.table)
  if (args.json) await writeFile(args.json, `${JSON.stringify(result, null, 2)}\n`)
  process.exitCode = result.violations.length === 0 ? 0 : 1
}

await main()
