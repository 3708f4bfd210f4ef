'use strict'
// Happy Eyeballs (RFC 8305) against real sockets: a private network
// namespace (harness/netns.js) whose /etc/hosts gives `he-both` both
// loopback addresses, ::1 then 127.0.0.1 (or 127.0.0.1 first, through a
// gai.conf), and nftables rules that drop the SYNs to one of them. A child
// process in the namespace runs a ws server on the live addresses and one
// clawsock WebSocket (harness/dial-child.js); the server reports which
// address the connection came in on. Assertions are on what opened, which
// address won and what the error names; never on elapsed time.

const test = require('node:test')
const assert = require('node:assert/strict')
const { createNetns, unavailable } = require('./harness/netns.js')

const PORT = 4000
const HOSTS = ['::1 he-both', '127.0.0.1 he-both']
const DROP_V6 = `ip6 daddr ::1 tcp dport ${PORT} drop`
const DROP_V4 = `ip daddr 127.0.0.1 tcp dport ${PORT} drop`
const skip = unavailable()

async function dial(ns, { serve = [], options = {}, url = `ws://he-both:${PORT}/` } = {}) {
  const spec = { url, options, serve: { hosts: serve, port: PORT } }
  const r = await ns.node(['__test__/harness/dial-child.js'], { CLAWSOCK_TEST_DIAL: JSON.stringify(spec) })
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

async function inNetns(opts, fn) {
  const ns = createNetns({ hosts: HOSTS, ...opts })
  try {
    await fn(ns)
  } finally {
    ns.destroy()
  }
}

test('Happy Eyeballs in a private namespace', { skip: skip ? `skipped: ${skip}` : false }, async (t) => {
  await t.test('::1 first and blackholed: opens on 127.0.0.1 (default options)', () =>
    inNetns({ nft: [DROP_V6] }, async (ns) => {
      // A handshakeTimeout far longer than the test: without Happy Eyeballs
      // the dial would sit on ::1 until it runs out and never open.
      const r = await dial(ns, { serve: ['127.0.0.1', '::1'], options: { handshakeTimeout: 60_000 } })
      assert.equal(r.opened, true, JSON.stringify(r))
      assert.deepEqual(r.serverSaw, ['127.0.0.1'])
    }))

  await t.test('127.0.0.1 first and blackholed: opens on ::1', () =>
    inNetns({ nft: [DROP_V4], ipv4First: true }, async (ns) => {
      const r = await dial(ns, { serve: ['127.0.0.1', '::1'], options: { handshakeTimeout: 60_000 } })
      assert.equal(r.opened, true, JSON.stringify(r))
      assert.deepEqual(r.serverSaw, ['::1'])
    }))

  await t.test('::1 refused (RST), 127.0.0.1 alive: opens on 127.0.0.1', () =>
    inNetns({}, async (ns) => {
      const r = await dial(ns, { serve: ['127.0.0.1'], options: { autoSelectFamilyAttemptTimeout: 3_600_000, handshakeTimeout: 60_000 } })
      assert.equal(r.opened, true, JSON.stringify(r))
      assert.deepEqual(r.serverSaw, ['127.0.0.1'])
    }))

  await t.test('::1 refused and 127.0.0.1 dropped: the error names both and what happened to each', () =>
    inNetns({ nft: [DROP_V4] }, async (ns) => {
      const r = await dial(ns, { options: { handshakeTimeout: 1500 } })
      assert.equal(r.opened, false)
      assert.equal(r.code, 'CLAWSOCK_TIMEOUT', r.error)
      assert.match(r.error, /\[::1\]:4000: connection refused/)
      assert.match(r.error, /127\.0\.0\.1:4000: no answer/)
    }))

  await t.test('every address blackholed: the error names each', () =>
    inNetns({ nft: [DROP_V4, DROP_V6] }, async (ns) => {
      const r = await dial(ns, { serve: ['127.0.0.1', '::1'], options: { handshakeTimeout: 1500 } })
      assert.equal(r.opened, false)
      assert.equal(r.code, 'CLAWSOCK_TIMEOUT', r.error)
      assert.match(r.error, /\[::1\]:4000: no answer/)
      assert.match(r.error, /127\.0\.0\.1:4000: no answer/)
      assert.deepEqual(r.serverSaw, [])
    }))

  await t.test('autoSelectFamily: false waits on the first address (127.0.0.1 never tried)', () =>
    inNetns({ nft: [DROP_V6] }, async (ns) => {
      const r = await dial(ns, { serve: ['127.0.0.1', '::1'], options: { autoSelectFamily: false, handshakeTimeout: 1500 } })
      assert.equal(r.opened, false)
      assert.match(r.error, /\[::1\]:4000: no answer; 127\.0\.0\.1:4000: not tried/)
      assert.deepEqual(r.serverSaw, [])
    }))

  await t.test('family: 6 keeps IPv6 only; family: 4 IPv4 only', () =>
    inNetns({ nft: [DROP_V6] }, async (ns) => {
      const six = await dial(ns, { serve: ['127.0.0.1', '::1'], options: { family: 6, handshakeTimeout: 1500 } })
      assert.equal(six.opened, false)
      assert.match(six.error, /\[::1\]:4000: no answer\)?$/)
      assert.doesNotMatch(six.error, /127\.0\.0\.1/)
      const four = await dial(ns, { serve: ['127.0.0.1', '::1'], options: { family: 4, autoSelectFamily: false, handshakeTimeout: 60_000 } })
      assert.equal(four.opened, true, JSON.stringify(four))
      assert.deepEqual(four.serverSaw, ['127.0.0.1'])
    }))
})
