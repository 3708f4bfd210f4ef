'use strict'
// The `clawsock` command against real peers on loopback: the fault server
// (HTTP 403, a silent server, a TCP drop, an untrusted certificate), the
// bot_civ Starlette server (the 4001 takeover of the incident), and the real
// OpenClaw gateway (success, wrong token, pairing required). Every run is a
// child process (`node bin/clawsock.js …`); the tests assert exit codes,
// --json fields and the explanation text. Synchronisation is by events
// (server-side waitFor, the child's exit), never by sleeping.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { WebSocket } = require('..')
const { ROOT, once, runProcess } = require('./helpers')
const { startFaultServer } = require('./harness/fault')
const { makeTestPki } = require('./harness/tls')

const BIN = path.join(ROOT, 'bin', 'clawsock.js')
const SECRET = 'tok-3f9a1c77e2b54d0c-very-secret'

/** Runs the CLI; resolves with { code, stdout, stderr, json } once it exits. */
async function cli(args, { env = {} } = {}) {
  const r = await runProcess([BIN, ...args], {
    env: { CLAWSOCK_LOG: '', OPENCLAW_GATEWAY_TOKEN: '', OPENCLAW_GATEWAY_PASSWORD: '', ...env },
  })
  let json
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout)
    } catch {
      json = undefined
    }
  }
  return { ...r, json }
}

function assertNoSecret(r, secret = SECRET) {
  assert.ok(!r.stdout.includes(secret), `secret in stdout:\n${r.stdout}`)
  assert.ok(!r.stderr.includes(secret), `secret in stderr:\n${r.stderr}`)
}

