'use strict';
// Self-test of the OpenClaw harnesses: node --test __test__/harness/selftest-openclaw.js
// Needs: scripts/setup-openclaw.sh (run automatically if missing), devDependencies ws (fixture,
// and the client on Node 20, which has no global WebSocket without --experimental-websocket),
// ajv + @openclaw/gateway-protocol (schema checks; skipped if absent).
// No sleeps: every wait is on a frame, a close, /readyz, a stdout line or a log line.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');

const { startGateway } = require('./openclaw.js');
const { startFixtureGateway } = require('./fixture-gateway.js');

const WS = globalThis.WebSocket || require('ws');
const ONLY = process.env.OPENCLAW_SELFTEST_ONLY; // 'real' | 'fixture' | unset (both)
let validateFrame = null;
try {
  validateFrame = require('./schema.js').validateFrame;
  require('./schema.js').findSchemaPath();
} catch {
  validateFrame = null;
}

// ---- a tiny frame-queue client (global WebSocket or ws) ----
function openClient(url) {
  const ws = new WS(url);
  const queue = [];
  const waiters = [];
  let closeInfo = null;
  const closeWaiters = [];
  const flush = () => {
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i];
      const idx = queue.findIndex(w.pred);
      if (idx >= 0) {
        waiters.splice(i--, 1);
        w.resolve(queue.splice(idx, 1)[0]);
      } else if (closeInfo) {
        waiters.splice(i--, 1);
        w.reject(new Error(`socket closed ${JSON.stringify(closeInfo)} while waiting`));
      }
    }
  };
  ws.onmessage = (ev) => {
    queue.push(JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8')));
    flush();
  };
  ws.onclose = (ev) => {
    closeInfo = { code: ev.code, reason: String(ev.reason) };
    closeWaiters.forEach((r) => r(closeInfo));
    flush();
  };
  ws.onerror = () => {};
  return {
    queue,
    next: (pred) => new Promise((resolve, reject) => (waiters.push({ pred, resolve, reject }), flush())),
    send: (obj) => ws.send(JSON.stringify(obj)),
    closed: () => (closeInfo ? Promise.resolve(closeInfo) : new Promise((r) => closeWaiters.push(r))),
    close: () => ws.close(),
  };
}
const isRes = (id) => (f) => f.type === 'res' && f.id === id;
const isEvent = (name) => (f) => f.type === 'event' && f.event === name;

function makeDevice() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  return { privateKey, publicKey: x, id: crypto.createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex') };
}
function deviceProof(dev, { clientId, mode, role = 'operator', scopes, token, nonce, ts, platform = 'linux' }) {
  const norm = (s) => (typeof s === 'string' ? s.trim().replace(/[A-Z]/g, (c) => c.toLowerCase()) : '');
  const payload = ['v3', dev.id, clientId, mode, role, scopes.join(','), String(ts), token ?? '', nonce, norm(platform), ''].join('|');
  const signature = crypto.sign(null, Buffer.from(payload, 'utf8'), dev.privateKey).toString('base64url');
  return { id: dev.id, publicKey: dev.publicKey, signature, signedAt: ts, nonce };
}

/** challenge -> connect -> res. Returns {c, res, req, challenge}. */
async function handshake(url, { token, clientId = 'gateway-client', mode = 'backend', scopes = ['operator.read'], device, extra, tamper } = {}) {
  const c = openClient(url);
  const challenge = await c.next(isEvent('connect.challenge'));
  const params = {
    minProtocol: 3,
    maxProtocol: 4,
    client: { id: clientId, version: '0.0.1', platform: 'linux', mode },
    role: 'operator',
    scopes,
    ...(token !== undefined ? { auth: { token } } : {}),
    ...(extra || {}),
  };
  if (device) params.device = deviceProof(device, { clientId, mode, scopes, token, nonce: challenge.payload.nonce, ts: challenge.payload.ts });
  if (tamper) tamper(params);
  const req = { type: 'req', id: `c-${crypto.randomUUID()}`, method: 'connect', params };
  c.send(req);
  const res = await c.next(isRes(req.id));
  return { c, res, req, challenge };
}

