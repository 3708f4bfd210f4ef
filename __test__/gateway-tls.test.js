'use strict'
// GatewayClient parity with the reference client's transport (anchor §1.9):
// tlsFingerprint pinning against a wss:// fixture gateway with a certificate
// no CA store trusts, extra upgrade headers and origin, and the rule that
// refuses plaintext ws:// to a public host.

const test = require('node:test')
const assert = require('node:assert/strict')
const { X509Certificate } = require('node:crypto')
const { GatewayClient } = require('..')
const { startFixtureGateway } = require('./harness/fixture-gateway')
const { makeTestPki } = require('./harness/tls')
const { gatewayOptions } = require('../lib/options.js')
const path = require('node:path')
const { ROOT, runProcess } = require('./helpers')

const TOKEN = 'fixture-token-tls'

function closed(client) {
  return new Promise((resolve) => client.once('close', resolve))
}

async function withTlsFixture(fn) {
  const pki = makeTestPki()
  const fx = await startFixtureGateway({ inProcess: true, token: TOKEN, tls: { cert: pki.certPem, key: pki.keyPem } })
  try {
    // The reference's format: Node's fingerprint256 of the leaf (colon-separated upper-case hex).
    await fn(fx, new X509Certificate(pki.certPem).fingerprint256)
  } finally {
    await fx.stop()
  }
}

