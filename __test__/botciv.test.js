'use strict'
// The incident's server shape: FastAPI/Starlette under uvicorn, before and
// after uvicorn 0.52.1. Older uvicorn closes TCP right after its close frame
// (the client's reply then meets a reset); Node's built-in WebSocket reports
// 1006 there and loses the last messages (see __test__/peers/selftest.js).
// clawsock reads the socket eagerly on its own thread, so it reports the
// server's code and keeps every message with both versions.

const test = require('node:test')
const assert = require('node:assert/strict')
const { WebSocket } = require('..')
const { startBotciv } = require('./harness/botciv')
const { once } = require('./helpers')

for (const uvicorn of ['new', 'old']) {
  test(`bot_civ under uvicorn ${uvicorn}`, async (t) => {
    const srv = await startBotciv({ uvicorn })
    t.after(() => srv.stop())

    await t.test('chat_message echo', async () => {
      const ws = new WebSocket(`${srv.url}/ws/echo-${uvicorn}`)
      ws.onopen = () => ws.send(JSON.stringify({ type: 'chat_message', content: 'hi' }))
      const reply = JSON.parse((await once(ws, 'message')).data)
      assert.equal(reply.type, 'chat_message')
      assert.equal(reply.content, 'hi')
      assert.equal(reply.echo, true)
      ws.close()
      await once(ws, 'close')
    })

    await t.test('messages sent right before the server closes all arrive, with the server code', async () => {
      const ws = new WebSocket(`${srv.url}/ws/bye-${uvicorn}?mode=goodbye&n=3`)
      const got = []
      ws.onmessage = (e) => got.push(JSON.parse(e.data).content)
      const close = await once(ws, 'close')
      assert.deepEqual(got, ['goodbye 0', 'goodbye 1', 'goodbye 2'])
      assert.equal(close.code, 1000)
      assert.equal(close.reason, 'goodbye')
    })

    await t.test('a second client with the same agent id: the first gets 4001 "Replaced"', async () => {
      const agent = `dup-${uvicorn}`
      const a = new WebSocket(`${srv.url}/ws/${agent}`)
      await once(a, 'open')
      const b = new WebSocket(`${srv.url}/ws/${agent}`)
      const bOpen = once(b, 'open')
      const close = await once(a, 'close')
      assert.equal(close.code, 4001)
      assert.equal(close.reason, 'Replaced')
      await bOpen
      const stats = await srv.waitFor(agent, { accepted: 2, open: 1 })
      assert.equal(stats.accepted, 2)
      b.close()
      await once(b, 'close')
    })
  })
}
