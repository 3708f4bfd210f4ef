'use strict'
// The client half of __test__/secrets.test.js, run as a child process with
// CLAWSOCK_LOG=trace: it drives every client class through success and failure
// with the test secrets (from SECRET_* env vars) and prints everything a user
// could print: event objects, error messages, thrown errors, util.inspect and
// JSON of every client object. The parent scans stdout and stderr for the
// secrets. Lines starting with `STEP ` mark what ran, so a skipped step fails.

const util = require('node:util')
const { WebSocket, ReconnectingWebSocket, GatewayClient, DeviceIdentity } = require('../../index.js')

const env = process.env
const show = (label, v) => console.log(`${label}: ${util.inspect(v, { depth: 6, showHidden: true, getters: true })}`)
const json = (label, v) => { try { console.log(`${label} json: ${JSON.stringify(v)}`) } catch (e) { console.log(`${label} json threw: ${e.message}`) } }
const step = (name) => console.log(`STEP ${name}`)

function events(target, types) {
  const log = []
  for (const t of types) target.addEventListener(t, (e) => { log.push(e); show(`event ${t}`, e); if (e.error) show('event error', e.error); if (e.message) console.log(`message: ${e.message}`) })
  return log
}

const until = (target, type) => new Promise((resolve) => target.addEventListener(type, resolve, { once: true }))

async function websocketCases() {
  // Success: userinfo (Basic), an Authorization header, a query token; echo one message.
  const url = `ws://user:${env.SECRET_URL_PASSWORD}@127.0.0.1:${env.FAULT_PORT}/echo?token=${env.SECRET_QUERY}`
  const ws = new WebSocket(url, [], { headers: { Authorization: env.SECRET_AUTH } })
  events(ws, ['open', 'message', 'error', 'close'])
  await until(ws, 'open')
  ws.send('hello')
  await until(ws, 'message')
  show('ws open', ws)
  ws.close(1000, 'done')
  await until(ws, 'close')
  show('ws closed', ws)
  step('ws echo')

  // Failures: handshake timeout, HTTP 403, refused, through a proxy with credentials.
  const failures = [
    [`ws://127.0.0.1:${env.FAULT_PORT}/hang?token=${env.SECRET_QUERY}`, { handshakeTimeout: 300 }],
    [`ws://u:${env.SECRET_URL_PASSWORD}@127.0.0.1:${env.FAULT_PORT}/reject/403?access_token=${env.SECRET_QUERY}`, { headers: { Authorization: env.SECRET_AUTH } }],
    [`ws://127.0.0.1:${env.DEAD_PORT}/x?token=${env.SECRET_QUERY}`, {}],
    [`ws://127.0.0.1:${env.FAULT_PORT}/echo?token=${env.SECRET_QUERY}`, { proxy: env.PROXY_URL }],
    [`ws://127.0.0.1:${env.FAULT_PORT}/echo?token=${env.SECRET_QUERY}`, { proxy: env.PROXY_URL_WRONG }],
    [`ws://127.0.0.1:${env.FAULT_PORT}/echo?token=${env.SECRET_QUERY}`, { proxy: env.PROXY_URL_DEAD }],
  ]
  for (const [u, o] of failures) {
    const w = new WebSocket(u, [], { headers: { Authorization: env.SECRET_AUTH }, ...o })
    events(w, ['open', 'error', 'close'])
    const c = await until(w, 'close')
    console.log(`close ${c.code} ${c.reason}`)
    show('ws failed', w)
  }
  step('ws failures')

  // Thrown errors: a bad URL and a bad header value carrying the secret.
  for (const make of [
    () => new WebSocket(`ftp://u:${env.SECRET_URL_PASSWORD}@h/?token=${env.SECRET_QUERY}`),
    () => new WebSocket(`ws://127.0.0.1:1/?token=${env.SECRET_QUERY}`, [], { headers: { Authorization: `${env.SECRET_AUTH}\n` } }),
    () => new WebSocket(`ws://127.0.0.1:1/`, [], { proxy: `ftp://proxyuser:${env.SECRET_PROXY_PASSWORD}@h:1` }),
  ]) {
    try { const w = make(); w.close(); show('constructed', w) } catch (e) { show('thrown', e); console.log(`thrown message: ${e.message}`) }
  }
  step('ws thrown')
}