async function call(c, method, params = {}) {
  const id = `r-${crypto.randomUUID()}`;
  c.send({ type: 'req', id, method, params });
  return c.next(isRes(id));
}

// ======================= real gateway =======================
test('real OpenClaw gateway', { timeout: 300_000, skip: ONLY === 'fixture' }, async (t) => {
  const gw = await startGateway({ config: { gateway: { nodes: { pairing: { autoApproveLocal: false } } } } });
  t.after(() => gw.dispose());
  t.diagnostic(`gateway ready in ${gw.startupMs} ms on ${gw.url}`);

  await t.test('readyz, token shape', async () => {
    const r = await gw.httpGet('/readyz');
    assert.equal(r.status, 200);
    assert.equal(r.json.ready, true);
    assert.match(gw.token, /^[0-9a-f]{48}$/);
  });

  await t.test('challenge -> connect (token, gateway-client/backend) -> hello-ok -> health; counted once', async () => {
    const before = await gw.connectionCount();
    const { c, res, req, challenge } = await handshake(gw.url, { token: gw.token });
    assert.equal(typeof challenge.payload.nonce, 'string');
    assert.equal(challenge.seq, undefined);
    assert.equal(res.ok, true, JSON.stringify(res.error));
    assert.equal(res.payload.type, 'hello-ok');
    assert.equal(res.payload.protocol, 4);
    assert.deepEqual(res.payload.auth.scopes, ['operator.read']);
    assert.ok(res.payload.policy.tickIntervalMs > 0);
    if (validateFrame) {
      assert.deepEqual(validateFrame('connect', req), []);
      assert.deepEqual(validateFrame('event', challenge), []);
      assert.deepEqual(validateFrame('res', res), []);
    }
    const h = await call(c, 'health');
    assert.equal(h.ok, true);
    assert.equal(h.payload.ok, true);
    c.close();
    await c.closed();
    assert.equal((await gw.connectionCount()) - before, 1);
  });

  await t.test('wrong token -> AUTH_TOKEN_MISMATCH + 1008', async () => {
    const { c, res } = await handshake(gw.url, { token: crypto.randomBytes(24).toString('hex') });
    assert.equal(res.ok, false);
    assert.equal(res.error.details.code, 'AUTH_TOKEN_MISMATCH');
    assert.equal((await c.closed()).code, 1008);
  });

  await t.test('autoApproveLocal:false -> PAIRING_REQUIRED; cli approve; reconnect ok', async () => {
    const dev = makeDevice();
    const opts = { token: gw.token, clientId: 'test', mode: 'test', scopes: ['operator.read', 'operator.write'], device: dev };
    const first = await handshake(gw.url, opts);
    assert.equal(first.res.ok, false);
    assert.equal(first.res.error.code, 'NOT_PAIRED');
    assert.equal(first.res.error.details.code, 'PAIRING_REQUIRED');
    const { requestId } = first.res.error.details;
    const close = await first.c.closed();
    assert.equal(close.code, 1008);
    assert.ok(close.reason.includes(requestId));
    const list = await gw.cliJson(['devices', 'list', '--json']);
    assert.ok(list.pending.some((p) => p.requestId === requestId && p.deviceId === dev.id));
    await gw.cli(['devices', 'approve', requestId, '--json']);
    const second = await handshake(gw.url, opts);
    assert.equal(second.res.ok, true, JSON.stringify(second.res.error));
    assert.equal(typeof second.res.payload.auth.deviceToken, 'string');
    second.c.close();
  });

  await t.test('stop sends shutdown + 1012; restart on the same port and state dir', async () => {
    const { c, res } = await handshake(gw.url, { token: gw.token });
    assert.equal(res.ok, true);
    const shutdown = c.next(isEvent('shutdown'));
    const port = gw.port;
    const stopped = gw.stop();
    assert.equal((await shutdown).type, 'event');
    assert.equal((await c.closed()).code, 1012);
    await stopped;
    await gw.restart();
    assert.equal(gw.port, port);
    t.diagnostic(`restart ready in ${gw.startupMs} ms`);
    const again = await handshake(gw.url, { token: gw.token });
    assert.equal(again.res.ok, true);
    again.c.close();
    // Paired device survived (same state dir).
    const list = await gw.cliJson(['devices', 'list', '--json']);
    assert.equal(list.paired.length, 1);
  });

  await t.test('token never in the harness logs', async () => {
    assert.ok(!fs.readFileSync(gw.logPath, 'utf8').includes(gw.token));
    assert.ok(!gw.logText().includes(gw.token));
  });
});

