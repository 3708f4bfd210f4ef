'use strict';
// Self-test of the loopback peers (not of clawsock): proves that botciv_server.py and
// fault-server.js behave as the clawsock tests assume.
//
//   bash scripts/setup-python.sh && node --test __test__/peers/selftest.js
//
// Needs ws@8 (devDependency). Clients used here: the `ws` library, raw TCP sockets, and
// Node's built-in WebSocket (undici) in a child `node --experimental-websocket` process
// (Node 20 has the global only behind that flag; Node 22+ has it by default).

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const http = require('node:http');
const crypto = require('node:crypto');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const WebSocket = require('ws');

const { startBotciv, pythonFor } = require('../harness/botciv');
const { startFaultServer } = require('../harness/fault');
const { makeTestPki } = require('../harness/tls');

const haveVenv = (w) => fs.existsSync(pythonFor(w));
const skipPy = !haveVenv('new') || !haveVenv('old') ? 'run scripts/setup-python.sh first' : false;

// ---------- small client helpers ----------

// Opens a ws client and records everything; `next()` resolves the next message, `closed`
// resolves { code, reason } when the socket is closed.
function client(url, opts = {}) {
  const ws = new WebSocket(url, opts.protocols, { handshakeTimeout: 20_000, ...opts.ws });
  const queue = [];
  const waiting = [];
  ws.on('message', (data, isBinary) => {
    const m = { data: isBinary ? Buffer.from(data) : data.toString('utf8'), isBinary };
    const w = waiting.shift();
    if (w) w(m); else queue.push(m);
  });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
    });
  });
  opened.catch(() => {});
  const errors = [];
  ws.on('error', (e) => errors.push(e));
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
  return {
    ws,
    opened,
    closed,
    errors,
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r))),
    nextJson: async function () { return JSON.parse((await this.next()).data); },
    send: (d, o) => new Promise((res, rej) => ws.send(d, o || {}, (e) => (e ? rej(e) : res()))),
  };
}

// Raw TCP: upgrade to `path`, read until the server's close frame, and report how the
// server ended the TCP connection:
//   reply: true  -> answer with a masked close 1000 at once. 'clean' = the server's FIN came
//                   only after our reply (closing handshake completed; new uvicorn, always).
//                   Old uvicorn gives 'RST' or 'FIN-before-close-reply' or, when our reply
//                   left before its FIN arrived and the RST lost the race with our own
//                   shutdown, 'clean': racy, so only the `reply: false` form is asserted.
//   reply: false -> never answer. 'FIN-before-close-reply' = the server shut the TCP
//                   connection without waiting for our close (old uvicorn, at once; new
//                   uvicorn only after its 10 s fallback, which this probe is not used on).
function rawCloseProbe(port, path, { reply = true } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let buf = Buffer.alloc(0);
    let repliedClose = false;
    let headerDone = false;
    let finBeforeReply = false;
    s.on('connect', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!headerDone) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        headerDone = true;
        buf = buf.subarray(i + 4);
      }
      // walk unmasked server frames
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        if (buf.length < off + len) return;
        const opcode = buf[0] & 0x0f;
        buf = buf.subarray(off + len);
        if (opcode === 0x8 && reply && !repliedClose) {
          repliedClose = true;
          const mask = crypto.randomBytes(4);
          const p = Buffer.from([0x03, 0xe8]).map((b, k) => b ^ mask[k % 4]);
          s.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, p]));
          if (s.readableEnded) finBeforeReply = true;
        }
      }
    });
    s.on('end', () => {
      if (!repliedClose) finBeforeReply = true;
      s.end();
    });
    s.on('error', (e) => (e.code === 'ECONNRESET' ? resolve('RST') : reject(e)));
    s.on('close', () => resolve(finBeforeReply ? 'FIN-before-close-reply' : 'clean'));
  });
}

// Node's built-in WebSocket (undici) in a child process; prints what it saw at close.
function nativeProbe(url) {
  const script = `
    const ws = new WebSocket(${JSON.stringify(url)});
    const got = [];
    ws.onmessage = (e) => got.push(JSON.parse(e.data));
    ws.onerror = () => {};
    ws.onclose = (e) => console.log(JSON.stringify({ code: e.code, reason: e.reason, wasClean: e.wasClean,
      got: got.length, lastArrived: got.some((m) => m.last) }));`;
  const args = typeof globalThis.WebSocket === 'function' || Number(process.versions.node.split('.')[0]) >= 22
    ? ['-e', script] : ['--experimental-websocket', '-e', script];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
  });
}

