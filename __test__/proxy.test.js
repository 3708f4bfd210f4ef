'use strict'
// Proxies against a real one: proxy.py (harness/proxy.js), started by the
// test, in front of ws servers on 127.0.0.1. Each client runs in a child
// process with its own environment (the proxy environment is read when a
// connection starts), and logs at CLAWSOCK_LOG=trace so every line can be
// scanned for the proxy's credentials. Whether a connection went through the
// proxy is shown by the proxy itself: a proxy that wants credentials
// answers 407, a proxy port where nothing listens refuses, and a direct
// connection succeeds with either.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const https = require('node:https')
const { WebSocketServer } = require('ws')
const { WebSocket, ReconnectingWebSocket, GatewayClient } = require('../index.js')
const { startFixtureGateway } = require('./harness/fixture-gateway.js')
const { runProcess, once, deadPort: freePort } = require('./helpers.js')
const { startProxy } = require('./harness/proxy.js')
const { makeTestPki } = require('./harness/tls.js')

const USER = 'proxyuser'
const PASS = 'pr0xy-s3cret'
const SECRETS = [PASS, Buffer.from(`${USER}:${PASS}`).toString('base64')]
const PROXY_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy',
  'NODE_USE_ENV_PROXY', 'OPENCLAW_PROXY_ACTIVE', 'OPENCLAW_PROXY_LOOPBACK_MODE', 'OPENCLAW_PROXY_CA_FILE']
const OPENCLAW_NO_PROXY = '127.0.0.1,localhost,localhost.,::1,[::1],127.0.0.0/8'

let pki, open, auth, tlsProxy, dest, secureDest, deadPort