test('tlsFingerprint: the pinned certificate is accepted without any CA; headers and origin reach the gateway', async () => {
  await withTlsFixture(async (fx, fingerprint) => {
    assert.match(fx.url, /^wss:\/\//)
    const c = new GatewayClient({
      url: fx.url,
      token: TOKEN,
      tlsFingerprint: `sha256:${fingerprint.toLowerCase()}`,
      headers: { 'CF-Access-Client-Id': 'id.access', 'CF-Access-Client-Secret': 'edge-secret' },
      origin: 'https://control.example',
    })
    try {
      const hello = await c.ready()
      assert.equal(hello.type, 'hello-ok')
      assert.deepEqual(await c.request('echo', { over: 'tls' }), { over: 'tls' })
      const [conn] = await fx.connections()
      assert.equal(conn.headers.origin, 'https://control.example')
      assert.equal(conn.requestHeaders['cf-access-client-id'], 'id.access')
      assert.equal(conn.requestHeaders['cf-access-client-secret'], 'edge-secret')
    } finally {
      await c.close()
    }
  })
})

test('tlsFingerprint: a mismatch stops before the upgrade (no header or token sent), final, with both fingerprints', async () => {
  await withTlsFixture(async (fx, fingerprint) => {
    const wrong = fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00')
    const c = new GatewayClient({ url: fx.url, token: TOKEN, tlsFingerprint: wrong, reconnect: { initialDelay: 10, maxDelay: 20 } })
    const errors = []
    c.on('error', (e) => errors.push(e))
    const end = await closed(c)
    assert.equal(end.kind, 'handshake-rejected')
    assert.match(end.message, /gateway tls fingerprint mismatch: the server's certificate has SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}, but tlsFingerprint pins/)
    assert.ok(end.message.includes(fingerprint), 'names the certificate the server presented')
    assert.equal(errors.length, 1, 'one attempt, never retried')
    assert.deepEqual(await fx.connections(), [], 'the gateway never saw an upgrade request')
  })
})

test('without a pin or CA the self-signed gateway is refused (the pin is what makes it work)', async () => {
  await withTlsFixture(async (fx) => {
    const c = new GatewayClient({ url: fx.url, token: TOKEN })
    c.on('error', () => {})
    const end = await closed(c)
    assert.equal(end.kind, 'handshake-rejected')
    assert.match(end.message, /unknown issuer/)
  })
})

test('tlsFingerprint and the plaintext rule: configuration errors, never a connection', () => {
  const bad = (opts, re) => assert.throws(() => new GatewayClient(opts), (e) => e instanceof TypeError && re.test(e.message))
  bad({ url: 'ws://127.0.0.1:18789', tlsFingerprint: 'ab'.repeat(32) }, /'tlsFingerprint' needs a wss:\/\/ URL/)
  bad({ url: 'wss://gw.example', tlsFingerprint: 'abc' }, /'tlsFingerprint' must be the SHA-256 of the gateway's certificate: 64 hex digits/)
  bad({ url: 'ws://203.0.113.7:18789' }, /SECURITY ERROR: Cannot connect to 203\.0\.113\.7:18789 over plaintext ws:\/\/.*allowPlaintext: true/)
  bad({ url: 'ws://gateway.example.com' }, /SECURITY ERROR/)
  bad({ url: 'wss://gw.example', allowPlaintext: 'yes' }, /'allowPlaintext' must be a boolean/)
  bad({ url: 'wss://gw.example', headers: () => ({}) }, /'headers' must be an object of name: value pairs/)
  bad({ url: 'wss://gw.example', edgeAuthHeaders: { a: 'b' } }, /'edgeAuthHeaders' cannot be honoured: pass them as `headers`/)
})

// Checked with the options alone: constructing a client would dial, and tests
// send nothing beyond loopback.
test('plaintext: private hosts are allowed as in the reference; allowPlaintext opts out; OPENCLAW_ALLOW_INSECURE_PRIVATE_WS lets host names through', () => {
  const ok = (url, extra) => assert.equal(gatewayOptions({ url, ...extra }).native.url, url)
  for (const url of ['ws://10.1.2.3:1', 'ws://192.168.1.5:1', 'ws://172.20.0.1:1', 'ws://100.64.0.1:1', 'ws://169.254.1.1:1',
    'ws://[fd00::1]:1', 'ws://[fe80::1]:1', 'ws://[::ffff:127.0.0.1]:1', 'ws://box.local:1', 'ws://box.tail1234.ts.net:1', 'ws://localhost:1']) {
    ok(url)
  }
  ok('ws://203.0.113.7:1', { allowPlaintext: true })
  for (const url of ['ws://172.32.0.1:1', 'ws://100.128.0.1:1', 'ws://[2001:db8::1]:1', 'ws://gw.internal:1']) {
    assert.throws(() => gatewayOptions({ url }), /SECURITY ERROR/, url)
  }
  process.env.OPENCLAW_ALLOW_INSECURE_PRIVATE_WS = '1'
  try {
    ok('ws://gw.internal:1')
    assert.throws(() => gatewayOptions({ url: 'ws://203.0.113.7:1' }), /SECURITY ERROR/, 'an IP address must still be private')
  } finally {
    delete process.env.OPENCLAW_ALLOW_INSECURE_PRIVATE_WS
  }
})

test('plaintext: a url function is checked on every attempt; a public host fails that attempt with the security error', async () => {
  const c = new GatewayClient({ url: () => 'ws://203.0.113.7:1', reconnect: false })
  const err = await new Promise((resolve) => c.once('error', resolve))
  assert.match(err.message, /SECURITY ERROR/)
  await c.close()
})

test('CLI: clawsock gateway --tls-fingerprint --header connects to the self-signed gateway; header values are never printed', async () => {
  await withTlsFixture(async (fx, fingerprint) => {
    const bin = path.join(ROOT, 'bin', 'clawsock.js')
    const args = [bin, 'gateway', fx.url, '--token', TOKEN, '--tls-fingerprint', fingerprint, '--header', 'CF-Access-Client-Secret: edge-secret-value', '--json']
    const ok = await runProcess(args, { env: { OPENCLAW_GATEWAY_TOKEN: null } })
    assert.equal(ok.code, 0, ok.stderr + ok.stdout)
    assert.equal(JSON.parse(ok.stdout).ok, true)
    assert.ok(!(ok.stdout + ok.stderr).includes('edge-secret-value'))
    assert.ok(!(ok.stdout + ok.stderr).includes(TOKEN))
    const [conn] = await fx.connections()
    assert.equal(conn.requestHeaders['cf-access-client-secret'], 'edge-secret-value')

    const wrong = await runProcess([bin, 'gateway', fx.url, '--token', TOKEN, '--tls-fingerprint', 'ab'.repeat(32)], { env: { OPENCLAW_GATEWAY_TOKEN: null } })
    assert.equal(wrong.code, 5, 'exit 5: TLS')
    assert.match(wrong.stdout + wrong.stderr, /gateway tls fingerprint mismatch/)
    assert.equal((await fx.connections()).length, 1, 'the mismatched attempt never reached the gateway')
  })
})
