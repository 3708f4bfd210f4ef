'use strict'
// Every option of clawsock's JS API is checked here, once: WebSocket,
// ReconnectingWebSocket (with `reconnect` and `queue`) and GatewayClient
// (also as the CLI builds them). Each option is checked by exactly one
// function below, which also turns it into the field the native side reads
// (the #[napi(object)] structs in src/bindings). Every error names the class
// and the option, says what was wrong, and what is expected.
//
// Naming rule (README "Options: names and checks"): durations are
// milliseconds. Names that come from OpenClaw's reference client and
// protocol keep their `Ms` suffix (requestTimeoutMs, connectTimeoutMs,
// connectChallengeTimeoutMs, retryAfterMs, tickIntervalMs); ws's names and
// clawsock's own have none (handshakeTimeout, pingInterval,
// reconnect.initialDelay, reconnect.maxDelay, the `delay` of `reconnecting`).
//
// Unknown options are never silently ignored. A top-level key nobody knows
// gets one process warning per class and key (code CLAWSOCK_UNKNOWN_OPTION)
// that names the closest valid option. An unknown key inside `reconnect`,
// `queue` or `tls` (objects clawsock owns) is a TypeError naming the closest
// valid key. An option that ws, undici or OpenClaw's reference client has and
// clawsock cannot honour is a TypeError that says what to use instead.

const { DeviceIdentity } = require('../native.js')
const { NETWORK_KEYS, networkOptions } = require('./network.js')
// gateway-transport.js loads with the first GatewayClient (gatewayOptions).
const gatewayTransport = () => require('./gateway-transport.js')

const DEFAULT_GATEWAY_URL = 'ws://127.0.0.1:18789'
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

function optionError(cls, name, message) {
  return new TypeError(`clawsock: ${cls} option '${name}' ${message}`)
}

function show(v) {
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'bigint') return `${v}n`
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

// ------------------------------------------------------------ option names

const CONNECT_KEYS = ['protocols', 'headers', 'origin', 'handshakeTimeout', 'maxPayload', 'pingInterval', 'pongTimeout',
  'closeTimeout', 'tls', 'ca', 'rejectUnauthorized', 'servername']
const GATEWAY_STRINGS = ['token', 'password', 'bootstrapToken', 'deviceToken', 'clientName', 'mode', 'clientVersion',
  'deviceFamily', 'displayName', 'instanceId', 'role', 'locale', 'userAgent', 'tokenStorePath']
const KNOWN = {
  WebSocket: [...CONNECT_KEYS, ...NETWORK_KEYS, 'signal'],
  ReconnectingWebSocket: [...CONNECT_KEYS, ...NETWORK_KEYS, 'reconnect', 'queue', 'isFinalHandshakeError', 'ready', 'readyTimeout', 'signal'],
  GatewayClient: ['url', ...GATEWAY_STRINGS, 'isFinalHandshakeError', 'signal', 'headers', 'origin', 'tlsFingerprint', 'allowPlaintext', 'platform', 'scopes', 'caps', 'identity', 'requestTimeoutMs',
    'connectChallengeTimeoutMs', 'connectTimeoutMs', 'handshakeTimeout', 'maxPayload', 'reconnect',
    'tls', 'ca', 'rejectUnauthorized', 'servername', ...NETWORK_KEYS],
}
const TLS_KEYS = ['ca', 'rejectUnauthorized', 'servername']
const RECONNECT_KEYS = ['initialDelay', 'maxDelay', 'factor', 'jitter', 'maxRetries', 'stableAfter', 'finalCodes', 'flapThreshold', 'flapWindow']
const QUEUE_KEYS = ['maxMessages', 'maxBytes', 'overflow']
// Deprecated spellings (GatewayClient only): old name -> name.
const GATEWAY_ALIASES = { handshakeTimeoutMs: 'handshakeTimeout' }
const DEPRECATED = { GatewayClient: GATEWAY_ALIASES }
const GATEWAY_RECONNECT_ALIASES = { initialDelayMs: 'initialDelay', maxDelayMs: 'maxDelay' }