async function wsServer(secure) {
  const server = secure ? https.createServer({ cert: pki.certPem, key: pki.keyPem }) : http.createServer()
  const wss = new WebSocketServer({ server })
  const seen = []
  wss.on('connection', (ws, req) => {
    seen.push(req.headers)
    ws.on('error', () => {})
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return { port, seen, url: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}/`, close: () => { server.closeAllConnections(); server.close() } }
}

/** Dials `url` in a child with `env` (proxy variables otherwise unset); returns the result and the child's output. */
async function dial(url, options = {}, env = {}) {
  const clean = Object.fromEntries(PROXY_ENV.map((k) => [k, null]))
  const r = await runProcess(['__test__/harness/dial-child.js'], {
    env: { ...clean, CLAWSOCK_LOG: 'trace', ...env, CLAWSOCK_TEST_DIAL: JSON.stringify({ url, options }) },
  })
  assert.equal(r.code, 0, r.stderr)
  const result = JSON.parse(r.stdout.trim().split('\n').pop())
  for (const secret of SECRETS) {
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'the proxy credentials appear in the output')
  }
  return { ...result, log: r.stderr }
}

const authUrl = (user = USER, pass = PASS) => `http://${user}:${pass}@127.0.0.1:${auth.port}`

test.before(async () => {
  pki = makeTestPki()
  ;[open, auth, tlsProxy, dest, secureDest, deadPort] = await Promise.all([
    startProxy(),
    startProxy({ auth: `${USER}:${PASS}` }),
    startProxy({ tls: { certPath: pki.certPath, keyPath: pki.keyPath } }),
    wsServer(false),
    wsServer(true),
    freePort(),
  ])
})

test.after(async () => {
  dest.close()
  secureDest.close()
  await Promise.all([open.stop(), auth.stop(), tlsProxy.stop()])
})

test('CONNECT through an http:// proxy, for ws: and wss:', async () => {
  const plain = await dial(dest.url, { proxy: open.url })
  assert.equal(plain.opened, true, plain.error)
  assert.match(plain.log, /CONNECT answered.*status=200/)
  const secure = await dial(secureDest.url, { proxy: open.url, tls: { ca: pki.caPem } })
  assert.equal(secure.opened, true, secure.error)
  assert.match(secure.log, /CONNECT answered.*status=200/)
})

test('an https:// proxy is verified against proxy.ca or OPENCLAW_PROXY_CA_FILE', async () => {
  const ok = await dial(secureDest.url, { proxy: { url: tlsProxy.url, ca: pki.caPem }, tls: { ca: pki.caPem } })
  assert.equal(ok.opened, true, ok.error)
  const unknown = await dial(dest.url, { proxy: tlsProxy.url })
  assert.equal(unknown.opened, false)
  assert.equal(unknown.code, 'CLAWSOCK_PROXY')
  assert.match(unknown.error, /TLS to the proxy https:\/\/127\.0\.0\.1:\d+ failed: .*OPENCLAW_PROXY_CA_FILE/)
  const managed = await dial(dest.url, {}, {
    OPENCLAW_PROXY_ACTIVE: '1', OPENCLAW_PROXY_LOOPBACK_MODE: 'proxy', HTTP_PROXY: tlsProxy.url, HTTPS_PROXY: tlsProxy.url,
    OPENCLAW_PROXY_CA_FILE: pki.caPath,
  })
  assert.equal(managed.opened, true, managed.error)
  assert.match(managed.log, /CONNECT answered.*status=200/)
})

test('Basic proxy auth from the URL: accepted, refused with 407, never shown', async () => {
  const ok = await dial(dest.url, { proxy: authUrl() })
  assert.equal(ok.opened, true, ok.error)
  const wrong = await dial(dest.url, { proxy: authUrl(USER, 'not-the-password') })
  assert.equal(wrong.opened, false)
  assert.equal(wrong.code, 'CLAWSOCK_PROXY')
  assert.equal(wrong.status, 407)
  assert.match(wrong.error, /refused CONNECT 127\.0\.0\.1:\d+: HTTP 407.*did not accept the credentials/)
  assert.ok(!wrong.error.includes('not-the-password') && !wrong.log.includes('not-the-password'))
  const none = await dial(dest.url, { proxy: `http://127.0.0.1:${auth.port}` })
  assert.equal(none.status, 407)
  assert.match(none.error, /wants credentials/)
  // Percent-encoded credentials are decoded before they are sent.
  const encoded = await dial(dest.url, { proxy: `http://${USER}:${encodeURIComponent(PASS)}@127.0.0.1:${auth.port}` })
  assert.equal(encoded.opened, true, encoded.error)
})

test('environment proxies: only with NODE_USE_ENV_PROXY=1 or proxy: "env"; NO_PROXY; lowercase wins', async () => {
  const dead = `http://127.0.0.1:${deadPort}`
  // Neither switch: the variables are not read.
  assert.equal((await dial(dest.url, {}, { HTTP_PROXY: dead })).opened, true)
  const viaEnv = await dial(dest.url, {}, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: dead })
  assert.equal(viaEnv.opened, false)
  assert.match(viaEnv.error, new RegExp(`connection refused by the proxy 127\\.0\\.0\\.1:${deadPort}`))
  const optEnv = await dial(dest.url, { proxy: 'env' }, { HTTP_PROXY: dead })
  assert.equal(optEnv.opened, false)
  assert.equal((await dial(dest.url, { proxy: false }, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: dead })).opened, true)
  // wss: uses HTTPS_PROXY; ALL_PROXY is the fallback.
  assert.equal((await dial(secureDest.url, { tls: { ca: pki.caPem } }, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: dead, HTTPS_PROXY: open.url })).opened, true)
  assert.equal((await dial(dest.url, {}, { NODE_USE_ENV_PROXY: '1', ALL_PROXY: dead })).opened, false)
  // Lowercase wins over uppercase.
  const lower = await dial(dest.url, {}, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: dead, http_proxy: open.url })
  assert.equal(lower.opened, true, lower.error)
  assert.match(lower.log, /CONNECT answered/)
  // NO_PROXY: host, suffix, CIDR, port, '*'; a miss still goes to the proxy.
  for (const noProxy of ['127.0.0.1', '127.0.0.0/8', `127.0.0.1:${dest.port}`, '*', 'example.com, 127.0.0.1']) {
    const r = await dial(dest.url, {}, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: dead, NO_PROXY: noProxy })
    assert.equal(r.opened, true, `NO_PROXY=${noProxy}: ${r.error}`)
  }
  for (const noProxy of ['example.com', `127.0.0.1:${dest.port + 1}`, '10.0.0.0/8']) {
    const r = await dial(dest.url, {}, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: dead, NO_PROXY: noProxy })
    assert.equal(r.opened, false, `NO_PROXY=${noProxy} should not match`)
  }
  const lowerNo = await dial(dest.url, {}, { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: dead, NO_PROXY: '127.0.0.1', no_proxy: 'example.com' })
  assert.equal(lowerNo.opened, false, 'no_proxy (lowercase) wins over NO_PROXY')
})

