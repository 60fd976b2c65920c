/**
 * A background worker with mysql-lifespan: a periodic job and a message processor, each unit of
 * work in its own scope, so the first run after hours of idling gets a validated connection.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test INTERVAL_MS=1000 node examples/.build/worker/app.js
 *
 * Every INTERVAL_MS it records a heartbeat (`tick <connection id>` on stdout). Each line on stdin
 * stands for a queue message: it is processed in a scope of its own (`done <line> <connection id>`).
 * SIGTERM/SIGINT stop the schedule after the run in progress, shut down, and the process exits by
 * itself with code 0 after a clean shutdown.
 */
import { createInterface } from 'node:readline'
import { createLifespan } from 'mysql-lifespan'
import { every, processor, runMain } from 'mysql-lifespan/worker'

const lifespan = createLifespan({
  databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  shutdownTimeoutMs: 5_000,
})

const heartbeat = async (): Promise<void> => {
  // The sleep stands for real work, so a signal often arrives while a run is in progress.
  const [rows] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id, SLEEP(0.2) AS slept')
  console.log(`tick ${rows[0]?.id}`)
}

const onMessage = processor(lifespan, async (message: string) => {
  const [rows] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id')
  console.log(`done ${message} ${rows[0]?.id}`)
})

await runMain(lifespan, async (signal) => {
  const input = createInterface({ input: process.stdin })
  input.on('line', (line) => {
    // During shutdown the processor refuses new messages; a real queue would redeliver them.
    onMessage(line).catch((err: { code?: string }) => console.error(`failed ${line} ${err.code ?? err}`))
  })
  // stdin must not keep the process alive once the worker is told to stop.
  signal.addEventListener('abort', () => input.close(), { once: true })
  console.log('ready')
  await every(lifespan, Number(process.env.INTERVAL_MS ?? 1_000), heartbeat, { signal, immediate: true })
})
