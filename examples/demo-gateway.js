'use strict'
// Part 2 of the demo: the OpenClaw gateway, end to end.
// Uses a real local gateway (installed into .cache/ by scripts/setup-openclaw.sh)
// unless --url/--token name an existing one.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { GatewayClient, DeviceIdentity } = require('..')

function waitFor(client, event, predicate = () => true) {
  return new Promise((resolve) => {
    const fn = (...args) => {
      if (!predicate(...args)) return
      client.off(event, fn)
      resolve(args)
    }
    client.on(event, fn)
  })
}

async function run({ url, token, say }) {
  say('== 2. The OpenClaw gateway')
  let gateway = null
  if (!url) {
    const { startGateway } = require('../__test__/harness/openclaw')
    say('Starting a real OpenClaw gateway on loopback (openclaw@2026.9.6 on Node 24; about 10-20 s)...')
    gateway = await startGateway()
    url = gateway.url
    token = gateway.token
    say(`  gateway ready on ${url} after ${(gateway.startupMs / 1000).toFixed(1)} s`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-demo-'))
  const identity = DeviceIdentity.generate()
  identity.save(path.join(dir, 'device.json'))
  say(`  fresh device identity ${identity.deviceId.slice(0, 16)}… (key file mode 0600, never printed)`)

  const client = new GatewayClient({
    url,
    token,
    identity,
    clientName: 'cli',
    mode: 'cli',
    scopes: ['operator.read', 'operator.write'],
    tokenStorePath: path.join(dir, 'device-tokens.json'),
    reconnect: { initialDelay: 250, maxDelay: 2000 },
  })
  client.on('reconnecting', (r) => r.attempt <= 3 && say(`  reconnecting in ${Math.round(r.delay)} ms (attempt ${r.attempt})${r.attempt === 3 ? ' …' : ''}`))
  client.on('disconnect', (d) => say(`  disconnected: ${d.code} ${d.reason || ''}`))
  client.on('paused', (p) => say(`  paused: ${p.detailCode}: ${p.nextStep}`))
  try {
    const hello = await client.ready()
    const methods = (hello.features && hello.features.methods) || []
    const events = (hello.features && hello.features.events) || []
    say(`  hello-ok: server ${hello.server && hello.server.version}, protocol ${hello.protocol}, ${methods.length} methods, ${events.length} events`)
    say(`  scopes granted: ${(hello.auth && hello.auth.scopes || []).join(', ')}; auth method: ${hello.auth && hello.auth.method}`)
    const p = hello.policy || {}
    say(`  policy: maxPayload ${p.maxPayload} B, tick every ${p.tickIntervalMs} ms`)
    say(`  device token issued: ${hello.auth && hello.auth.deviceTokenIssued ? 'yes (kept out of JS; stored keyed by gateway URL + device + role)' : 'no'}`)

    const started = process.hrtime.bigint()
    const health = await client.request('health')
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    say(`  health: ok=${health && health.ok !== false} in ${ms.toFixed(1)} ms`)

    say(`  waiting for a tick (the gateway sends one every ${(p.tickIntervalMs || 30000) / 1000} s)...`)
    const [tick, frame] = await waitFor(client, 'tick')
    say(`  tick: seq ${frame && frame.seq}, ts ${tick && tick.ts}`)

    if (gateway) {
      say('  restarting the gateway...')
      let attempts = 0
      const onRetry = () => attempts++
      client.on('reconnecting', onRetry)
      const back = waitFor(client, 'state', (s) => s === 'ready')
      await gateway.restart()
      await back
      client.off('reconnecting', onRetry)
      say(`  back after ${attempts} attempts while the gateway restarted`)
      const again = await client.request('health')
      say(`  reconnected and re-handshook by itself (fresh challenge, fresh signature); health ok=${again && again.ok !== false}`)
    }
  } finally {
    client.close()
    if (gateway) await gateway.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

module.exports = { run }
