'use strict'
// Secret scan (issue #17): known test secrets go through every path that
// prints something, and none of them (nor its base64 / base64url / hex form)
// may appear. The paths: a child process that drives WebSocket,
// ReconnectingWebSocket, GatewayClient and DeviceIdentity to success and to
// failure with CLAWSOCK_LOG=trace (stderr) and prints every event, error
// message, thrown error and util.inspect / JSON of every client object
// (__test__/harness/secret-client.js); and the CLI (probe, gateway, watch;
// with and without --json; CLAWSOCK_LOG=trace). Real peers: the fault server,
// the fixture gateway (its own process) and proxy.py with Basic auth.
// The files that hold secrets (device identity, token store) are checked for
// mode 0600 and for being written by rename (no temp file left behind).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { ROOT, deadPort, runProcess } = require('./helpers')
const { startFaultServer } = require('./harness/fault')
const { startFixtureGateway } = require('./harness/fixture-gateway')
const { startProxy } = require('./harness/proxy')

const S = {
  SECRET_GW_TOKEN: 'gwtok-SECRET-5b1d9e0a7c',
  SECRET_GW_PASSWORD: 'gwpass-SECRET-8e2f44c1',
  SECRET_PROXY_PASSWORD: 'proxypass-SECRET-31c7',
  SECRET_AUTH: 'Bearer authhdr-SECRET-9a0b6d',
  SECRET_QUERY: 'qtok-SECRET-77e3f2',
  SECRET_URL_PASSWORD: 'urlpass-SECRET-4c4d',
}
const PROXY_USER = 'proxyuser'
const BIN = path.join(ROOT, 'bin', 'clawsock.js')

/** Every form a secret could leak in: as is, base64, base64url, hex, and Basic credentials. */
function forms(secrets, basicPairs) {
  const out = new Set()
  const add = (s) => {
    out.add(s)
    const b = Buffer.from(s)
    out.add(b.toString('base64').replace(/=+$/, ''))
    out.add(b.toString('base64url'))
    out.add(b.toString('hex'))
  }
  for (const s of secrets) add(s)
  for (const p of basicPairs) add(p)
  return [...out]
}

function scan(label, text, needles) {
  for (const n of needles) assert.ok(!text.includes(n), `${label} contains the secret ${JSON.stringify(n)}:\n${text}`)
}

let fault, gw, proxy, dead, dir, identityFile, tokenStore
test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-secrets-'))
  identityFile = path.join(dir, 'device.json')
  tokenStore = path.join(dir, 'tokens.json')
  require('..').DeviceIdentity.loadOrCreate(identityFile) // the CLI runs use it even when run alone
  ;[fault, gw, proxy, dead] = await Promise.all([
    startFaultServer(),
    startFixtureGateway({ token: S.SECRET_GW_TOKEN, tickIntervalMs: 200 }),
    startProxy({ auth: `${PROXY_USER}:${S.SECRET_PROXY_PASSWORD}` }),
    deadPort(),
  ])
})
test.after(async () => {
  await Promise.all([fault?.stop(), gw?.stop(), proxy?.stop()])
  fs.rmSync(dir, { recursive: true, force: true })
})

/** The identity's private key in every encoding (read after the client created the file). */
function identityNeedles() {
  const doc = JSON.parse(fs.readFileSync(identityFile, 'utf8'))
  const seed = Buffer.from(doc.privateKey, 'base64url')
  assert.equal(seed.length, 32)
  return [doc.privateKey, seed.toString('base64').replace(/=+$/, ''), seed.toString('hex')]
}

function allNeedles() {
  return forms(Object.values(S), [
    `${PROXY_USER}:${S.SECRET_PROXY_PASSWORD}`,
    `user:${S.SECRET_URL_PASSWORD}`,
    `u:${S.SECRET_URL_PASSWORD}`,
  ]).concat(identityNeedles())
}

test('clients at trace level: no secret in stdout, stderr, events, errors or util.inspect', async () => {
  const proxyPort = new URL(proxy.url).port
  const r = await runProcess([path.join(__dirname, 'harness', 'secret-client.js')], {
    env: {
      ...S,
      CLAWSOCK_LOG: 'trace',
      FAULT_PORT: String(fault.port),
      DEAD_PORT: String(dead),
      GATEWAY_URL: gw.url,
      PROXY_URL: `http://${PROXY_USER}:${S.SECRET_PROXY_PASSWORD}@127.0.0.1:${proxyPort}`,
      PROXY_URL_WRONG: `http://${PROXY_USER}:${S.SECRET_PROXY_PASSWORD}x@127.0.0.1:${proxyPort}`,
      PROXY_URL_DEAD: `http://${PROXY_USER}:${S.SECRET_PROXY_PASSWORD}@127.0.0.1:${dead}`,
      IDENTITY_FILE: identityFile,
      TOKEN_STORE: tokenStore,
    },
  })
  // Everything ran (a skipped step would make the scan vacuous).
  const steps = r.stdout.split('\n').filter((l) => l.startsWith('STEP ')).map((l) => l.slice(5))
  assert.deepEqual(steps, ['ws echo', 'ws failures', 'ws thrown', 'rws echo', 'rws terminal', 'gw token', 'gw password', 'gw dead', 'end'], r.stdout + r.stderr)
  assert.equal(r.code, 0, r.stderr)
  // The paths really printed something: trace logs, the failures' messages.
  assert.match(r.stderr, /TRACE|DEBUG/i)
  assert.match(r.stdout, /handshake timeout: no WebSocket upgrade from ws:\/\/127\.0\.0\.1:\d+\/hang\?<redacted> within 300 ms/)
  assert.match(r.stdout, /unexpected HTTP 403/)
  assert.match(r.stdout, /HTTP 407/)
  assert.match(r.stdout, /connection refused by the proxy/)
  assert.match(r.stdout, /AUTH_TOKEN_MISMATCH|AUTH_PASSWORD|paused/)
  const needles = allNeedles()
  scan('stdout', r.stdout, needles)
  scan('stderr', r.stderr, needles)
})