// ======================= fixture gateway =======================
for (const inProcess of [false, true]) {
  test(`fixture gateway (${inProcess ? 'in-process' : 'child process'})`, { timeout: 60_000, skip: ONLY === 'real' }, async (t) => {
    const token = crypto.randomBytes(16).toString('hex');
    const fx = await startFixtureGateway({ token, tickIntervalMs: 200, inProcess });
    t.after(() => fx.stop());

    await t.test('handshake, health, echo, ticks with seq', async () => {
      const { c, res, req } = await handshake(fx.url, { token });
      assert.equal(res.ok, true);
      assert.equal(res.payload.policy.tickIntervalMs, 200);
      if (validateFrame) assert.deepEqual(validateFrame('connect', req), []);
      assert.equal((await call(c, 'health')).payload.ok, true);
      assert.deepEqual((await call(c, 'echo', { a: [1, 'x'] })).payload, { a: [1, 'x'] });
      const t1 = await c.next(isEvent('tick'));
      const t2 = await c.next(isEvent('tick'));
      assert.equal(t2.seq, t1.seq + 1);
      const conns = await fx.connections();
      assert.deepEqual(conns.at(-1).connectParams, req.params);
      assert.equal(conns.at(-1).outcome, 'hello-ok');
      const frames = await fx.frames();
      assert.ok(frames.some((f) => f.frame && f.frame.method === 'echo'));
      c.close();
    });

    await t.test('out-of-order replies and two-stage agent', async () => {
      const { c } = await handshake(fx.url, { token });
      c.send({ type: 'req', id: 'a', method: 'hold', params: { key: 'k1' } });
      c.send({ type: 'req', id: 'b', method: 'release', params: { key: 'k1' } });
      const first = await c.next((f) => f.type === 'res');
      assert.equal(first.id, 'b');
      assert.equal((await c.next(isRes('a'))).payload.released, true);
      c.send({ type: 'req', id: 'g', method: 'agent', params: { prompt: 'x' } });
      const accepted = await c.next(isRes('g'));
      assert.equal(accepted.payload.status, 'accepted');
      const final = await c.next(isRes('g'));
      assert.equal(final.payload.status, 'ok');
      assert.equal(final.payload.runId, accepted.payload.runId);
      c.close();
    });

    await t.test('seq gap and duplicate', async () => {
      const { c } = await handshake(fx.url, { token });
      let last = (await c.next(isEvent('tick'))).seq; // ticks are consumed strictly in arrival order
      await fx.set({ gap: 3 });
      for (;;) {
        const e = await c.next(isEvent('tick'));
        if (e.seq !== last + 1) {
          assert.equal(e.seq, last + 4); // 3 numbers skipped
          last = e.seq;
          break;
        }
        last = e.seq;
      }
      await fx.set({ duplicate: true });
      for (;;) {
        const e = await c.next(isEvent('tick'));
        if (e.seq !== last + 1) {
          assert.equal(e.seq, last); // repeated
          break;
        }
        last = e.seq;
      }
      c.close();
    });

    await t.test('stop ticking / stop answering, then resume', async () => {
      const { c } = await handshake(fx.url, { token });
      await fx.set({ tick: false, answer: false });
      c.send({ type: 'req', id: 'silent', method: 'health', params: {} });
      await fx.waitFor(async () => (await fx.frames()).some((f) => f.frame && f.frame.id === 'silent'), { what: 'silent req recorded' });
      await fx.set({ tick: true, answer: true });
      const r = await call(c, 'health');
      assert.equal(r.ok, true);
      assert.ok(!c.queue.some((f) => f.id === 'silent'), 'the silent request was answered');
      c.close();
    });

    await t.test('scripted connect rejections', async () => {
      await fx.set({ reject: { kind: 'unavailable', retryAfterMs: 123, times: 1 } });
      let h = await handshake(fx.url, { token });
      assert.equal(h.res.error.code, 'UNAVAILABLE');
      assert.equal(h.res.error.retryable, true);
      assert.equal(h.res.error.retryAfterMs, 123);
      assert.equal((await h.c.closed()).code, 1013);
      h = await handshake(fx.url, { token }); // times:1 consumed
      assert.equal(h.res.ok, true);
      h.c.close();

      await fx.set({ reject: { kind: 'pairing-required', requestId: 'req-1', times: 1 } });
      h = await handshake(fx.url, { token });
      assert.equal(h.res.error.code, 'NOT_PAIRED');
      assert.equal(h.res.error.details.code, 'PAIRING_REQUIRED');
      assert.equal(h.res.error.details.requestId, 'req-1');
      const cl = await h.c.closed();
      assert.equal(cl.code, 1008);
      assert.match(cl.reason, /requestId: req-1/);

      await fx.set({ reject: { kind: 'auth-token-mismatch', canRetryWithDeviceToken: true, times: 1 } });
      h = await handshake(fx.url, { token });
      assert.equal(h.res.error.details.code, 'AUTH_TOKEN_MISMATCH');
      assert.equal(h.res.error.details.canRetryWithDeviceToken, true);
      assert.equal((await h.c.closed()).code, 1008);

      h = await handshake(fx.url, { token: 'wrong-token-value' });
      assert.equal(h.res.error.details.code, 'AUTH_TOKEN_MISMATCH');
    });

    await t.test('closed schema and device signature', async () => {
      let h = await handshake(fx.url, { token, extra: { bogus: 1 } });
      assert.equal(h.res.error.code, 'INVALID_REQUEST');
      assert.match(h.res.error.message, /unexpected property 'bogus'/);
      assert.equal((await h.c.closed()).code, 1008);

      h = await handshake(fx.url, { token, extra: { minProtocol: 5, maxProtocol: 5 } });
      assert.equal(h.res.error.details.code, 'PROTOCOL_MISMATCH');
      assert.equal((await h.c.closed()).code, 1002);

      const dev = makeDevice();
      h = await handshake(fx.url, { token, clientId: 'test', mode: 'test', device: dev });
      assert.equal(h.res.ok, true, JSON.stringify(h.res.error));
      assert.equal(typeof h.res.payload.auth.deviceToken, 'string');
      h.c.close();

      h = await handshake(fx.url, { token, clientId: 'test', mode: 'test', device: dev, tamper: (p) => (p.scopes = ['operator.admin']) });
      assert.equal(h.res.error.details.code, 'DEVICE_AUTH_SIGNATURE_INVALID');
    });

    await t.test('shutdown with restartExpectedMs then 1012; restart on the same port', async () => {
      const { c } = await handshake(fx.url, { token });
      const ev = c.next(isEvent('shutdown'));
      const port = fx.port;
      await fx.restart({ restartExpectedMs: 50 });
      assert.equal((await ev).payload.restartExpectedMs, 50);
      assert.equal((await c.closed()).code, 1012);
      assert.equal(fx.port, port);
      const again = await handshake(fx.url, { token });
      assert.equal(again.res.ok, true);
      again.c.close();
      const conns = await fx.connections();
      assert.ok(conns.length >= 10);
      assert.ok(new Set(conns.map((x) => x.generation)).size >= 2);
    });
  });
}