test('OpenClaw managed proxy: each loopback mode, and proxy: false cannot turn it off', async () => {
  const dead = `http://127.0.0.1:${deadPort}`
  const managed = (mode, url, extra = {}) => ({
    OPENCLAW_PROXY_ACTIVE: '1', OPENCLAW_PROXY_LOOPBACK_MODE: mode, HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url,
    NO_PROXY: mode === 'gateway-only' ? OPENCLAW_NO_PROXY : '', no_proxy: mode === 'gateway-only' ? OPENCLAW_NO_PROXY : '', ...extra,
  })
  // gateway-only: loopback goes direct (the dead proxy is never asked).
  const direct = await dial(dest.url, {}, managed('gateway-only', dead))
  assert.equal(direct.opened, true, direct.error)
  // An unset or unknown mode is gateway-only, as in OpenClaw.
  assert.equal((await dial(dest.url, {}, managed('', dead))).opened, true)
  // proxy: loopback goes through the proxy, with its credentials; proxy: false changes nothing.
  const through = await dial(dest.url, { proxy: false }, managed('proxy', authUrl()))
  assert.equal(through.opened, true, through.error)
  assert.match(through.log, /CLAWSOCK_PROXY_MANAGED.*proxy: false is overridden/)
  assert.match(through.log, /CONNECT answered.*status=200/)
  const deadProxy = await dial(dest.url, { proxy: false }, managed('proxy', dead))
  assert.equal(deadProxy.opened, false)
  assert.match(deadProxy.error, /connection refused by the proxy/)
  // block: refused before a socket is opened, with the way out.
  const before = dest.seen.length
  const blocked = await dial(dest.url, {}, managed('block', open.url))
  assert.equal(blocked.opened, false)
  assert.equal(blocked.code, 'CLAWSOCK_PROXY')
  assert.match(blocked.error, /OPENCLAW_PROXY_LOOPBACK_MODE=block.*proxy\.loopbackMode gateway-only/)
  assert.equal(dest.seen.length, before)
  const localhost = await dial(`ws://localhost:${dest.port}/`, {}, managed('block', open.url))
  assert.match(localhost.error, /blocks loopback destinations/)
  // Active but no proxy URL: refuses rather than going around it.
  const missing = await dial(dest.url, {}, { OPENCLAW_PROXY_ACTIVE: '1' })
  assert.equal(missing.opened, false)
  assert.match(missing.thrown, /managed proxy is active .* HTTP_PROXY is not set/)
})

test('ReconnectingWebSocket takes the same proxy option', async () => {
  const rws = new ReconnectingWebSocket(dest.url, { proxy: authUrl(), reconnect: { maxRetries: 0 } })
  await once(rws, 'open')
  rws.close()
  await once(rws, 'terminal')
})

test('GatewayClient takes the same proxy option: a proxy that wants credentials decides', async () => {
  const fx = await startFixtureGateway({ token: 'gw-token' })
  try {
    const c = new GatewayClient({ url: fx.url, token: 'gw-token', proxy: authUrl(), reconnect: false })
    await c.ready()
    await c.close()
    const refused = new GatewayClient({ url: fx.url, token: 'gw-token', proxy: `http://127.0.0.1:${auth.port}`, reconnect: false })
    const err = await refused.ready().then(() => null, (e) => e)
    assert.ok(err, 'connected without proxy credentials')
    assert.match(err.message, /407/)
    await refused.close()
    assert.throws(() => new GatewayClient({ url: fx.url, agent: {} }), /'agent' cannot be honoured: .*proxy:/)
    // The CLI's gateway command takes --proxy too.
    const clean = Object.fromEntries(PROXY_ENV.map((k) => [k, null]))
    const cli = await runProcess(['bin/clawsock.js', 'gateway', fx.url, '--token', 'gw-token', '--proxy', authUrl(), '--json'], { env: clean })
    assert.equal(cli.code, 0, cli.stdout + cli.stderr)
    assert.ok(!cli.stdout.includes(PASS))
    const cliRefused = await runProcess(['bin/clawsock.js', 'gateway', fx.url, '--token', 'gw-token', '--proxy', authUrl(USER, 'wrong'), '--json'], { env: clean })
    assert.notEqual(cliRefused.code, 0)
    assert.match(cliRefused.stdout, /407/)
  } finally {
    await fx.stop()
  }
})