const USE_PROXY = "to go through a proxy pass proxy: 'http://host:port' (or proxy: 'env' for HTTPS_PROXY/HTTP_PROXY/NO_PROXY; README \"Proxies\")"
const NO_CLIENT_CERT = 'client certificates (mutual TLS) are not supported yet'
const RUSTLS_VERSIONS = 'rustls negotiates TLS 1.2 or 1.3 with its own safe cipher suites; they cannot be set'
const SIZE_ONLY = 'clawsock limits inbound messages by size only: use maxPayload'

// Options of ws, undici and Node's tls.connect that clawsock cannot honour:
// name -> why and what to use instead; `ok` is the one value that matches
// what clawsock does anyway (accepted and ignored).
const TLS_CANNOT = {
  cert: { why: NO_CLIENT_CERT },
  key: { why: NO_CLIENT_CERT },
  pfx: { why: NO_CLIENT_CERT },
  passphrase: { why: NO_CLIENT_CERT },
  checkServerIdentity: { why: 'certificates are verified by rustls, which cannot call a JS function: use tls.ca and tls.servername' },
  ciphers: { why: RUSTLS_VERSIONS },
  minVersion: { why: RUSTLS_VERSIONS },
  maxVersion: { why: RUSTLS_VERSIONS },
  secureContext: { why: 'clawsock does not use Node\'s TLS: use tls.ca, tls.rejectUnauthorized and tls.servername' },
}
const WS_CANNOT = {
  ...TLS_CANNOT,
  agent: { why: `clawsock opens its own connections in Rust and cannot use an http.Agent; ${USE_PROXY}` },
  dispatcher: { why: `undici's dispatcher (Agent, ProxyAgent) cannot be used: clawsock has its own socket stack; ${USE_PROXY}` },
  perMessageDeflate: { ok: false, why: 'clawsock does not implement permessage-deflate (compression) and never offers it; leave it out or pass false' },
  createConnection: { why: 'clawsock opens the TCP/TLS socket in Rust and cannot use a socket made in JS' },
  socketPath: { why: 'Unix domain sockets are not supported: connect over TCP with a ws:// or wss:// URL' },
  lookup: { why: 'DNS is resolved in Rust and cannot call a JS function: put an IP address in the URL (and tls.servername for wss://) to choose the address' },
  localAddress: { why: 'binding to a local address is not supported yet' },
  localPort: { why: 'binding to a local port is not supported yet' },
  skipUTF8Validation: { ok: false, why: 'clawsock always checks that text messages and close reasons are valid UTF-8 (RFC 6455 requires it); leave it out' },
  generateMask: { why: 'clawsock masks frames in Rust with fresh random keys and cannot call a JS mask function' },
  autoPong: { ok: true, why: 'clawsock always answers a ping with a pong (RFC 6455 requires it); leave it out or pass true' },
  allowSynchronousEvents: { ok: true, why: 'clawsock dispatches the messages that arrived together in one go (ws\'s default); leave it out or pass true' },
  protocolVersion: { ok: 13, why: 'clawsock speaks WebSocket version 13 (RFC 6455) only; leave it out' },
  finishRequest: { why: 'clawsock builds the upgrade request in Rust: add request headers with `headers`' },
  auth: { why: 'send the credentials as a header instead: headers: { Authorization: \'Basic \' + base64(\'user:password\') }' },
  timeout: { why: 'the deadline for DNS + TCP + TLS + upgrade is `handshakeTimeout` (and for a gateway request, `requestTimeoutMs`)' },
  maxFragments: { why: SIZE_ONLY },
  maxBufferedChunks: { why: SIZE_ONLY },
  maxPendingAutoPongs: { why: 'clawsock answers pings in Rust and keeps no queue of pongs; leave it out' },
}
// Options of OpenClaw's reference client (@openclaw/gateway-client).
const GATEWAY_CANNOT = {
  onHelloOk: { why: "use client.on('hello', fn) or await client.ready()" },
  onEvent: { why: "use client.on('event', fn), or client.on('<event name>', fn)" },
  onConnectError: { why: "use client.on('error', fn) and the rejection of client.ready()" },
  onReconnectPaused: { why: "use client.on('paused', fn)" },
  onClose: { why: "use client.on('disconnect', fn) for each lost connection and client.on('close', fn) for the end" },
  onGap: { why: "use client.on('gap', fn)" },
  deviceIdentity: { why: 'use `identity` (a DeviceIdentity or the path of a key file)' },
  preauthHandshakeTimeoutMs: { why: 'use `handshakeTimeout` (and `connectChallengeTimeoutMs` for the challenge)' },
  clientDisplayName: { why: 'use `displayName`' },
  edgeAuthHeaders: { why: 'pass them as `headers` (sent with every upgrade), e.g. the CF-Access-Client-Id and CF-Access-Client-Secret headers of Cloudflare Access' },
  tickWatchTimeoutMs: { why: 'the tick watchdog deadline is 2 × the server\'s policy.tickIntervalMs and cannot be set' },
  tickWatchMinIntervalMs: { why: 'the tick watchdog is a deadline, not a poll: there is no interval to set' },
  minProtocol: { why: 'clawsock negotiates protocol 3 to 4 itself' },
  maxProtocol: { why: 'clawsock negotiates protocol 3 to 4 itself' },
}