test('identity and token store: mode 0600, replaced by rename; a writer killed mid-save leaves a whole file', async () => {
  // Written by the child above: DeviceIdentity.loadOrCreate and the token store after hello-ok.
  for (const file of [identityFile, tokenStore]) {
    assert.ok(fs.existsSync(file), `${file} was written`)
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, file)
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['device.json', 'tokens.json'])
  const { DeviceIdentity } = require('..')
  const file = path.join(dir, 'crash.json')
  const first = DeviceIdentity.generate()
  first.save(file)
  const ino = fs.statSync(file).ino
  DeviceIdentity.generate().save(file)
  assert.notEqual(fs.statSync(file).ino, ino, 'an overwrite is a new inode (temp file + rename), not a write in place')
  // A process that saves in a loop, SIGKILLed after its 200th save: the file is a whole key either way.
  const { spawn } = require('node:child_process')
  const child = spawn(process.execPath, ['-e', `
    const { DeviceIdentity } = require('./index.js')
    for (let i = 1; ; i++) { DeviceIdentity.generate().save(${JSON.stringify(file)}); if (i === 200) console.log('200') }
  `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve) => child.stdout.once('data', resolve))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)))
  child.kill('SIGKILL')
  assert.equal(await exited, 'SIGKILL')
  const loaded = DeviceIdentity.load(file)
  assert.match(loaded.deviceId, /^[0-9a-f]{64}$/)
  assert.equal(fs.statSync(file).mode & 0o777, 0o600)
  // Only temp files of the killed writer may be left beside it, never a half-written target.
  for (const name of fs.readdirSync(dir)) {
    assert.ok(['device.json', 'tokens.json', 'crash.json'].includes(name) || /^\.crash\.json\.tmp-\d+-[0-9a-f]{8}$/.test(name), name)
  }
})

const cliEnv = { CLAWSOCK_LOG: 'trace', OPENCLAW_GATEWAY_TOKEN: '', OPENCLAW_GATEWAY_PASSWORD: '' }

test('CLI (probe, gateway, watch) with and without --json at trace level: no secret', async () => {
  const proxyPort = new URL(proxy.url).port
  const proxyUrl = `http://${PROXY_USER}:${S.SECRET_PROXY_PASSWORD}@127.0.0.1:${proxyPort}`
  const q = `token=${S.SECRET_QUERY}`
  const runs = [
    ['probe', `ws://u:${S.SECRET_URL_PASSWORD}@127.0.0.1:${fault.port}/echo?${q}`, '--header', `Authorization: ${S.SECRET_AUTH}`, '--send', 'x', '--listen', '100'],
    ['probe', `ws://127.0.0.1:${fault.port}/echo?${q}`, '--proxy', proxyUrl, '--header', `Authorization: ${S.SECRET_AUTH}`],
    ['probe', `ws://127.0.0.1:${fault.port}/echo?${q}`, '--proxy', proxyUrl.replace('@', 'x@')],
    ['probe', `ws://127.0.0.1:${fault.port}/hang?${q}`, '--timeout', '300'],
    ['probe', `ws://127.0.0.1:${fault.port}/reject/403?${q}`, '--header', `Authorization: ${S.SECRET_AUTH}`],
    ['gateway', gw.url, '--token', S.SECRET_GW_TOKEN, '--identity', identityFile],
    ['gateway', gw.url, '--password', S.SECRET_GW_PASSWORD],
    ['gateway', gw.url, '--token', `${S.SECRET_GW_TOKEN}x`],
    ['gateway', 'call', gw.url, 'health', '--token', S.SECRET_GW_TOKEN, '--identity', identityFile],
    ['watch', gw.url, '--gateway', '--duration', '300', '--token', S.SECRET_GW_TOKEN],
    ['watch', `ws://127.0.0.1:${fault.port}/echo?${q}`, '--duration', '200', '--header', `Authorization: ${S.SECRET_AUTH}`],
  ]
  const needles = allNeedles()
  const codes = []
  await Promise.all(runs.flatMap((args) => [args, [...args, '--json']]).map(async (args) => {
    const r = await runProcess([BIN, ...args], { env: cliEnv })
    codes.push(`${args[0]}:${r.code}`)
    assert.notEqual(r.code, 2, `usage error for ${args.join(' ')}:\n${r.stderr}`)
    assert.ok(r.stdout.length + r.stderr.length > 0)
    scan(`clawsock ${args[0]} stdout`, r.stdout, needles)
    scan(`clawsock ${args[0]} stderr`, r.stderr, needles)
  }))
  assert.equal(codes.length, runs.length * 2)
  // The runs that must succeed did (so the scan covered the success output too).
  const ok = await runProcess([BIN, 'gateway', gw.url, '--token', S.SECRET_GW_TOKEN, '--json'], { env: cliEnv })
  assert.equal(ok.code, 0, ok.stdout + ok.stderr)
  scan('gateway --json', ok.stdout + ok.stderr, needles)
})
