/**
 * @module
 * A line-based request/response service over TCP or a unix socket, for background services that
 * answer requests from another process (the situation of "MySQL server has gone away" after a
 * night of idling). Exported by `mysql-lifespan/worker`.
 *
 * @example
 * ```ts
 * const server = serveSocket(lifespan, async (line) => {
 *   const [rows] = await lifespan.db().query('SELECT ? AS echo', [line])
 *   return rows
 * }, { signal })
 * server.listen('/run/my-service.sock')
 * ```
 */
import { createServer } from 'node:net';
import { isRefusal } from './request-scope.js';
function format(value) {
    if (value === undefined)
        return undefined;
    return typeof value === 'string' ? value : JSON.stringify(value);
}
function errorLine(error) {
    const code = error?.code;
    return `ERR ${typeof code === 'string' ? code : 'ERR_INTERNAL'}`;
}
/**
 * Builds a `net.Server` (call `listen()` on it) where every line a client sends is a request,
 * handled in a `task` scope of its own, and answered with one line. Requests of one connection are
 * answered in order, one at a time; connections are served concurrently. A client may half-close
 * after its last request and still get the replies.
 *
 * The service closes gracefully when `options.signal` aborts or the lifespan shuts down: it stops
 * accepting, ends idle connections, and ends busy ones right after their current reply (lines
 * received but not started are not answered). A request refused because shutdown has begun is
 * answered `ERR ERR_LIFESPAN_SHUTTING_DOWN` and its connection ended.
 *
 * @example
 * ```ts
 * await runMain(lifespan, async (signal) => {
 *   const server = serveSocket(lifespan, (line) => lifespan.db().query('SELECT ? AS id', [line]).then(([rows]) => rows), { signal })
 *   server.listen(4000)
 *   await once(server, 'close')
 * })
 * ```
 */
export function serveSocket(lifespan, handler, options = {}) {
    if (typeof handler !== 'function')
        throw new TypeError('serveSocket() expects a handler function');
    const maxLineLength = options.maxLineLength ?? 1_048_576;
    const busy = new Map();
    let closing = false;
    const answer = async (request, socket) => {
        try {
            return { reply: format(await lifespan.scope(() => handler(request, socket), { nested: 'new' })), last: false };
        }
        catch (error) {
            return { reply: options.onError ? options.onError(error, request) : errorLine(error), last: isRefusal(error) };
        }
    };
    const serve = (socket) => {
        if (closing) {
            socket.end();
            return;
        }
        let buffer = '';
        let ended = false;
        busy.set(socket, false);
        socket.setEncoding('utf8');
        const pump = async () => {
            if (busy.get(socket))
                return;
            busy.set(socket, true);
            let last = false;
            for (;;) {
                const newline = buffer.indexOf('\n');
                if (closing || last || (newline < 0 && !(ended && buffer.length > 0)))
                    break;
                const line = newline < 0 ? buffer : buffer.slice(0, newline);
                buffer = newline < 0 ? '' : buffer.slice(newline + 1);
                // Backpressure: a client pipelining requests waits in its socket buffer, not in our memory.
                socket.pause();
                const result = await answer(line.endsWith('\r') ? line.slice(0, -1) : line, socket);
                last = result.last;
                if (result.reply !== undefined && socket.writable)
                    socket.write(`${result.reply}\n`);
                socket.resume();
            }
            busy.set(socket, false);
            if (closing || last || ended)
                socket.end();
        };
        socket.on('data', (chunk) => {
            buffer += chunk;
            if (buffer.length > maxLineLength && buffer.lastIndexOf('\n') < buffer.length - maxLineLength)
                socket.destroy();
            else
                void pump();
        });
        socket.on('end', () => {
            ended = true;
            void pump();
        });
        // A client that vanished (ECONNRESET) has nobody left to answer; the socket closes by itself.
        socket.on('error', () => { });
        socket.on('close', () => busy.delete(socket));
    };
    // allowHalfOpen: replies still go out after a client ended its side.
    const server = createServer({ allowHalfOpen: true }, serve);
    const close = () => {
        if (closing)
            return;
        closing = true;
        lifespan.offShutdown(close);
        server.close();
        for (const [socket, working] of busy)
            if (!working)
                socket.end();
    };
    // listen() after an early close must not reopen the service.
    server.on('listening', () => {
        if (closing)
            server.close();
    });
    if (options.signal?.aborted)
        close();
    options.signal?.addEventListener('abort', close, { once: true });
    if (lifespan.state !== 'stopping' && lifespan.state !== 'stopped')
        lifespan.onShutdown(close);
    return server;
}
//# sourceMappingURL=socket-service.js.map