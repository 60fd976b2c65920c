/** @internal */
export function log(logger, level, obj, msg) {
    const fn = logger?.[level];
    if (!fn)
        return;
    try {
        fn.call(logger, obj, msg);
    }
    catch {
        // A broken logger is not a reason to fail a query.
    }
}
//# sourceMappingURL=log.js.map