function httpUpgradeStatus(url) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64') },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('upgrade', (res, sock) => { sock.destroy(); resolve({ status: res.statusCode, body: '' }); });
    req.on('error', reject);
    req.end();
  });
}

// ---------- botciv ----------

test('botciv (uvicorn new): echo, 4001 takeover, /stats, closeAgent, restart on same port', { skip: skipPy }, async (t) => {
  const srv = await startBotciv({ uvicorn: 'new' });
  t.after(() => srv.stop());
  t.diagnostic(`uvicorn ${srv.uvicornVersion} ws=${srv.wsImpl} at ${srv.url}`);

  const a = client(`${srv.url}/ws/1`);
  await a.opened;
  await a.send(JSON.stringify({ type: 'chat_message', content: 'hello' }));
  const echo = await a.nextJson();
  assert.deepEqual(echo, { type: 'chat_message', content: 'hello', echo: true, seq: 1 });

  const b = client(`${srv.url}/ws/1`);
  await b.opened;
  assert.deepEqual(await a.closed, { code: 4001, reason: 'Replaced' });
  const st = await srv.waitFor('1', { accepted: 2, open: 1, closes: 1 });
  assert.equal(st.accepted, 2);
  assert.equal(st.open, 1);
  assert.deepEqual(st.messages, [{ type: 'chat_message', content: 'hello' }]);
  assert.deepEqual(st.closes, [{ conn: 1, code: 4001, by: 'server' }]);
  const all = await srv.stats();
  assert.deepEqual(all.agents['1'], st);

  await b.send(JSON.stringify({ type: 'chat_message', content: 'second' }));
  assert.equal((await b.nextJson()).seq, 2);
  const r = await srv.closeAgent('1', 4000, 'bye from test');
  assert.equal(r.closed, true);
  assert.deepEqual(await b.closed, { code: 4000, reason: 'bye from test' });
  assert.equal((await srv.closeAgent('nobody', 4000, 'x')).status, 404);

  // server restart: an open client sees 1012 (uvicorn graceful shutdown), a new one connects
  const c = client(`${srv.url}/ws/2`);
  await c.opened;
  const oldPid = srv.pid;
  await srv.restart();
  assert.notEqual(srv.pid, oldPid);
  assert.equal((await c.closed).code, 1012);
  const d = client(`${srv.url}/ws/2`);
  await d.opened;
  const st2 = await srv.waitFor('2', { accepted: 1, open: 1 });
  assert.equal(st2.accepted, 1, 'stats start fresh after a restart');
  d.ws.close(1000);
  assert.equal((await d.closed).code, 1000);
  await srv.waitFor('2', { open: 0 });
});

test('botciv old vs new: old uvicorn drops the TCP connection right after its close frame', { skip: skipPy }, async (t) => {
  const [oldSrv, newSrv] = await Promise.all([startBotciv({ uvicorn: 'old' }), startBotciv({ uvicorn: 'new' })]);
  t.after(() => Promise.all([oldSrv.stop(), newSrv.stop()]));
  t.diagnostic(`old=${oldSrv.uvicornVersion} new=${newSrv.uvicornVersion}`);
  for (const ws of ['websockets-sansio', 'wsproto']) {
    const [o, n] = await Promise.all([startBotciv({ uvicorn: 'old', ws }), startBotciv({ uvicorn: 'new', ws })]);
    try {
      assert.equal(await rawCloseProbe(o.port, '/ws/raw?mode=goodbye', { reply: false }), 'FIN-before-close-reply', `old uvicorn ${ws}`);
      assert.equal(await rawCloseProbe(n.port, '/ws/raw?mode=goodbye', { reply: true }), 'clean', `new uvicorn ${ws}`);
    } finally {
      await Promise.all([o.stop(), n.stop()]);
    }
  }

  // What a plain client sees: the `ws` library and Node's built-in WebSocket (undici).
  const viaWs = async (srv) => {
    const c = client(`${srv.url}/ws/w?mode=goodbye&n=3`);
    const msgs = [];
    c.ws.on('message', (d) => msgs.push(JSON.parse(d)));
    const wasClean = new Promise((r) => c.ws.addEventListener('close', (e) => r(e.wasClean)));
    const closed = await c.closed;
    return { ...closed, wasClean: await wasClean, got: msgs.length, lastArrived: msgs.some((m) => m.last) };
  };
  const newWs = await viaWs(newSrv);
  assert.deepEqual(newWs, { code: 1000, reason: 'goodbye', wasClean: true, got: 3, lastArrived: true });
  const newNative = await nativeProbe(`${newSrv.url}/ws/n?mode=goodbye&n=3`);
  assert.deepEqual(newNative, { code: 1000, reason: 'goodbye', wasClean: true, got: 3, lastArrived: true });

  const oldWs = await viaWs(oldSrv);
  const oldNative = await nativeProbe(`${oldSrv.url}/ws/n?mode=goodbye&n=3`);
  t.diagnostic(`old uvicorn, ws lib: ${JSON.stringify(oldWs)}`);
  t.diagnostic(`old uvicorn, built-in WebSocket: ${JSON.stringify(oldNative)}`);
  // The incident's symptom: the built-in client reports 1006 and has not delivered the
  // messages that preceded the close frame.
  assert.equal(oldNative.code, 1006);
  assert.equal(oldNative.lastArrived, false);
});