function own(table, key) {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined
}

/** Levenshtein distance, ignoring case. */
function distance(a, b) {
  a = a.toLowerCase()
  b = b.toLowerCase()
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]
}

/** The known name closest to `key`, if it is close enough to be a typo. */
function closest(key, known) {
  let best = null
  let bestDistance = Infinity
  for (const k of known) {
    const d = distance(key, k)
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null
}

/** Throws if `value` for `key` is something clawsock cannot honour. */
function checkCannot(cls, name, cannot, value) {
  if (value === undefined || ('ok' in cannot && value === cannot.ok)) return
  throw optionError(cls, name, `cannot be honoured: ${cannot.why}`)
}

const warned = new Set()

/** Top-level keys: unknown ones warn once per class and key; unsupported ones throw. */
function checkTopLevel(cls, o) {
  const known = KNOWN[cls]
  for (const key of Object.keys(o)) {
    if (known.includes(key) || own(DEPRECATED[cls] ?? {}, key)) continue
    const cannot = own(WS_CANNOT, key) ?? (cls === 'GatewayClient' ? own(GATEWAY_CANNOT, key) : undefined)
    if (cannot) {
      checkCannot(cls, key, cannot, o[key])
      continue
    }
    if (warned.has(`${cls}\0${key}`)) continue
    warned.add(`${cls}\0${key}`)
    const others = Object.keys(KNOWN).filter((c) => c !== cls && KNOWN[c].includes(key))
    const near = closest(key, known)
    let hint
    if (near) hint = `; did you mean '${near}'?`
    else if (others.length) hint = `: it is an option of ${others.join(' and ')}, not of ${cls}`
    else hint = `; known options: ${known.join(', ')}`
    process.emitWarning(`clawsock: ${cls} option '${key}' is not a known option and is ignored${hint}`, { code: 'CLAWSOCK_UNKNOWN_OPTION' })
  }
}

/**
 * The keys of `obj` by their names: deprecated spellings in `aliases` are
 * renamed (giving both spellings is an error). `labels` map each name to the
 * spelling the caller used, for error messages.
 */
function renamed(cls, obj, prefix, aliases) {
  const values = Object.create(null)
  const labels = Object.create(null)
  const p = prefix ? `${prefix}.` : ''
  for (const [k, v] of Object.entries(obj)) {
    const name = own(aliases, k) ?? k
    if (v === undefined) {
      if (!(name in values)) values[name] = undefined
      continue
    }
    if (values[name] !== undefined) {
      const old = name === k ? labels[name] : k
      throw optionError(cls, `${p}${name}`, `was given twice, also as '${p}${old}' (its deprecated name): pass only '${p}${name}'`)
    }
    values[name] = v
    labels[name] = k
  }
  return { values, labels }
}

/** What `nested` gives for an absent object (read only, shared). */
const ABSENT = Object.freeze({ values: Object.freeze({}), labels: Object.freeze({}) })

/** A nested object clawsock owns (`reconnect`, `queue`, `tls`): every key must be known. */
function nested(cls, obj, prefix, allowed, { aliases = {}, cannot = {} } = {}) {
  if (obj === undefined || obj === null) return ABSENT
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw optionError(cls, prefix, `must be an object with some of ${allowed.join(', ')}, got ${show(obj)}`)
  }
  for (const [k, v] of Object.entries(obj)) {
    if (allowed.includes(k) || own(aliases, k)) continue
    const why = own(cannot, k)
    if (why) {
      checkCannot(cls, `${prefix}.${k}`, why, v)
      continue
    }
    const near = closest(k, allowed)
    throw optionError(cls, `${prefix}.${k}`, `is not a known option${near ? ` (did you mean '${prefix}.${near}'?)` : ''}; known: ${allowed.join(', ')}`)
  }
  return renamed(cls, obj, prefix, aliases)
}

