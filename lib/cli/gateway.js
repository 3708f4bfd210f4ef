'use strict'
// `clawsock gateway <url>` (the OpenClaw handshake) and
// `clawsock gateway call <url> <method> [params-json]` (one request).
// Both are built on GatewayClient (lib/gateway.js). When the socket cannot
// even be opened, a plain probe of the same URL says at which step and why.

const fs = require('node:fs')
const { parseArgs, parseHeader, parseWsUrl, parseProxyArg, UsageError } = require('./args.js')
const { EXIT, fmtMs, Output, native } = require('./output.js')
const { networkOptions } = require('../network.js')

const CLIENT_SPEC = {
  token: 'string',
  password: 'string',
  identity: 'string',
  scope: 'list',
  client: 'string',
  mode: 'string',
  timeout: 'ms',
  ca: 'list',
  insecure: 'bool',
  servername: 'string',
  'tls-fingerprint': 'string',
  header: 'list',
  'allow-plaintext': 'bool',
  proxy: 'string',
  json: 'bool',
  help: 'bool',
}

const CLIENT_OPTIONS_HELP = `  --token <T>            the gateway token (default: $OPENCLAW_GATEWAY_TOKEN)
  --password <P>         the gateway password (default: $OPENCLAW_GATEWAY_PASSWORD)
  --identity <file>      device key file (created if missing); enables pairing and device tokens
  --scope <scope>        request this operator scope (repeatable; default read+write)
  --client <id>          client id to connect as (default gateway-client)
  --mode <mode>          client mode (default backend)
  --timeout <ms>         deadline for the handshake and the request (default 15000)
  --ca <file>            trust this PEM CA (repeatable)
  --insecure             do not verify the server certificate (diagnostics only)
  --servername <name>    TLS server name (SNI)
  --tls-fingerprint <fp> pin the gateway's certificate by its SHA-256 (64 hex digits or AB:CD:…, optionally
                         sha256:…, as OpenClaw's gateway.remote.tlsFingerprint): replaces CA verification
  --header 'Name: value' add an upgrade header (repeatable; e.g. Cloudflare Access; values never printed)
  --allow-plaintext      allow ws:// to a public host (refused by default: the token would cross unencrypted)
  --proxy <url|env|off>  connect through this http:// or https:// proxy (credentials never printed);
                         'env': HTTPS_PROXY/HTTP_PROXY/NO_PROXY; 'off': direct (default: README "Proxies")
  --json                 print one JSON object instead of text
Tokens and passwords are never printed.`

const GATEWAY_USAGE = `Usage: clawsock gateway <url> [options]
       clawsock gateway call <url> <method> [params-json] [options]

Runs the OpenClaw handshake (challenge, connect, hello-ok) and prints the
server version, protocol, auth method, scopes granted, how many methods and
events the gateway offers, and its policy. On failure it prints the error
code, details.code and the recommended next step (exit 9 for auth and
pairing). \`call\` then sends one request and prints the result (exit 10 if
the request fails).

Options:
${CLIENT_OPTIONS_HELP}`

