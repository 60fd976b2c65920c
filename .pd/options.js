import { InvalidOptionError } from './errors.js';
/** Defaults of every {@link AliasOptions} option. */
export const DEFAULTS = Object.freeze({
    maxAgeMs: 1_800_000,
    healthCheck: true,
    pingTimeoutMs: 1_000,
    aliveBypassMs: 500,
    acquireTimeoutMs: 10_000,
    retry: Object.freeze({ retries: 2, minTimeoutMs: 25, maxTimeoutMs: 1_000 }),
    shutdownTimeoutMs: 10_000,
    strict: false,
    queryTimeoutMs: 0,
    leakWarningMs: 0,
    logger: undefined,
});
/** mysql2 defaults this library changes: keepalive probes start after 10 s instead of the kernel's 2 h. */
export const MYSQL2_DEFAULTS = Object.freeze({
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
});
const ALIAS_KEYS = new Set([
    'maxAgeMs', 'healthCheck', 'pingTimeoutMs', 'aliveBypassMs', 'acquireTimeoutMs', 'retry',
    'shutdownTimeoutMs', 'strict', 'queryTimeoutMs', 'leakWarningMs', 'logger',
]);
const TOP_KEYS = new Set([...ALIAS_KEYS, 'databases', 'classify']);
const RETRY_KEYS = new Set(['retries', 'minTimeoutMs', 'maxTimeoutMs']);
// mysql2 3.x connection and pool options. mysql2 only prints a warning for unknown keys;
// rejecting them here turns a typo into an error that names it.
const MYSQL2_KEYS = new Set([
    'authPlugins', 'authSwitchHandler', 'bigNumberStrings', 'charset', 'charsetNumber', 'compress',
    'connectAttributes', 'connectTimeout', 'database', 'dateStrings', 'debug', 'decimalNumbers',
    'enableKeepAlive', 'flags', 'host', 'insecureAuth', 'infileStreamFactory', 'keepAliveInitialDelay',
    'localAddress', 'maxPreparedStatements', 'multipleStatements', 'namedPlaceholders', 'nestTables',
    'password', 'password1', 'password2', 'password3', 'passwordSha1', 'port', 'queryFormat',
    'rowsAsArray', 'socketPath', 'ssl', 'stream', 'stringifyObjects', 'supportBigNumbers', 'timezone',
    'trace', 'typeCast', 'uri', 'user', 'disableEval', 'enableCleartextPlugin', 'connectionLimit',
    'maxIdle', 'idleTimeout', 'queueLimit', 'resetOnRelease', 'waitForConnections', 'jsonStrings',
    'gracefulEnd',
]);
function isDict(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function checkMs(path, value, { min = 0 } = {}) {
    if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value)) {
        throw new InvalidOptionError(path, `expected a whole number of milliseconds, got ${kind(value)}`);
    }
    if (value < min)
        throw new InvalidOptionError(path, `must be >= ${min}, got ${value}`);
    // setTimeout clamps anything larger to 1 ms, which would turn a long timeout into none.
    if (value > 2_147_483_647)
        throw new InvalidOptionError(path, `must be <= 2147483647, got ${value}`);
    return value;
}
function checkBool(path, value) {
    if (typeof value !== 'boolean')
        throw new InvalidOptionError(path, `expected a boolean, got ${kind(value)}`);
    return value;
}
function kind(value) {
    if (value === null)
        return 'null';
    if (Array.isArray(value))
        return 'an array';
    if (typeof value === 'number')
        return String(value);
    return `a ${typeof value}`;
}
function checkLogger(path, value) {
    if (value === undefined)
        return undefined;
    if (!isDict(value))
        throw new InvalidOptionError(path, `expected an object with debug/info/warn/error methods, got ${kind(value)}`);
    for (const level of ['debug', 'info', 'warn', 'error']) {
        const fn = value[level];
        if (fn !== undefined && typeof fn !== 'function') {
            throw new InvalidOptionError(`${path}.${level}`, `expected a function, got ${kind(fn)}`);
        }
    }
    return value;
}
function checkRetry(path, value) {
    if (value === false)
        return false;
    if (value === true)
        return DEFAULTS.retry;
    if (!isDict(value))
        throw new InvalidOptionError(path, `expected a boolean or { retries, minTimeoutMs, maxTimeoutMs }, got ${kind(value)}`);
    for (const key of Object.keys(value)) {
        if (!RETRY_KEYS.has(key))
            throw new InvalidOptionError(`${path}.${key}`, 'unknown option');
    }
    const retries = value.retries === undefined ? DEFAULTS.retry.retries : checkMs(`${path}.retries`, value.retries);
    const minTimeoutMs = value.minTimeoutMs === undefined ? DEFAULTS.retry.minTimeoutMs : checkMs(`${path}.minTimeoutMs`, value.minTimeoutMs);
    const maxTimeoutMs = value.maxTimeoutMs === undefined ? Math.max(minTimeoutMs, DEFAULTS.retry.maxTimeoutMs) : checkMs(`${path}.maxTimeoutMs`, value.maxTimeoutMs);
    if (maxTimeoutMs < minTimeoutMs)
        throw new InvalidOptionError(`${path}.maxTimeoutMs`, `must be >= minTimeoutMs (${minTimeoutMs})`);
    return Object.freeze({ retries, minTimeoutMs, maxTimeoutMs });
}
/** Reads the {@link AliasOptions} present in `source`, validated; absent ones are left out. */
function readAliasOptions(prefix, source) {
    const out = {};
    const at = (key) => (prefix ? `${prefix}.${key}` : key);
    if (source.maxAgeMs !== undefined)
        out.maxAgeMs = checkMs(at('maxAgeMs'), source.maxAgeMs);
    if (source.healthCheck !== undefined)
        out.healthCheck = checkBool(at('healthCheck'), source.healthCheck);
    if (source.pingTimeoutMs !== undefined)
        out.pingTimeoutMs = checkMs(at('pingTimeoutMs'), source.pingTimeoutMs, { min: 1 });
    if (source.aliveBypassMs !== undefined)
        out.aliveBypassMs = checkMs(at('aliveBypassMs'), source.aliveBypassMs);
    if (source.acquireTimeoutMs !== undefined)
        out.acquireTimeoutMs = checkMs(at('acquireTimeoutMs'), source.acquireTimeoutMs, { min: 1 });
    if (source.retry !== undefined)
        out.retry = checkRetry(at('retry'), source.retry);
    if (source.shutdownTimeoutMs !== undefined)
        out.shutdownTimeoutMs = checkMs(at('shutdownTimeoutMs'), source.shutdownTimeoutMs);
    if (source.strict !== undefined)
        out.strict = checkBool(at('strict'), source.strict);
    if (source.queryTimeoutMs !== undefined)
        out.queryTimeoutMs = checkMs(at('queryTimeoutMs'), source.queryTimeoutMs);
    if (source.leakWarningMs !== undefined)
        out.leakWarningMs = checkMs(at('leakWarningMs'), source.leakWarningMs);
    if (source.logger !== undefined)
        out.logger = checkLogger(at('logger'), source.logger);
    return out;
}
/**
 * Parses a `mysql://user:password@host:port/database?option=value` URI into mysql2 options.
 * Query parameters are read as JSON where they parse (`?connectionLimit=5`, `?ssl={"rejectUnauthorized":false}`),
 * else as strings. The URI itself never appears in an error: it may hold a password.
 */
