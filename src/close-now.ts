/**
 * @module
 * Closing a mysql2 connection at once. mysql2's `destroy()` only half-closes the socket (FIN) and
 * waits for the server, which a dead path, or a server busy with a long statement, never answers:
 * the socket stays open until keepalive or the kernel gives up. And after `destroy()` mysql2 calls
 * back none of the statements still in flight or queued on it.
 */

/** A mysql2 connection, callback or pool flavour: what {@link closeNow} touches. */
interface Closable {
  destroy(): void
}

/**
 * @internal Destroys `conn` and closes its socket for real. With `error`, mysql2 hands that error to
 * every statement still in flight or queued on it (a stream without a callback gets it through the
 * connection's `'error'` event); without, they are never called back.
 */
export function closeNow(conn: Closable, error?: Error): void {
  conn.destroy()
  ;(conn as { stream?: { destroy?: (error?: Error) => void } }).stream?.destroy?.(error)
}