test('help, usage errors and the close-code table', async (t) => {
  await t.test('--help documents every exit code', async () => {
    const r = await cli(['--help'])
    assert.equal(r.code, 0)
    for (const line of [/^\s+0 {2}success/m, /^\s+2 {2}usage/m, /^\s+3 {2}DNS/m, /^\s+4 {2}TCP/m, /^\s+5 {2}TLS/m,
      /^\s+6 {2}HTTP/m, /^\s+7 {2}timeout/m, /^\s+8 {2}closed/m, /^\s+9 {2}gateway auth/m, /^\s+10 {2}gateway request/m]) {
      assert.match(r.stdout, line)
    }
  })

  await t.test('usage errors exit 2, also with --json', async () => {
    assert.equal((await cli([])).code, 2)
    assert.equal((await cli(['frobnicate'])).code, 2)
    const bad = await cli(['probe', 'ftp://example.com/', '--json'])
    assert.equal(bad.code, 2)
    assert.equal(bad.json.class, 'usage')
    assert.match(bad.stderr, /ws:\/\/ or wss:\/\//)
    const opt = await cli(['probe', 'ws://127.0.0.1:1/', '--nope'])
    assert.equal(opt.code, 2)
    assert.match(opt.stderr, /unknown option --nope/)
    assert.equal((await cli(['probe', 'ws://127.0.0.1:1/', '--header', 'no-colon'])).code, 2)
    assert.equal((await cli(['gateway', 'call', 'ws://127.0.0.1:1/', 'health', '{not json'])).code, 2)
  })

  await t.test('codes explains 1006, 4001 and the OpenClaw meanings', async () => {
    const r = await cli(['codes', '1006', '4001', '1012', '--json'])
    assert.equal(r.code, 0)
    const [c1006, c4001, c1012] = r.json.codes
    assert.equal(c1006.meaning, 'no close frame: the TCP connection dropped or was reset; see the server log')
    assert.match(c4001.meaning, /often: replaced by another connection with the same identity/)
    assert.match(c4001.openclaw, /credentials rotated or revoked/)
    assert.match(c1012.openclaw, /restarting/)
    const all = await cli(['codes'])
    for (let c = 1000; c <= 1015; c++) assert.match(all.stdout, new RegExp(`^${c} `, 'm'))
  })
})

test('probe against the fault server', async (t) => {
  const fsrv = await startFaultServer()
  t.after(() => fsrv.stop())

  await t.test('echo: every step reported, the reply printed, a clean close; the token never shows', async () => {
    const r = await cli(['probe', fsrv.url('/echo'), '--send', 'hello clawsock', '--header', `Authorization: Bearer ${SECRET}`, '--json'],
      { env: { CLAWSOCK_LOG: 'trace' } })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const j = r.json
    assert.equal(j.ok, true)
    assert.equal(j.exitCode, 0)
    assert.deepEqual(Object.keys(j.steps), ['dns', 'tcp', 'upgrade'])
    for (const s of Object.values(j.steps)) {
      assert.equal(s.ok, true)
      assert.equal(typeof s.ms, 'number')
    }
    assert.equal(j.steps.upgrade.status, 101)
    assert.deepEqual(j.steps.upgrade.headers, ['Authorization'])
    assert.deepEqual(j.messages.map((m) => [m.direction, m.data]), [['sent', 'hello clawsock'], ['received', 'hello clawsock']])
    assert.equal(j.close.code, 1000)
    assert.equal(j.close.initiatedBy, 'client')
    // Logging was on (structured logs from the Rust core) and carried no secret.
    assert.match(r.stderr, /probe: start/)
    assert.match(r.stderr, /transport: connection closed/)
    assertNoSecret(r)
    // The server really got the header.
    const headers = await cli(['probe', fsrv.url('/headers'), '--header', `Authorization: Bearer ${SECRET}`, '--listen', '0', '--send', 'x'])
    assert.equal(headers.code, 0)
    assertNoSecret(headers)
  })

  await t.test('HTTP 403: status and the first bytes of the body, exit 6', async () => {
    const r = await cli(['probe', fsrv.url('/reject/403'), '--json'])
    assert.equal(r.code, 6)
    assert.equal(r.json.class, 'http-status')
    assert.equal(r.json.steps.upgrade.ok, false)
    assert.equal(r.json.steps.upgrade.status, 403)
    assert.equal(r.json.steps.upgrade.body, 'forbidden by test')
    assert.equal(r.json.failure.step, 'upgrade')
    const text = await cli(['probe', fsrv.url('/reject/403')])
    assert.equal(text.code, 6)
    assert.match(text.stdout, /upgrade +FAILED .*HTTP 403/)
    assert.match(text.stdout, /body: "forbidden by test"/)
  })

  await t.test('a server that never answers the upgrade: timeout at the upgrade step, exit 7', async () => {
    const r = await cli(['probe', fsrv.url('/hang'), '--timeout', '300', '--json'])
    assert.equal(r.code, 7)
    assert.equal(r.json.failure.kind, 'timeout')
    assert.equal(r.json.failure.step, 'upgrade')
    assert.equal(r.json.steps.tcp.ok, true)
    assert.match(r.json.failure.message, /did not answer the upgrade request/)
  })

  await t.test('TCP drop in the middle of a frame: 1006 explained, exit 8', async () => {
    const r = await cli(['probe', fsrv.url('/drop-mid-frame'), '--listen', '60000'])
    assert.equal(r.code, 8)
    assert.match(r.stdout, /close +1006/)
    assert.match(r.stdout, /no close frame: the TCP connection dropped or was reset; see the server log/)
    const j = await cli(['probe', fsrv.url('/drop-mid-frame?rst=1'), '--listen', '60000', '--json'])
    assert.equal(j.code, 8)
    assert.equal(j.json.close.code, 1006)
    assert.equal(j.json.close.wasClean, false)
    assert.equal(j.json.failure.class, 'closed')
  })

  await t.test('nothing listening: exit 4; unknown host: exit 3', async () => {
    const port = fsrv.port
    await fsrv.stop()
    const r = await cli(['probe', `ws://127.0.0.1:${port}/`, '--json'])
    await fsrv.start()
    assert.equal(r.code, 4)
    assert.equal(r.json.failure.kind, 'connection-refused')
    assert.equal(r.json.steps.dns.ok, true)
    const d = await cli(['probe', 'ws://no-such-host.invalid/', '--json'])
    assert.equal(d.code, 3)
    assert.equal(d.json.failure.step, 'dns')
  })

  await t.test('server close 4001 (fault server): the identity explanation', async () => {
    const r = await cli(['probe', fsrv.url('/close/4001?reason=Replaced'), '--listen', '60000', '--json'])
    assert.equal(r.code, 8)
    assert.equal(r.json.close.code, 4001)
    assert.equal(r.json.close.reason, 'Replaced')
    assert.equal(r.json.close.initiatedBy, 'server')
    assert.match(r.json.close.meaning, /same identity/)
  })

  await t.test('watch: a final 4001 stops for good (no kick war), exit 8', async () => {
    const r = await cli(['watch', fsrv.url('/close/4001?reason=Replaced'), '--json'])
    assert.equal(r.code, 8)
    assert.equal(r.json.terminal.kind, 'final-code')
    assert.equal(r.json.terminal.code, 4001)
    assert.ok(r.json.events.some((e) => e.type === 'close' && e.code === 4001))
    assert.ok(!r.json.events.some((e) => e.type === 'reconnecting'))
  })
})

test('probe over TLS: untrusted certificate explained, trusted with --ca', async (t) => {
  const pki = makeTestPki()
  const fsrv = await startFaultServer({ tls: { cert: pki.certPem, key: pki.keyPem } })
  t.after(() => fsrv.stop())
  const url = fsrv.url('/echo', { host: 'localhost' })

  await t.test('untrusted: exit 5, why, and the refused certificate', async () => {
    const r = await cli(['probe', url, '--json'], { env: { NODE_EXTRA_CA_CERTS: null } })
    assert.equal(r.code, 5, r.stdout + r.stderr)
    assert.equal(r.json.failure.step, 'tls')
    assert.match(r.json.steps.tls.error, /unknown issuer/)
    assert.match(r.json.steps.tls.certificate.subject, /CN=localhost/)
    assert.match(r.json.steps.tls.certificate.issuer, /CN=clawsock test CA/)
    assert.ok(r.json.steps.tls.certificate.daysLeft >= 0)
    const text = await cli(['probe', url], { env: { NODE_EXTRA_CA_CERTS: null } })
    assert.equal(text.code, 5)
    assert.match(text.stdout, /TLS +FAILED .*unknown issuer.*pass --ca <file>/)
    assert.match(text.stdout, /certificate: CN=localhost; issued by CN=clawsock test CA/)
    assert.match(text.stdout, /valid until \d{4}-\d\d-\d\d \(\d+ days left\)/)
  })

  await t.test('with --ca: TLS version, verified, exit 0', async () => {
    const r = await cli(['probe', url, '--ca', pki.caPath, '--send', 'x', '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json.steps.tls.ok, true)
    assert.equal(r.json.steps.tls.verified, true)
    assert.match(r.json.steps.tls.version, /TLS/)
    assert.match(r.json.steps.tls.certificate.subjectAltName, /DNS:localhost/)
  })
})

const botcivReady = fs.existsSync(path.join(ROOT, '.cache', 'py-uvicorn-new', 'bin', 'python')) || process.env.CLAWSOCK_PY_NEW
test('probe against bot_civ (Starlette): chat echo, and the 4001 takeover', { skip: !botcivReady && 'run scripts/setup-python.sh' }, async (t) => {
  const { startBotciv } = require('./harness/botciv')
  const srv = await startBotciv()
  t.after(() => srv.stop())

  await t.test('chat_message round trip, exit 0', async () => {
    const msg = JSON.stringify({ type: 'chat_message', content: 'hi' })
    const r = await cli(['probe', `${srv.url}/ws/cli-echo`, '--send', msg, '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const reply = JSON.parse(r.json.messages.find((m) => m.direction === 'received').data)
    assert.equal(reply.content, 'hi')
    assert.equal(r.json.close.code, 1000)
  })

  for (const mode of ['text', 'json']) {
    await t.test(`another client takes the identity: 4001 explained (${mode}), exit 8`, async () => {
      const agent = `cli-takeover-${mode}`
      const args = ['probe', `${srv.url}/ws/${agent}`, '--listen', '120000']
      if (mode === 'json') args.push('--json')
      const probe = cli(args)
      await srv.waitFor(agent, { open: 1 })
      const other = new WebSocket(`${srv.url}/ws/${agent}`)
      const otherOpen = once(other, 'open')
      const r = await probe
      await otherOpen
      other.close()
      await once(other, 'close')
      assert.equal(r.code, 8, r.stdout + r.stderr)
      if (mode === 'json') {
        assert.equal(r.json.close.code, 4001)
        assert.equal(r.json.close.reason, 'Replaced')
        assert.match(r.json.close.nextStep, /same identity/)
        assert.match(r.json.failure.message, /often: replaced by another connection with the same identity/)
      } else {
        assert.match(r.stdout, /close +4001 "Replaced" \(closed by the server/)
        assert.match(r.stdout, /meaning: application-defined; often: replaced by another connection with the same identity/)
        assert.match(r.stdout, /next step: another client is probably connected with the same identity/)
      }
    })
  }
})

let openclaw = null
try {
  openclaw = require('./harness/openclaw.js')
} catch {
  openclaw = null
}
const openclawReady = openclaw && fs.existsSync(path.join(ROOT, '.cache', 'openclaw', 'node_modules', 'openclaw', 'openclaw.mjs'))

test('gateway commands against the real OpenClaw gateway', { skip: !openclawReady && 'run scripts/setup-openclaw.sh', timeout: 300_000 }, async (t) => {
  // Manual pairing, so that a device identity gets PAIRING_REQUIRED.
  const gw = await openclaw.startGateway({ config: { gateway: { nodes: { pairing: { autoApproveLocal: false } } } } })
  t.after(() => (gw.dispose ? gw.dispose() : gw.stop()))
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-cli-'))
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

  await t.test('handshake: version, protocol, scopes, methods, policy; the token never shows', async () => {
    const r = await cli(['gateway', gw.url, '--token', gw.token, '--json'], { env: { CLAWSOCK_LOG: 'trace' } })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const h = r.json.hello
    assert.match(h.serverVersion, /^\d{4}\./)
    assert.equal(typeof h.protocol, 'number')
    assert.ok(h.auth.scopes.includes('operator.read'))
    assert.ok(h.methods > 0 && h.events > 0)
    assert.ok(h.policy.tickIntervalMs > 0)
    assert.match(r.stderr, /transport: connected/)
    assertNoSecret(r, gw.token)
    const text = await cli(['gateway', gw.url], { env: { OPENCLAW_GATEWAY_TOKEN: gw.token } })
    assert.equal(text.code, 0)
    assert.match(text.stdout, /scopes granted: operator\.read/)
    assert.match(text.stdout, /features: \d+ methods, \d+ events/)
    assertNoSecret(text, gw.token)
  })

  await t.test('wrong token: AUTH_TOKEN_MISMATCH and what to do, exit 9', async () => {
    const wrong = `${gw.token.slice(0, -6)}000000`
    const r = await cli(['gateway', gw.url, '--token', wrong, '--json'], { env: { CLAWSOCK_LOG: 'debug' } })
    assert.equal(r.code, 9, r.stdout + r.stderr)
    assert.equal(r.json.failure.detailCode, 'AUTH_TOKEN_MISMATCH')
    assert.match(r.json.failure.nextStep, /token is wrong/)
    assertNoSecret(r, wrong)
    assertNoSecret(r, gw.token)
  })

  await t.test('pairing required: the approve command with the request id, exit 9', async () => {
    const r = await cli(['gateway', gw.url, '--token', gw.token, '--identity', path.join(tmp, 'device.key'), '--client', 'test', '--mode', 'test'])
    assert.equal(r.code, 9, r.stdout + r.stderr)
    assert.match(r.stdout, /details\.code: PAIRING_REQUIRED/)
    assert.match(r.stdout, /next step: pairing required.*run `openclaw devices approve [0-9a-f-]+` on the gateway host/)
    assertNoSecret(r, gw.token)
  })

  await t.test('gateway call: health works (exit 0); a refused method exits 10', async () => {
    const ok = await cli(['gateway', 'call', gw.url, 'health', '{}', '--token', gw.token, '--json'])
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    assert.equal(ok.json.result.ok, true)
    const bad = await cli(['gateway', 'call', gw.url, 'no.such.method', '--token', gw.token, '--json'])
    assert.equal(bad.code, 10)
    assert.equal(bad.json.failure.class, 'gateway-request')
    assert.ok(bad.json.failure.code)
  })

  await t.test('watch --gateway with a wrong token pauses with the next step, exit 9', async () => {
    const r = await cli(['watch', gw.url, '--gateway', '--json'], { env: { OPENCLAW_GATEWAY_TOKEN: 'wrong-token-123456' } })
    assert.equal(r.code, 9)
    assert.equal(r.json.terminal.kind, 'paused')
    assert.equal(r.json.terminal.detailCode, 'AUTH_TOKEN_MISMATCH')
    assert.ok(r.json.events.some((e) => e.type === 'disconnect' && e.code === 1008))
  })
})
