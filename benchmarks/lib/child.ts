/**
 * Runs a benchmark script in its own Node process and collects the JSON lines it prints.
 * Every measured variant runs in a fresh process: AsyncLocalStorage (which mysql-lifespan
 * uses) turns on promise hooks for the whole process, and a baseline sharing that process
 * would pay for them too.
 */
import { spawn, spawnSync } from 'node:child_process'
import os from 'node:os'
import { boost } from './quiet.js'

export interface ChildOptions {
  /** Extra Node flags (`--expose-gc`, `--cpu-prof`). */
  nodeArgs?: string[]
  env?: NodeJS.ProcessEnv
  /** Kill the child after this long. */
  timeoutMs?: number
  /** Called for every JSON line as it arrives. */
  onLine?: (line: Record<string, unknown>) => void
  /** Run the child on this CPU only (`taskset -c`), all its threads; see {@link pinnableCpu}. */
  cpu?: number
}

/**
 * The CPU a measuring child can be pinned to, or undefined where `taskset` is missing or the
 * machine has one core. Unpinned on the 2-core machine the benchmarks run on, a Node process
 * settles for its whole life into one of two speeds (its CPU time per read of the same work
 * differed by 1.7x to 2x from one process to the next, depending on how its threads and the
 * server's shared the two cores), which is most of the spread of fresh-process figures; pinned
 * to one core the same process repeats within a few percent.
 */
export function pinnableCpu(): number | undefined {
  // With one core the server would share the pinned core: no point.
  if (process.platform !== 'linux' || os.availableParallelism() < 2) return undefined
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
  return probe.status === 0 ? 0 : undefined
}

/** Runs `node [nodeArgs] script JSON.stringify(config)` and resolves with every JSON line it printed. */
export function runChild(script: string, config: unknown, options: ChildOptions = {}): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const args = [...(options.nodeArgs ?? []), script, JSON.stringify(config)]
    // taskset execs node: the child keeps its pid, and every thread node starts inherits the CPU.
    const [command, argv] = options.cpu === undefined ? [process.execPath, args] : ['taskset', ['-c', String(options.cpu), process.execPath, ...args]]
    const child = spawn(command, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    })
    boost(child.pid)
    const lines: Array<Record<string, unknown>> = []
    let buffer = ''
    let stderr = ''
    const timer = options.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL')
        }, options.timeoutMs)
      : undefined
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString()
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl).trim()
        buffer = buffer.slice(nl + 1)
        if (!text.startsWith('{')) continue
        const line = JSON.parse(text) as Record<string, unknown>
        lines.push(line)
        options.onLine?.(line)
      }
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (stderr.length > 20_000) stderr = stderr.slice(-10_000)
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer)
      const failure = lines.find((l) => l.event === 'error')
      if (code === 0 && !failure) resolve(lines)
      else {
        const why = failure ? String(failure.message) : `exit ${code ?? signal}`
        reject(new Error(`${script} failed (${why}): ${stderr.slice(-2_000)}`))
      }
    })
  })
}

/** For child scripts: prints one JSON line (pipes are synchronous on Linux). */
export function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

/** For child scripts: the JSON config passed as the first argument. */
export function childConfig<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T
}

/** For child scripts: runs main, reporting a failure as an `error` line and exit code 1. */
export function childMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      emit({ event: 'error', message: String((err as Error)?.stack ?? err) })
      process.exit(1)
    },
  )
}
