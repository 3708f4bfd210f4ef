'use strict'
// RFC 6455 conformance, Autobahn-style: the cases in __test__/conformance/
// (sections 1-7 and 9 of the Autobahn TestSuite, scaled down, and the 101
// response in small pieces), played by our own raw-TCP server against
// clawsock and against `ws` (the control, which passes the real Autobahn
// TestSuite). The bar: clawsock has no FAIL, and no more NON-STRICT results
// than ws. `node __test__/conformance/run.js --table` prints the table.

const test = require('node:test')
const assert = require('node:assert')
const WS = require('ws')
const { runSuite, wire } = require('./conformance/run.js')

const failures = (results) => results.filter((r) => r.result === 'FAIL').map((r) => `${r.id} ${r.desc}: ${r.why}`)
const nonStrict = (results) => results.filter((r) => r.result === 'NON-STRICT').map((r) => r.id)

test('clawsock passes the conformance cases: no FAIL, no more NON-STRICT than ws', async () => {
  const ws = await runSuite('ws')
  const clawsock = await runSuite('clawsock')
  assert.strictEqual(clawsock.length, ws.length)
  assert.ok(clawsock.length >= 250, `only ${clawsock.length} cases ran`)
  assert.deepStrictEqual(failures(ws), [], 'the control client fails cases: the expectations are wrong')
  assert.deepStrictEqual(failures(clawsock), [])
  assert.ok(
    nonStrict(clawsock).length <= nonStrict(ws).length,
    `clawsock NON-STRICT ${nonStrict(clawsock)} vs ws ${nonStrict(ws)}`,
  )
})

test('the judge fails a client that answers wrongly', async () => {
  // Echoes text as binary: the echo cases fail and say why.
  const binaryEcho = (url) => {
    const ws = new WS(url)
    ws.on('message', (data) => ws.send(data, { binary: true }))
    return wire(ws)
  }
  const [echo] = await runSuite(binaryEcho, { filter: '1.1.2' })
  assert.strictEqual(echo.result, 'FAIL')
  assert.match(echo.why, /got \[binary .*expected \[text/)
  // Answers every close with 1001 (it closes as soon as it is open; the
  // server's close frame, sent right after the 101, comes first): a wrong
  // code, except where the server itself sent 1001 (7.7.2).
  const closesWith1001 = (url) => {
    const ws = new WS(url)
    ws.on('open', () => ws.close(1001))
    return wire(ws)
  }
  const closes = await runSuite(closesWith1001, { filter: '7.7' })
  assert.ok(closes.length > 10)
  for (const r of closes) assert.strictEqual(r.result, r.id === '7.7.2' ? 'PASS' : 'FAIL', `${r.id}: ${r.why}`)
  assert.match(closes[0].why, /closed with 1001, not 1000/)
})