// ---------------------------------------------------------------- checkers

const MS = 'a positive number of milliseconds'
const MS_OR_ZERO = 'a non-negative number of milliseconds'

/** Reads the options of one object; errors name `prefix.key` as the caller spelled it. */
class Reader {
  constructor(cls, values, prefix = '', labels = {}) {
    this.cls = cls
    this.values = values
    this.prefix = prefix
    this.labels = labels
  }

  name(key) {
    const k = this.labels[key] ?? key
    return this.prefix ? `${this.prefix}.${k}` : k
  }

  error(key, message) {
    return optionError(this.cls, this.name(key), message)
  }

  /** A number; undefined or null: not set. */
  number(key, { min = 0, minExclusive = false, integer = false, infinity = false, what }) {
    const v = this.values[key]
    if (v === undefined || v === null) return undefined
    const ok = typeof v === 'number' && !Number.isNaN(v) &&
      (Number.isFinite(v) ? (minExclusive ? v > min : v >= min) && (!integer || Number.isInteger(v)) : infinity && v === Infinity)
    if (!ok) throw this.error(key, `must be ${what}, got ${show(v)}`)
    return v
  }

  /** A duration in milliseconds, > 0 (or >= 0 with allowZero). */
  ms(key, opts) {
    const v = this.values[key]
    if (v === undefined || v === null) return undefined // the common case: nothing to check, nothing allocated
    const allowZero = opts?.allowZero ?? false
    return this.number(key, { minExclusive: !allowZero, what: opts?.what ?? (allowZero ? MS_OR_ZERO : MS) })
  }

  oneOf(key, choices) {
    const v = this.values[key]
    if (v === undefined) return undefined
    if (!choices.includes(v)) {
      const list = choices.map((c) => `'${c}'`)
      throw this.error(key, `must be ${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}, got ${show(v)}`)
    }
    return v
  }

  string(key) {
    const v = this.values[key]
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'string') throw this.error(key, `must be a string, got ${typeof v}`)
    return v
  }

  strings(key) {
    const v = this.values[key]
    if (v === undefined || v === null) return undefined
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw this.error(key, 'must be an array of strings')
    return v.slice()
  }
}

// ---------------------------------------------- options shared by classes