async function reconnectingCases() {
  const url = `ws://127.0.0.1:${env.FAULT_PORT}/echo?token=${env.SECRET_QUERY}`
  const r = new ReconnectingWebSocket(url, [], { headers: { Authorization: env.SECRET_AUTH }, proxy: env.PROXY_URL })
  events(r, ['open', 'message', 'error', 'close', 'reconnecting', 'terminal', 'dropped'])
  await until(r, 'open')
  r.send('hi')
  await until(r, 'message')
  show('rws open', r)
  r.close()
  await until(r, 'close')
  show('rws closed', r)
  step('rws echo')

  const bad = new ReconnectingWebSocket(`ws://u:${env.SECRET_URL_PASSWORD}@127.0.0.1:${env.FAULT_PORT}/reject/401?token=${env.SECRET_QUERY}`, [], {
    headers: { Authorization: env.SECRET_AUTH },
  })
  events(bad, ['error', 'close', 'reconnecting', 'terminal'])
  await until(bad, 'terminal')
  show('rws terminal', bad)
  json('rws terminalReason', bad.terminalReason)
  step('rws terminal')
}

async function gatewayCases() {
  const identity = DeviceIdentity.loadOrCreate(env.IDENTITY_FILE)
  show('identity', identity)
  json('identity', identity)
  console.log(`identity string: ${identity}`)
  const ok = new GatewayClient({ url: env.GATEWAY_URL, token: env.SECRET_GW_TOKEN, identity, tokenStorePath: env.TOKEN_STORE, clientName: 'cli', mode: 'cli' })
  for (const t of ['ready', 'paused', 'error', 'close', 'reconnecting', 'tick', 'event']) ok.on(t, (...a) => show(`gw ${t}`, a))
  show('hello', await ok.ready())
  show('health', await ok.request('health'))
  try { await ok.request('no.such.method', { token: env.SECRET_GW_TOKEN }) } catch (e) { show('gw request error', e); console.log(`gw request error: ${e.message}`) }
  show('gw client', ok)
  json('gw stats', ok.stats)
  await ok.close()
  step('gw token')

  const wrong = new GatewayClient({ url: env.GATEWAY_URL, password: env.SECRET_GW_PASSWORD, identity })
  for (const t of ['ready', 'paused', 'error', 'close']) wrong.on(t, (...a) => show(`gw wrong ${t}`, a))
  const paused = await new Promise((resolve) => wrong.on('paused', resolve))
  json('paused', paused)
  try { await wrong.ready() } catch (e) { show('gw ready error', e) }
  try { await wrong.request('health') } catch (e) { show('gw paused request error', e); console.log(`paused request: ${e.message}`) }
  show('gw wrong', wrong)
  await wrong.close()
  step('gw password')

  const dead = new GatewayClient({ url: `ws://127.0.0.1:${env.DEAD_PORT}/?token=${env.SECRET_QUERY}`, token: env.SECRET_GW_TOKEN, handshakeTimeout: 300, reconnect: { maxRetries: 0 } })
  const seen = []
  for (const t of ['error', 'close', 'terminal', 'reconnecting']) dead.on(t, (...a) => { seen.push(t); show(`gw dead ${t}`, a) })
  try { await dead.ready() } catch (e) { show('gw dead ready', e); console.log(`gw dead: ${e.message}`) }
  show('gw dead client', dead)
  await dead.close()
  step('gw dead')
}

;(async () => {
  await websocketCases()
  await reconnectingCases()
  await gatewayCases()
  step('end')
})().catch((e) => {
  console.log(`FAILED: ${util.inspect(e)}`)
  process.exitCode = 1
})