test('clawsock probe reports the proxy step (--proxy, or the environment), never the credentials', async () => {
  const clean = Object.fromEntries(PROXY_ENV.map((k) => [k, null]))
  const probe = async (args, env = {}) => {
    const r = await runProcess(['bin/clawsock.js', 'probe', dest.url, '--json', ...args], { env: { ...clean, CLAWSOCK_LOG: 'trace', ...env } })
    for (const secret of SECRETS) assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'credentials printed')
    return { code: r.code, report: JSON.parse(r.stdout) }
  }
  const viaOption = await probe(['--proxy', authUrl()])
  assert.equal(viaOption.code, 0)
  assert.equal(viaOption.report.steps.proxy.ok, true)
  assert.equal(viaOption.report.steps.proxy.source, 'option')
  assert.equal(viaOption.report.steps.proxy.proxy, `http://127.0.0.1:${auth.port}`)
  assert.equal(viaOption.report.steps.dns.proxy, `http://127.0.0.1:${auth.port}`)
  const refused = await probe(['--proxy', authUrl(USER, 'wrong')])
  assert.equal(refused.report.ok, false)
  assert.equal(refused.report.steps.proxy.ok, false)
  assert.equal(refused.report.steps.proxy.status, 407)
  assert.equal(refused.report.failure.kind, 'proxy')
  const managed = await probe([], { OPENCLAW_PROXY_ACTIVE: '1', OPENCLAW_PROXY_LOOPBACK_MODE: 'proxy', HTTP_PROXY: authUrl() })
  assert.equal(managed.report.steps.proxy.source, 'openclaw')
  const off = await probe(['--proxy', 'off'], { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: `http://127.0.0.1:${deadPort}` })
  assert.equal(off.code, 0)
  assert.equal(off.report.steps.proxy, undefined)
  assert.equal(off.report.steps.tcp.attempts[0].outcome, 'connected')
})

test('options: `agent` is refused with the way to a proxy; misspelt network options are named', async () => {
  const warned = new Promise((resolve) => process.once('warning', resolve))
  const ws = new WebSocket(dest.url, { followredirects: true })
  const warning = await warned
  ws.close()
  assert.equal(warning.code, 'CLAWSOCK_UNKNOWN_OPTION')
  assert.match(warning.message, /option 'followredirects' is not a known option and is ignored; did you mean 'followRedirects'/)
  assert.throws(() => new WebSocket(dest.url, { agent: {} }), /option 'agent' cannot be honoured: .*proxy: 'http:\/\/host:port'/)
  assert.throws(() => new WebSocket(dest.url, { proxy: 'socks5://127.0.0.1:1' }), /must be an http:\/\/ or https:\/\/ proxy URL/)
  assert.throws(() => new WebSocket(dest.url, { proxy: { url: open.url, cert: 'x' } }), /option 'proxy.cert' is not a known option/)
  assert.throws(() => new WebSocket(dest.url, { family: 5 }), /option 'family' must be 0 \(both\), 4 \(IPv4 only\) or 6/)
  assert.throws(() => new WebSocket(dest.url, { maxRedirects: -1 }), /option 'maxRedirects'/)
  assert.throws(() => new WebSocket(dest.url, { autoSelectFamily: 'yes' }), /option 'autoSelectFamily' must be true or false/)
  const err = (() => { try { new WebSocket(dest.url, { proxy: `ftp://${USER}:${PASS}@127.0.0.1:1` }) } catch (e) { return e } })()
  assert.ok(err && !err.message.includes(PASS))
})