/** Client options shared by gateway, gateway call and watch --gateway. */
function clientOptions(url, o, env = process.env) {
  if (o.token !== undefined && o.password !== undefined) throw new UsageError('pass --token or --password, not both')
  const token = o.token ?? (o.password === undefined ? env.OPENCLAW_GATEWAY_TOKEN || undefined : undefined)
  const password = o.password ?? (o.token === undefined && !token ? env.OPENCLAW_GATEWAY_PASSWORD || undefined : undefined)
  const timeout = o.timeout ?? 15_000
  const tls = {}
  if (o.ca) {
    tls.ca = o.ca.map((f) => {
      try {
        return fs.readFileSync(f, 'utf8')
      } catch (err) {
        throw new UsageError(`--ca ${f}: cannot read it (${err.code || err.message})`)
      }
    })
  }
  if (o.insecure) tls.rejectUnauthorized = false
  if (o.servername) tls.servername = o.servername
  const headers = (o.header || []).map(parseHeader)
  const opts = {
    headers: headers.length ? Object.fromEntries(headers) : undefined,
    tlsFingerprint: o['tls-fingerprint'],
    allowPlaintext: o['allow-plaintext'] || undefined,
    url,
    token,
    password,
    identity: o.identity,
    scopes: o.scope,
    clientName: o.client,
    mode: o.mode,
    connectChallengeTimeoutMs: timeout,
    connectTimeoutMs: timeout,
    handshakeTimeout: timeout,
    requestTimeoutMs: timeout,
    tls: Object.keys(tls).length ? tls : undefined,
    proxy: parseProxyArg(o.proxy),
  }
  for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k]
  // Header values may be credentials (CF-Access-Client-Secret): never printed.
  return { opts, secrets: [token, password, ...headers.map(([, v]) => v)].filter(Boolean), timeout, tls }
}

function loadClient() {
  try {
    return require('../gateway.js')
  } catch (err) {
    throw new Error(`the gateway client is not available in this build (${err.message})`)
  }
}

/**
 * Connects once (no reconnect) and resolves with
 * { client, hello, ms } or { client, failure }.
 */
async function connectOnce(url, opts, timeout, tls) {
  const { GatewayClient } = loadClient()
  const started = performance.now()
  const seen = { errors: [], disconnects: [] }
  let client
  try {
    client = new GatewayClient({ ...opts, reconnect: false })
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message)
    throw err
  }
  client.on('error', (e) => seen.errors.push({ kind: e.kind, message: e.message }))
  client.on('disconnect', (d) => seen.disconnects.push(d))
  try {
    const hello = await client.ready()
    return { client, hello, ms: performance.now() - started }
  } catch (err) {
    return { client, failure: await describeConnectFailure(url, err, seen, timeout, tls, opts.proxy, opts.tlsFingerprint) }
  }
}

/** Turns a failed connect into { exitCode, class, code, detailCode, message, nextStep, … }. */
async function describeConnectFailure(url, err, seen, timeout, tls, proxy, pinned) {
  if (err && err.code === 'CONNECT_PAUSED') {
    const d = err.details || {}
    return {
      exitCode: EXIT['gateway-auth'],
      class: 'gateway-auth',
      code: d.serverCode || err.code,
      detailCode: d.code || null,
      message: err.message,
      nextStep: d.nextStep || null,
      requestId: typeof d.requestId === 'string' ? d.requestId : null,
      reason: typeof d.reason === 'string' ? d.reason : null,
    }
  }
  const dial = seen.errors.find((e) => e.kind === 'dial')
  if (dial && pinned && /fingerprint mismatch/.test(dial.message)) {
    // A plain probe knows no pin: it would report the certificate's issuer instead.
    return { exitCode: EXIT.tls, class: 'tls', code: 'UNREACHABLE', detailCode: null, message: dial.message, step: 'tls', nextStep: 'check --tls-fingerprint against the gateway\'s certificate' }
  }
  if (dial) {
    // Say at which step a plain connection fails, with the probe's exit code.
    const report = JSON.parse(await native.probe(url, {
      timeout,
      ca: tls && tls.ca,
      rejectUnauthorized: !(tls && tls.rejectUnauthorized === false),
      servername: tls && tls.servername,
      network: networkOptions({ proxy }, (name, message) => new UsageError(`--${name} ${message}`)),
    }))
    const f = report.failure
    return {
      exitCode: f ? report.exitCode : EXIT.closed,
      class: f ? report.class : 'closed',
      code: 'UNREACHABLE',
      detailCode: null,
      message: f ? `${dial.message}` : `${dial.message} (a plain probe of the same URL then worked: a transient failure?)`,
      step: f ? f.step : null,
      nextStep: f ? null : 'try again',
    }
  }
  const last = seen.disconnects[seen.disconnects.length - 1]
  if (last) {
    const info = native.closeCodeInfo(last.code)
    return {
      exitCode: EXIT.closed,
      class: 'closed',
      code: 'CLOSED',
      detailCode: null,
      closeCode: last.code,
      closeReason: last.reason,
      message: `the gateway closed the connection during the handshake: ${native.describeClose(last.code, last.reason || '', true)}`,
      nextStep: info.nextStep || null,
    }
  }
  return {
    exitCode: EXIT.closed,
    class: 'closed',
    code: (err && err.code) || 'CLOSED',
    detailCode: (err && err.detailCode) || null,
    message: String((err && err.message) || err),
    nextStep: null,
  }
}

