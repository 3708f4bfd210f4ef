'use strict'
// The clawsock demo: the incident, replayed against real peers on loopback.
//
//   1. A bot_civ-shaped FastAPI server under uvicorn. Two clients connect with
//      the same agent id; the server kicks the first with 4001 "Replaced".
//      With clawsock's ReconnectingWebSocket that ends in one clear line, not
//      a reconnect loop.
//   2. A real OpenClaw gateway (installed into .cache/ on first run), or the
//      one you name with --url/--token: handshake with a fresh device
//      identity, the hello summary, a `health` call, a tick, a gateway
//      restart and the automatic reconnect.
//
// Run it with `npm run demo` (that installs and builds what it needs).

const path = require('node:path')
const { WebSocket, ReconnectingWebSocket } = require('..')
const { startBotciv } = require('../__test__/harness/botciv')

const args = process.argv.slice(2)
const arg = (name) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

const say = (line = '') => console.log(line)
const once = (target, type) => new Promise((resolve) => target.addEventListener(type, resolve, { once: true }))

async function botcivTakeover() {
  say('== 1. Two clients, one identity (the bot_civ incident)')
  const srv = await startBotciv({ uvicorn: 'new' })
  try {
    say(`Started a FastAPI/uvicorn ${srv.uvicornVersion || ''} server on ${srv.url}: one connection per agent id.`)
    const a = new ReconnectingWebSocket(`${srv.url}/ws/1`, { reconnect: { initialDelay: 200 } })
    a.onclose = (e) => say(`  client A: the server closed the connection: ${e.code} "${e.reason}"`)
    a.onreconnecting = (e) => say(`  client A: reconnecting in ${Math.round(e.delay)} ms (attempt ${e.attempt})`)
    await once(a, 'open')
    say('  client A: connected as agent 1')
    a.send(JSON.stringify({ type: 'chat_message', content: 'hello from A' }))
    say(`  client A: server echoed ${(await once(a, 'message')).data}`)

    say('  client B: connecting as agent 1 too (like the forgotten oc_bot.py)...')
    const terminal = once(a, 'terminal')
    const b = new WebSocket(`${srv.url}/ws/1`)
    await once(b, 'open')
    const t = await terminal
    say(`  client A stopped: ${t.message}`)
    b.send(JSON.stringify({ type: 'chat_message', content: 'hello from B' }))
    await once(b, 'message')
    const stats = await srv.waitFor('1', { accepted: 2, open: 1 })
    say(`  server: ${stats.accepted} connections for agent 1 in total, ${stats.open} open. No kick war.`)
    b.close()
    await once(b, 'close')
  } finally {
    await srv.stop()
  }
}

async function main() {
  await botcivTakeover()
  const gatewayDemo = path.join(__dirname, 'demo-gateway.js')
  if (require('node:fs').existsSync(gatewayDemo)) {
    say()
    await require(gatewayDemo).run({ url: arg('--url'), token: arg('--token'), say })
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err && err.stack ? err.stack : err}`)
  process.exitCode = 1
})