// ---------- fault server ----------

test('fault server: paths behave as documented', async (t) => {
  const fsrv = await startFaultServer();
  t.after(() => fsrv.stop());

  await t.test('/reject/403 and /reject/503', async () => {
    assert.deepEqual(await httpUpgradeStatus(fsrv.url('/reject/403').replace('ws:', 'http:')), { status: 403, body: 'forbidden by test' });
    const c = client(fsrv.url('/reject/503'));
    await assert.rejects(c.opened, (e) => e.status === 503 && e.body === 'rejected by test (503)');
  });

  await t.test('/echo keeps text and binary', async () => {
    const c = client(fsrv.url('/echo'));
    await c.opened;
    await c.send('héllo');
    assert.deepEqual(await c.next(), { data: 'héllo', isBinary: false });
    await c.send(Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(await c.next(), { data: Buffer.from([0, 1, 2, 255]), isBinary: true });
    c.ws.close(1000, 'done');
    await c.closed;
    const ev = await fsrv.waitForEvent((e) => e.path === '/echo' && e.type === 'close');
    assert.equal(ev.code, 1000);
    assert.equal(ev.reason, 'done');
  });

  await t.test('/headers: custom headers arrive, no Origin from ws', async () => {
    const c = client(fsrv.url('/headers'), { ws: { headers: { 'X-Test': 'yes' } } });
    const h = await c.nextJson();
    assert.equal(h['x-test'], 'yes');
    assert.equal(h.origin, undefined);
    c.ws.close();
  });

  await t.test('/subprotocol selects the first offered', async () => {
    const c = client(fsrv.url('/subprotocol'), { protocols: ['chat.v2', 'chat.v1'] });
    assert.equal((await c.next()).data, 'chat.v2');
    assert.equal(c.ws.protocol, 'chat.v2');
    c.ws.close();
  });

  await t.test('/close/<code>, raw close codes, /flap, /close-after-message', async () => {
    assert.deepEqual(await client(fsrv.url('/close/4000?reason=go%20away')).closed, { code: 4000, reason: 'go away' });
    assert.deepEqual(await client(fsrv.url('/flap')).closed, { code: 1000, reason: '' });
    // a close frame without a status code: RFC 6455 says report 1005
    assert.equal((await client(fsrv.url('/close/none')).closed).code, 1005);
    // 1006 must never be on the wire: ws rejects the frame and reports 1002 (protocol error)
    const bad = client(fsrv.url('/close/1006'));
    assert.equal((await bad.closed).code, 1006);
    assert.match(bad.errors[0].message, /invalid status code 1006/);
    const c = client(fsrv.url('/close-after-message/4321?reason=after'));
    await c.opened;
    await c.send('the one');
    assert.deepEqual(await c.closed, { code: 4321, reason: 'after' });
    assert.equal(fsrv.received.at(-1).data, 'the one');
  });

  await t.test('/blast, /big', async () => {
    const c = client(fsrv.url('/blast?n=50&size=100'));
    const msgs = [];
    c.ws.on('message', (d) => msgs.push(d.toString()));
    assert.deepEqual(await c.closed, { code: 1000, reason: 'blast done' });
    assert.equal(msgs.length, 50);
    assert.ok(msgs.every((m, i) => m.length === 100 && m.startsWith(`${i}:`)));
    const big = client(fsrv.url('/big?bytes=3000000&binary=1'));
    const m = await big.next();
    assert.equal(m.isBinary, true);
    assert.equal(m.data.length, 3_000_000);
    big.ws.close();
  });

  await t.test('/record stores in order and acks', async () => {
    const before = fsrv.received.length;
    const c = client(fsrv.url('/record'));
    await c.opened;
    for (let i = 0; i < 5; i++) await c.send(JSON.stringify({ i }));
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push((await c.nextJson()).ack);
    assert.deepEqual(acks, [1, 2, 3, 4, 5].map((k) => before + k));
    await c.send(Buffer.from([9, 9]));
    await c.next();
    const rec = fsrv.received.filter((r) => r.path === '/record');
    assert.deepEqual(rec.slice(0, 5).map((r) => JSON.parse(r.data).i), [0, 1, 2, 3, 4]);
    const viaHttp = await fsrv.fetchReceived();
    assert.deepEqual(viaHttp.at(-1), { ...rec.at(-1), data: Buffer.from([9, 9]).toString('base64') });
    c.ws.close();
  });

  await t.test('/invalid-utf8: the client fails the connection with 1007', async () => {
    const c = client(fsrv.url('/invalid-utf8'));
    assert.equal((await c.closed).code, 1006); // ws reports locally 1006 after sending 1007
    const ev = await fsrv.waitForEvent((e) => e.path === '/invalid-utf8' && e.type === 'close');
    assert.equal(ev.code, 1007);
  });

  await t.test('/drop-mid-frame: abnormal closure', async () => {
    const c = client(fsrv.url('/drop-mid-frame'));
    await c.opened;
    assert.equal((await c.closed).code, 1006);
    const r = client(fsrv.url('/drop-mid-frame?rst=1'));
    await r.opened;
    assert.equal((await r.closed).code, 1006);
  });

  await t.test('/no-pong: pings are received and never answered', async () => {
    const c = client(fsrv.url('/no-pong'));
    await c.opened;
    let pongs = 0;
    c.ws.on('pong', () => { pongs++; });
    c.ws.ping('are you there');
    await fsrv.waitForEvent((e) => e.path === '/no-pong' && e.type === 'ping');
    c.ws.terminate();
    await c.closed;
    assert.equal(pongs, 0);
  });

  await t.test('/hang: the upgrade is read but never answered', async () => {
    const s = net.connect(fsrv.port, '127.0.0.1');
    let bytes = 0;
    s.on('data', (d) => { bytes += d.length; });
    s.write('GET /hang HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await fsrv.waitForEvent((e) => e.path === '/hang' && e.type === 'hang');
    s.destroy();
    assert.equal(bytes, 0);
  });

  await t.test('stop() then start() on the same port', async () => {
    const port = fsrv.port;
    const c = client(fsrv.url('/echo'));
    await c.opened;
    await fsrv.stop();
    assert.equal((await c.closed).code, 1006);
    await assert.rejects(client(fsrv.url('/echo')).opened, { code: 'ECONNREFUSED' });
    await fsrv.start();
    assert.equal(fsrv.port, port);
    const d = client(fsrv.url('/echo'));
    await d.opened;
    d.ws.close();
  });
});

test('fault server over TLS (wss) with the test CA', async (t) => {
  const pki = makeTestPki();
  const fsrv = await startFaultServer({ tls: { cert: pki.certPem, key: pki.keyPem } });
  t.after(() => fsrv.stop());
  assert.match(fsrv.url('/echo'), /^wss:\/\/127\.0\.0\.1:\d+\/echo$/);
  for (const host of ['127.0.0.1', 'localhost']) {
    const c = client(fsrv.url('/echo', { host }), { ws: { ca: pki.caPem } });
    await c.opened;
    await c.send('over tls');
    assert.equal((await c.next()).data, 'over tls');
    c.ws.close();
  }
  // without the CA the handshake must fail
  await assert.rejects(client(fsrv.url('/echo')).opened, (e) => /self[- ]signed|unable to verify|certificate/i.test(e.message));
});