function helloSummary(hello, ms) {
  const h = hello || {}
  const auth = h.auth || {}
  const features = h.features || {}
  const policy = h.policy || {}
  return {
    serverVersion: h.server && h.server.version,
    connId: h.server && h.server.connId,
    protocol: h.protocol,
    handshakeMs: Math.round(ms * 100) / 100,
    auth: { method: auth.method || null, role: auth.role || null, scopes: Array.isArray(auth.scopes) ? auth.scopes : [], deviceTokenIssued: Boolean(auth.deviceTokenIssued) },
    methods: Array.isArray(features.methods) ? features.methods.length : 0,
    events: Array.isArray(features.events) ? features.events.length : 0,
    policy: { maxPayload: policy.maxPayload, maxBufferedBytes: policy.maxBufferedBytes, tickIntervalMs: policy.tickIntervalMs },
  }
}

function printHello(out, s) {
  out.line(`  connected in ${fmtMs(s.handshakeMs)}: OpenClaw ${s.serverVersion || '?'}, protocol ${s.protocol}${s.connId ? `, connection ${s.connId}` : ''}`)
  out.line(`  auth: ${s.auth.method || '?'} as ${s.auth.role || '?'}; scopes granted: ${s.auth.scopes.length ? s.auth.scopes.join(', ') : '(none: only health works)'}${s.auth.deviceTokenIssued ? '; device token issued (stored, not shown)' : ''}`)
  out.line(`  features: ${s.methods} methods, ${s.events} events`)
  out.line(`  policy: tick every ${fmtMs(s.policy.tickIntervalMs)}, max payload ${s.policy.maxPayload} bytes, max buffered ${s.policy.maxBufferedBytes} bytes`)
}

function printFailure(out, f) {
  out.line(`  FAILED: ${f.message}`)
  if (f.code || f.detailCode) out.line(`  error code: ${f.code || '?'}${f.detailCode ? `; details.code: ${f.detailCode}` : ''}`)
  if (f.step) out.line(`  a plain connection fails at: ${f.step} (see clawsock probe ${'<url>'})`)
  if (f.nextStep) out.line(`  next step: ${f.nextStep}`)
  out.line(`exit ${f.exitCode} (${f.class})`)
}

async function handshakeCommand(argv, io) {
  const { options, positionals } = parseArgs(argv, CLIENT_SPEC, { h: 'help' })
  if (options.help) {
    io.stdout.write(`${GATEWAY_USAGE}\n`)
    return EXIT.ok
  }
  if (positionals.length !== 1) throw new UsageError(`gateway takes one URL, got ${positionals.length} arguments`)
  const url = parseWsUrl(positionals[0])
  const { opts, secrets, timeout, tls } = clientOptions(url, options, io.env)
  const out = new Output({ json: options.json, stdout: io.stdout, stderr: io.stderr, secrets })
  out.line(`gateway ${native.redactUrl(url)}`)
  const r = await connectOnce(url, opts, timeout, tls)
  await r.client.close()
  if (r.failure) {
    printFailure(out, r.failure)
    out.result({ command: 'gateway', url: native.redactUrl(url), ok: false, exitCode: r.failure.exitCode, class: r.failure.class, failure: r.failure })
    return r.failure.exitCode
  }
  const s = helloSummary(r.hello, r.ms)
  printHello(out, s)
  out.line('result: OK (exit 0)')
  out.result({ command: 'gateway', url: native.redactUrl(url), ok: true, exitCode: EXIT.ok, class: 'ok', hello: s })
  return EXIT.ok
}

