'use strict'
// The verdict on one case, by the Autobahn TestSuite's rules (case/case.py,
// Case.onConnectionLost), from the server's record of the connection, plus
// what the client's JavaScript saw.
//
// Autobahn's two judgements:
// - behaviour: the events the server got back match the case's `ok` list
//   (OK), its `nonStrict` list (NON-STRICT), or neither (FAILED);
// - closing behaviour: the wrong endpoint started the close (FAILED), the
//   closing handshake did not complete where the case requires it
//   (UNCLEAN), the client's close code is not one the case allows (WRONG
//   CODE), or OK.
// The verdict here: FAIL when the behaviour failed, the closing behaviour
// failed or was unclean, a section 7 case got a wrong code (Autobahn turns
// those into failures), the client broke the protocol itself (an unmasked
// frame, a bad upgrade request), the case ran into its bound, or the JS
// events were wrong. NON-STRICT when the behaviour was non-strict or a
// wrong code outside section 7. PASS otherwise.
//
// What JS must see: in a 'clean' case, a close event with the server's code
// (1005 when its close frame had none) and reason, wasClean true (the
// closing handshake completed), and no error event. In a 'fail' case, an
// error event, and a close event with the failure's code (or 1006) whose
// wasClean is true only if the closing handshake really completed.

const { sameEvents } = require('./server.js')

function closeBehaviour(c, p) {
  if (!p.opened) return ['FAILED', 'the opening handshake never completed']
  if (c.close.byMe !== p.closedByMe) return ['FAILED', `the close was started by the ${p.closedByMe ? 'server' : 'client'}, not the ${c.close.byMe ? 'server' : 'client'}`]
  if (c.close.clean && !p.wasClean) return ['UNCLEAN', 'the closing handshake did not complete']
  if (p.remoteCloseCode !== null && !c.close.codes.includes(p.remoteCloseCode)) {
    return ['WRONG CODE', `the client closed with ${p.remoteCloseCode}, not ${c.close.codes.join(' or ')}`]
  }
  return ['OK', '']
}

function jsProblem(c, p, js) {
  if (!js.close) return 'no close event'
  const { code, reason, wasClean } = js.close
  if (c.js === 'clean') {
    if (js.errors.length) return `an error event: ${js.errors[0]}`
    if (!wasClean) return 'wasClean is false after a completed closing handshake'
    const sent = p.sentClose || { code: null, reason: '' }
    const want = sent.code === null ? 1005 : sent.code
    if (code !== want) return `close code ${code}, the server sent ${want}`
    if (reason !== sent.reason) return `close reason ${JSON.stringify(reason)}, the server sent ${JSON.stringify(sent.reason)}`
    return null
  }
  if (!js.errors.length) return `no error event (close ${code} ${JSON.stringify(reason)})`
  if (![...c.close.codes, 1006].includes(code)) return `close code ${code}, not ${[...c.close.codes, 1006].join(' or ')}`
  if (wasClean && !p.wasClean) return 'wasClean is true, yet the closing handshake did not complete'
  return null
}

/** { result: 'PASS' | 'NON-STRICT' | 'FAIL', why } */
function judge(c, p, js) {
  let behaviour = 'FAILED'
  if (sameEvents(p.received, c.ok)) behaviour = 'OK'
  else if (c.nonStrict && sameEvents(p.received, c.nonStrict)) behaviour = 'NON-STRICT'
  const [closing, closingWhy] = closeBehaviour(c, p)
  if (c.close.wrongEndpointFatal && c.close.byMe !== p.closedByMe) behaviour = 'FAILED'
  const js2 = jsProblem(c, p, js)
  const fail = (why) => ({ result: 'FAIL', why })
  if (p.clientError) return fail(p.clientError)
  if (p.timedOut) return fail(`the case never ended (no close from either side): got ${show(p.received)}, expected ${show(c.ok)}`)
  if (behaviour === 'FAILED') return fail(`got ${show(p.received)}, expected ${show(c.ok)}`)
  if (closing === 'FAILED' || closing === 'UNCLEAN') return fail(closingWhy)
  if (closing === 'WRONG CODE' && c.section === 7) return fail(closingWhy)
  if (js2) return fail(`JS: ${js2}`)
  if (behaviour === 'NON-STRICT') return { result: 'NON-STRICT', why: `got ${show(p.received)}, the strict answer is ${show(c.ok)}` }
  if (closing === 'WRONG CODE') return { result: 'NON-STRICT', why: closingWhy }
  return { result: 'PASS', why: '' }
}

/** Events, short: large payloads by length and sha256 prefix. */
function show(events) {
  const { sha256 } = require('./wire.js')
  const one = (e) => {
    if (e[0] === 'timeout') return `wait ${e[1]} passed`
    const b = Buffer.from(e[1])
    const body = b.length > 40 ? `${b.length} bytes sha256:${sha256(b).slice(0, 12)}` : JSON.stringify(b.toString('latin1'))
    return e[0] === 'message' ? `${e[2] ? 'binary' : 'text'} ${body}` : `${e[0]} ${body}`
  }
  return events.length > 6 ? `[${events.slice(0, 3).map(one).join(', ')}, … ${events.length} events]` : `[${events.map(one).join(', ')}]`
}

module.exports = { judge }