function headerPairs(r) {
  const headers = r.values.headers
  const origin = r.values.origin === undefined ? [] : [['Origin', String(r.values.origin)]]
  if (typeof headers === 'function') return [] // per attempt: attemptHeaders adds the origin
  if (headers === undefined || headers === null) return origin
  let entries
  if (typeof headers.entries === 'function' && !Array.isArray(headers)) entries = Array.from(headers.entries())
  else if (Array.isArray(headers)) entries = headers
  else if (typeof headers === 'object') entries = Object.entries(headers)
  else throw r.error('headers', `must be an object of name: value pairs, got ${typeof headers}`)
  const out = []
  for (const [name, value] of entries) {
    if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw r.error('headers', `has an invalid header name ${JSON.stringify(name)}`)
    }
    const values = Array.isArray(value) ? value : [value]
    for (const v of values) {
      if (v === undefined) continue
      const s = String(v)
      if (/[\r\n\0]/.test(s)) throw r.error('headers', `has a value for ${name} with a line break or NUL in it`)
      out.push([name, s])
    }
  }
  return out.concat(origin)
}

function handshakeTimeout(r) {
  return r.ms('handshakeTimeout')
}

function maxPayload(r) {
  return r.number('maxPayload', { minExclusive: true, what: 'a positive number of bytes' })
}

/** `top[k]` if given, else `nested[k]`. */
function topOrNested(top, nested, k) {
  return top[k] !== undefined ? top[k] : nested[k]
}

/**
 * `tls: { ca, rejectUnauthorized, servername }`, or the same three at the top
 * level as ws takes them (not both for one setting). Native: ca (PEM strings),
 * rejectUnauthorized, servername.
 */
function tlsOptions(r) {
  const tls = r.values.tls
  if (tls !== undefined && tls !== null && (typeof tls !== 'object' || Array.isArray(tls))) {
    throw r.error('tls', 'must be an object like { ca, rejectUnauthorized, servername }')
  }
  const nestedValues = nested(r.cls, tls, 'tls', TLS_KEYS, { cannot: TLS_CANNOT }).values
  for (const k of TLS_KEYS) {
    if (r.values[k] !== undefined && nestedValues[k] !== undefined) throw r.error(k, `was given twice, also as 'tls.${k}': pass only one`)
  }
  // Each setting from wherever it was given (at most one place).
  const ca = topOrNested(r.values, nestedValues, 'ca')
  const rejectUnauthorized = topOrNested(r.values, nestedValues, 'rejectUnauthorized')
  const servername = topOrNested(r.values, nestedValues, 'servername')
  const out = {}
  if (ca !== undefined) {
    const list = Array.isArray(ca) ? ca : [ca]
    out.ca = list.map((c, i) => {
      if (typeof c === 'string') return c
      if (c instanceof Uint8Array) return Buffer.from(c).toString('utf8')
      throw r.error(`tls.ca[${i}]`, 'must be a PEM string or Buffer')
    })
  }
  if (rejectUnauthorized !== undefined) out.rejectUnauthorized = Boolean(rejectUnauthorized)
  if (servername !== undefined) out.servername = String(servername)
  return out
}

/**
 * `reconnect`, the same keys for ReconnectingWebSocket and GatewayClient.
 * Returns the checked values by their names, and the finalCodes predicate.
 */