async function callCommand(argv, io) {
  const { options, positionals } = parseArgs(argv, CLIENT_SPEC, { h: 'help' })
  if (options.help) {
    io.stdout.write(`${GATEWAY_USAGE}\n`)
    return EXIT.ok
  }
  if (positionals.length < 2 || positionals.length > 3) {
    throw new UsageError('usage: clawsock gateway call <url> <method> [params-json]')
  }
  const url = parseWsUrl(positionals[0])
  const method = positionals[1]
  let params
  if (positionals[2] !== undefined) {
    try {
      params = JSON.parse(positionals[2])
    } catch (err) {
      throw new UsageError(`params must be JSON (e.g. '{"probe":true}'): ${err.message}`)
    }
  }
  const { opts, secrets, timeout, tls } = clientOptions(url, options, io.env)
  const out = new Output({ json: options.json, stdout: io.stdout, stderr: io.stderr, secrets })
  const r = await connectOnce(url, opts, timeout, tls)
  if (r.failure) {
    await r.client.close()
    if (!options.json) out.line(`gateway ${native.redactUrl(url)}`)
    printFailure(out, r.failure)
    out.result({ command: 'gateway call', url: native.redactUrl(url), method, ok: false, exitCode: r.failure.exitCode, class: r.failure.class, failure: r.failure })
    return r.failure.exitCode
  }
  const started = performance.now()
  try {
    const result = await r.client.request(method, params)
    const ms = performance.now() - started
    await r.client.close()
    if (options.json) out.result({ command: 'gateway call', url: native.redactUrl(url), method, ok: true, exitCode: EXIT.ok, class: 'ok', ms: Math.round(ms * 100) / 100, result })
    else io.stdout.write(`${JSON.stringify(require('./output.js').scrub(result, secrets), null, 2)}\n`)
    return EXIT.ok
  } catch (err) {
    await r.client.close()
    const failure = {
      exitCode: EXIT['gateway-request'],
      class: 'gateway-request',
      code: err.code || null,
      detailCode: err.detailCode || null,
      message: err.message,
      details: err.details || null,
      nextStep: requestNextStep(err),
    }
    if (!options.json) io.stderr.write(`clawsock: ${method} failed\n`)
    printFailure({ line: (t) => !options.json && io.stderr.write(`${require('./output.js').scrub(t, secrets)}\n`) }, failure)
    out.result({ command: 'gateway call', url: native.redactUrl(url), method, ok: false, exitCode: failure.exitCode, class: failure.class, failure })
    return failure.exitCode
  }
}

function requestNextStep(err) {
  const d = err.details || {}
  if (d.code === 'MISSING_SCOPE' || /missing scope/.test(err.message || '')) {
    return `this connection lacks the scope ${d.missingScope || (/missing scope: (\S+)/.exec(err.message || '') || [])[1] || '?'}: connect with --scope for it (or use a device identity the gateway approved for it)`
  }
  if (err.code === 'TIMEOUT') return 'the gateway did not answer in time: raise --timeout, or check the gateway log'
  if (/unknown method/.test(err.message || '')) return 'the gateway does not know this method: clawsock gateway <url> --json lists how many methods it offers'
  return null
}

async function gatewayCommand(argv, io) {
  io = { env: process.env, ...io }
  if (argv[0] === 'call') return callCommand(argv.slice(1), io)
  return handshakeCommand(argv, io)
}

module.exports = { gatewayCommand, clientOptions, helloSummary, CLIENT_SPEC, CLIENT_OPTIONS_HELP }