export function parseUri(path, uri) {
    let url;
    try {
        url = new URL(uri);
    }
    catch {
        throw new InvalidOptionError(path, 'not a valid URI (expected mysql://user:password@host:port/database)');
    }
    if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
        throw new InvalidOptionError(path, `unsupported URI scheme "${url.protocol}" (expected mysql: or mariadb:)`);
    }
    const decode = (part, name) => {
        try {
            return decodeURIComponent(part);
        }
        catch {
            throw new InvalidOptionError(path, `the ${name} in the URI is not valid percent-encoding`);
        }
    };
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const out = { host: decode(host, 'host') || 'localhost' };
    if (url.port)
        out.port = Number(url.port);
    if (url.username)
        out.user = decode(url.username, 'user name');
    if (url.password)
        out.password = decode(url.password, 'password');
    const database = decode(url.pathname.replace(/^\//, ''), 'database');
    if (database)
        out.database = database;
    for (const [key, raw] of url.searchParams) {
        if (key in out)
            continue;
        try {
            out[key] = JSON.parse(raw);
        }
        catch {
            out[key] = raw;
        }
    }
    return out;
}
function resolveAlias(alias, config, top) {
    const path = `databases.${alias}`;
    let source;
    if (typeof config === 'string')
        source = parseUri(path, config);
    else if (isDict(config)) {
        source = { ...config };
        if (typeof source.uri === 'string') {
            // Explicit keys win over the URI's, as in mysql2.
            const fromUri = parseUri(`${path}.uri`, source.uri);
            delete source.uri;
            source = { ...fromUri, ...source };
        }
    }
    else {
        throw new InvalidOptionError(path, `expected a connection URI or an options object, got ${kind(config)}`);
    }
    const pool = {};
    for (const key of Object.keys(source)) {
        if (ALIAS_KEYS.has(key))
            continue;
        if (!MYSQL2_KEYS.has(key))
            throw new InvalidOptionError(`${path}.${key}`, 'unknown option (neither a mysql-lifespan nor a mysql2 option)');
        if (source[key] !== undefined)
            pool[key] = source[key];
    }
    if (pool.connectionLimit !== undefined)
        checkMs(`${path}.connectionLimit`, pool.connectionLimit, { min: 1 });
    if (pool.port !== undefined) {
        const port = pool.port;
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
            throw new InvalidOptionError(`${path}.port`, `expected a port number 0-65535, got ${kind(port)}`);
        }
    }
    if (pool.connectTimeout !== undefined)
        checkMs(`${path}.connectTimeout`, pool.connectTimeout, { min: 1 });
    const own = readAliasOptions(path, source);
    const pick = (key) => own[key] ?? top[key] ?? DEFAULTS[key];
    const acquireTimeoutMs = pick('acquireTimeoutMs');
    return Object.freeze({
        alias,
        maxAgeMs: pick('maxAgeMs'),
        healthCheck: pick('healthCheck'),
        pingTimeoutMs: pick('pingTimeoutMs'),
        aliveBypassMs: pick('aliveBypassMs'),
        acquireTimeoutMs,
        retry: pick('retry'),
        shutdownTimeoutMs: pick('shutdownTimeoutMs'),
        strict: pick('strict'),
        queryTimeoutMs: pick('queryTimeoutMs'),
        leakWarningMs: pick('leakWarningMs'),
        logger: (own.logger ?? top.logger),
        pool: Object.freeze({
            ...MYSQL2_DEFAULTS,
            connectTimeout: defaultConnectTimeout(acquireTimeoutMs),
            ...pool,
        }),
    });
}
/**
 * mysql2's connect timeout when none is given: a third of the acquisition budget (1 to 10 s),
 * so a connect attempt stuck on a dead path leaves time for another attempt in the same
 * acquisition once the path recovers, and never outlives the acquisition itself.
 */