function reconnectOptions(cls, reconnect, aliases) {
  const { values, labels } = nested(cls, reconnect, 'reconnect', RECONNECT_KEYS, { aliases })
  const r = new Reader(cls, values, 'reconnect', labels)
  const out = {}
  out.initialDelay = r.ms('initialDelay', { what: 'a positive number of milliseconds (0 would retry in a tight loop)' })
  out.maxDelay = r.ms('maxDelay')
  const initial = out.initialDelay ?? 1000
  const max = out.maxDelay ?? 30000
  if (initial > max) {
    const [a, b] = [labels.initialDelay ?? 'initialDelay', labels.maxDelay ?? 'maxDelay']
    throw r.error(out.initialDelay !== undefined ? 'initialDelay' : 'maxDelay', `must keep ${a} (${initial} ms) at or below ${b} (${max} ms)`)
  }
  out.factor = r.number('factor', { min: 1, what: 'a finite number >= 1 (1 keeps the delay constant)' })
  out.jitter = r.oneOf('jitter', ['full', 'equal', 'none'])
  out.maxRetries = r.number('maxRetries', { integer: true, infinity: true, what: 'a whole number >= 0 or Infinity' })
  if (out.maxRetries === Infinity) out.maxRetries = undefined
  out.stableAfter = r.number('stableAfter', { what: 'a number of milliseconds >= 0' })
  let predicate = null
  const codes = values.finalCodes
  if (codes !== undefined && cls === 'GatewayClient') {
    throw r.error('finalCodes', 'is not available for GatewayClient: it stops on auth and pairing errors by the connect error\'s details.code ' +
      "(see the 'paused' event), not by close codes; to stop on a close of your choice, call client.close() in a 'disconnect' listener")
  }
  if (typeof codes === 'function') {
    predicate = codes
    out.askFinal = true
  } else if (Array.isArray(codes)) {
    codes.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 1000 || c > 4999) {
        throw r.error(`finalCodes[${i}]`, `must be a close code (a whole number from 1000 to 4999), got ${show(c)}`)
      }
    })
    out.finalCodes = [...codes]
  } else if (codes !== undefined) {
    throw r.error('finalCodes', `must be an array of close codes or a function (code, reason) => boolean, got ${show(codes)}`)
  }
  out.flapThreshold = r.number('flapThreshold', { integer: true, what: 'a whole number >= 0 (0 turns the flapping guard off)' })
  out.flapWindow = r.ms('flapWindow')
  return { reconnect: out, predicate }
}

function queueOptions(cls, queue) {
  const { values } = nested(cls, queue, 'queue', QUEUE_KEYS)
  const r = new Reader(cls, values, 'queue')
  return {
    maxMessages: r.number('maxMessages', { integer: true, what: 'a whole number >= 0 (0 turns queueing off)' }),
    maxBytes: r.number('maxBytes', { integer: true, what: 'a whole number of bytes >= 0' }),
    overflow: r.oneOf('overflow', ['reject-new', 'drop-oldest']),
  }
}

// ------------------------------------------------------------- per class

/** `o` without its undefined values (a copy: `delete` would turn `o` into a slower, larger dictionary object). */
function prune(o) {
  const out = {}
  for (const k in o) if (o[k] !== undefined) out[k] = o[k]
  return out
}

function topLevel(cls, options) {
  const o = options == null ? {} : options
  if (typeof o !== 'object') throw new TypeError(`clawsock: ${cls} options must be an object, got ${typeof o}`)
  checkTopLevel(cls, o)
  return o
}

/** The socket options of WebSocket and ReconnectingWebSocket (NativeConnectOptions). */
function connectOptions(cls, o, protocols) {
  const r = new Reader(cls, o)
  return prune({
    protocols,
    headers: headerPairs(r),
    handshakeTimeout: handshakeTimeout(r),
    maxPayload: maxPayload(r),
    pingInterval: r.ms('pingInterval', { allowZero: true }),
    pongTimeout: r.ms('pongTimeout'),
    closeTimeout: r.ms('closeTimeout'),
    ...tlsOptions(r),
    network: networkOptions(o, (name, message) => optionError(cls, name, message)),
  })
}

/** WebSocket: the NativeConnectOptions. */
function webSocketOptions(options, protocols) {
  return connectOptions('WebSocket', topLevel('WebSocket', options), protocols)
}

/** The `signal` option of `cls` (the constructor has checked the rest), or undefined. */
function signalOf(cls, options) {
  return options == null || typeof options !== 'object' ? undefined : signalOption(new Reader(cls, options))
}

