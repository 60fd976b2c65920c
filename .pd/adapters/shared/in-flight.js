const registries = new WeakMap();
function registry(lifespan) {
    let found = registries.get(lifespan);
    if (!found) {
        found = { responses: new Set(), onClosed: new Set() };
        registries.set(lifespan, found);
    }
    return found;
}
/** Asks the client to open a new connection for its next request. */
function sayClose(res) {
    if (res.headersSent)
        return;
    try {
        res.setHeader('Connection', 'close');
    }
    catch {
        // HTTP/2 forbids connection headers; its sessions are closed with GOAWAY by server.close().
    }
}
/** @internal Records `res` as in flight for `lifespan` until it closes. */
export function track(lifespan, res) {
    const reg = registry(lifespan);
    if (reg.onClosed.size > 0)
        sayClose(res);
    reg.responses.add(res);
    res.once('close', () => {
        reg.responses.delete(res);
        for (const notify of reg.onClosed)
            notify();
    });
}
/**
 * @internal Starts draining `lifespan`'s responses: those not started get `Connection: close`,
 * and `onClosed` runs whenever one of them closes. Returns the function that stops it.
 */
export function drain(lifespan, onClosed) {
    const reg = registry(lifespan);
    reg.onClosed.add(onClosed);
    for (const res of reg.responses)
        sayClose(res);
    return () => {
        reg.onClosed.delete(onClosed);
    };
}
//# sourceMappingURL=in-flight.js.map