export function defaultConnectTimeout(acquireTimeoutMs) {
    return Math.min(acquireTimeoutMs, Math.max(1_000, Math.min(10_000, Math.round(acquireTimeoutMs / 3))));
}
/**
 * Validates user options and applies {@link DEFAULTS}. Never mutates its argument.
 *
 * @throws {InvalidOptionError} naming the first invalid option.
 */
export function resolveOptions(options) {
    if (!isDict(options))
        throw new InvalidOptionError('options', `expected an object, got ${kind(options)}`);
    for (const key of Object.keys(options)) {
        if (!TOP_KEYS.has(key)) {
            const hint = MYSQL2_KEYS.has(key) ? ' (mysql2 options go inside databases.<alias>)' : '';
            throw new InvalidOptionError(key, `unknown option${hint}`);
        }
    }
    const { databases, classify } = options;
    if (!isDict(databases))
        throw new InvalidOptionError('databases', `expected an object of aliases, got ${kind(databases)}`);
    const names = Object.keys(databases);
    if (names.length === 0)
        throw new InvalidOptionError('databases', 'at least one alias is required');
    if (classify !== undefined && typeof classify !== 'function') {
        throw new InvalidOptionError('classify', `expected a function, got ${kind(classify)}`);
    }
    const top = readAliasOptions('', options);
    const aliases = new Map();
    for (const name of names)
        aliases.set(name, resolveAlias(name, databases[name], top));
    return Object.freeze({
        aliases,
        defaultAlias: names.includes('default') ? 'default' : names[0],
        shutdownTimeoutMs: (top.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs),
        logger: top.logger,
        classify: classify,
    });
}
//# sourceMappingURL=options.js.map