/**
 * `signal`: an AbortSignal (any object with its shape, so AbortSignal.any,
 * AbortSignal.timeout and polyfills work); aborting it works like close().
 */
function signalOption(r) {
  const v = r.values.signal
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || typeof v.aborted !== 'boolean' || typeof v.addEventListener !== 'function' || typeof v.removeEventListener !== 'function') {
    throw r.error('signal', `must be an AbortSignal (an AbortController's signal, or AbortSignal.timeout(ms)), got ${show(v)}`)
  }
  return v
}

/** `ready(socket) => Promise<void>`: the application's ready step, or undefined. */
function readyOption(r) {
  const v = r.values.ready
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'function') throw r.error('ready', `must be a function (socket) => Promise<void> that resolves once the application is ready (authenticated), got ${show(v)}`)
  return v
}

/** `readyTimeout`: ms the ready step may take per connection (0: no limit), or undefined (30 s). */
function readyTimeoutOption(r, ready) {
  const v = r.ms('readyTimeout', { allowZero: true, what: 'a non-negative number of milliseconds (0: no limit)' })
  if (v !== undefined && !ready) throw r.error('readyTimeout', 'limits the ready step, and there is none: pass a ready function too, or leave readyTimeout out')
  return v
}

/**
 * ReconnectingWebSocket: the NativeConnectOptions (`connect`), the
 * NativeReconnectOptions (`reconnect`, with the queue's) and the finalCodes
 * predicate (or null).
 */
function reconnectingOptions(options, protocols, { askTarget = false } = {}) {
  const cls = 'ReconnectingWebSocket'
  const o = topLevel(cls, options)
  const { reconnect, predicate } = reconnectOptions(cls, o.reconnect)
  const isFinal = handshakePredicate(new Reader(cls, o))
  const headersFn = fn(new Reader(cls, o), 'headers')
  const ready = readyOption(new Reader(cls, o))
  const native = prune({
    ...reconnect,
    ...queueOptions(cls, o.queue),
    askHandshake: isFinal ? true : undefined,
    askTarget: askTarget || headersFn ? true : undefined,
    appReady: ready ? true : undefined,
    readyTimeout: readyTimeoutOption(new Reader(cls, o), ready),
  })
  const signal = signalOption(new Reader(cls, o))
  return { connect: connectOptions(cls, o, protocols), reconnect: native, predicate, isFinal, headersFn, ready, signal }
}

/** A function option (fresh values per attempt), or undefined. */
function fn(r, key) {
  const v = r.values[key]
  return typeof v === 'function' ? v : undefined
}

/** `isFinalHandshakeError(error) => boolean`, or undefined. */
function handshakePredicate(r) {
  const v = r.values.isFinalHandshakeError
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'function') throw r.error('isFinalHandshakeError', `must be a function (error) => boolean, got ${show(v)}`)
  return v
}

/**
 * One attempt's headers, from what a `headers` function returned: the same
 * checks as the option (and `origin` added).
 */
function attemptHeaders(cls, headers, origin) {
  return headerPairs(new Reader(cls, { headers, origin }, 'headers()'))
}

/** GatewayClient: the NativeGatewayOptions, the identity (or null) and the default request timeout. */
function gatewayOptions(options) {
  const cls = 'GatewayClient'
  const raw = topLevel(cls, options)
  const { values, labels } = renamed(cls, raw, '', GATEWAY_ALIASES)
  const r = new Reader(cls, values, '', labels)
  const { checkPlaintext, normalizeFingerprint } = gatewayTransport()
  // url and token may be functions, called before every attempt (fresh
  // credentials); the first attempt's URL then comes from the function too.
  const urlFn = fn(r, 'url')
  const tokenFn = fn(r, 'token')
  const url = values.url === undefined || urlFn ? DEFAULT_GATEWAY_URL : values.url instanceof URL ? values.url.href : values.url
  if (typeof url !== 'string') throw r.error('url', 'must be a ws:// or wss:// URL string, or a function returning one')
  const n = { url }
  for (const k of GATEWAY_STRINGS) n[k] = k === 'token' && tokenFn ? undefined : r.string(k)
  n.platform = r.string('platform') ?? process.platform
  n.scopes = r.strings('scopes')
  n.caps = r.strings('caps')
  n.connectChallengeTimeoutMs = r.ms('connectChallengeTimeoutMs', { allowZero: true })
  n.connectTimeoutMs = r.ms('connectTimeoutMs', { allowZero: true })
  n.handshakeTimeoutMs = handshakeTimeout(r)
  n.maxPayload = maxPayload(r)
  const rc = values.reconnect
  if (rc === false) n.reconnect = false
  else if (rc !== undefined && rc !== true) {
    if (typeof rc !== 'object' || rc === null || Array.isArray(rc)) {
      throw r.error('reconnect', `must be a boolean or an object with some of ${RECONNECT_KEYS.filter((k) => k !== 'finalCodes').join(', ')}, got ${show(rc)}`)
    }
    // The same native reconnect object as ReconnectingWebSocket's, read by
    // the same Rust conversion (src/bindings/reconnecting.rs).
    n.reconnectOptions = prune(reconnectOptions(cls, rc, GATEWAY_RECONNECT_ALIASES).reconnect)
  }
  const isFinal = handshakePredicate(r)
  // askTarget: every attempt waits for the JS thread's go-ahead (a `dial`
  // event, answered by setTarget), so a close() in the constructor's turn
  // stops the client before any upgrade is sent; the url/token functions
  // are called there too.
  n.reconnectOptions = prune({ ...n.reconnectOptions, askHandshake: isFinal ? true : undefined, askTarget: true })
  Object.assign(n, tlsOptions(r))
  if (typeof values.headers === 'function') throw r.error('headers', 'must be an object of name: value pairs (a function is not supported by GatewayClient; use a token function for fresh credentials)')
  const headers = headerPairs(r)
  if (headers.length) n.headers = headers
  if (values.tlsFingerprint !== undefined && values.tlsFingerprint !== null) {
    n.tlsFingerprint = normalizeFingerprint(values.tlsFingerprint)
    if (!n.tlsFingerprint) {
      throw r.error('tlsFingerprint', `must be the SHA-256 of the gateway's certificate: 64 hex digits, or 32 colon-separated pairs, optionally prefixed sha256: (as openssl x509 -noout -fingerprint -sha256 prints it), got ${show(values.tlsFingerprint)}`)
    }
  }
  const allowPlaintext = values.allowPlaintext
  if (allowPlaintext !== undefined && typeof allowPlaintext !== 'boolean') throw r.error('allowPlaintext', `must be a boolean, got ${show(allowPlaintext)}`)
  const transport = (u) => checkPlaintext(u, allowPlaintext === true, Boolean(n.tlsFingerprint))
  if (!urlFn) transport(url)
  n.network = networkOptions(values, (name, message) => optionError(cls, name, message))
  let identity = null
  if (values.identity !== undefined && values.identity !== null) {
    if (typeof values.identity === 'string') identity = DeviceIdentity.loadOrCreate(values.identity)
    else if (values.identity instanceof DeviceIdentity) identity = values.identity
    else throw r.error('identity', 'must be a DeviceIdentity or the path of a key file')
  }
  const requestTimeoutMs = values.requestTimeoutMs === undefined ? DEFAULT_REQUEST_TIMEOUT_MS
    : values.requestTimeoutMs === null ? null
      : r.ms('requestTimeoutMs', { allowZero: true, what: 'a non-negative number of milliseconds or null' })
  return { native: prune(n), identity, requestTimeoutMs, isFinal, urlFn, tokenFn, signal: signalOption(r), checkTransport: transport }
}

module.exports = { webSocketOptions, reconnectingOptions, gatewayOptions, attemptHeaders, signalOf }
