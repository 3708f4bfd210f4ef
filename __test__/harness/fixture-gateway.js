'use strict';
// Harness for the fixture OpenClaw gateway (__test__/peers/fixture-gateway.js).
//
//   const { startFixtureGateway } = require('./__test__/harness/fixture-gateway.js');
//   const fx = await startFixtureGateway({ token: 's3cr3t-fixture', tickIntervalMs: 200 });
//   fx.url                                   // ws://127.0.0.1:<port>
//   await fx.set({ reject: { kind: 'unavailable', retryAfterMs: 100, times: 1 } });
//   (await fx.connections()).length          // connection attempts (each with connectParams, outcome, closeCode)
//   await fx.frames()                        // every frame received: [{conn, connId, frame}]
//   await fx.waitFor(async () => (await fx.connections()).length >= 2);  // condition polling, bounded
//   await fx.restart({ restartExpectedMs: 50 });   // shutdown event + 1012, then listen on the same port
//   await fx.stop();
//
// By default the fixture runs in its own Node process (a real peer, unaffected by a blocked JS
// thread in the test); ready = the `FIXTURE_READY {...}` line on its stdout. Pass
// { inProcess: true } to run it in this process instead. All accessors return Promises in both modes.
// Records survive restart() (they are kept across generations; each record has `generation`).

const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');

const PEER = path.resolve(__dirname, '..', 'peers', 'fixture-gateway.js');
const READY_TIMEOUT_MS = 30_000;

function request(port, method, pathname, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: '127.0.0.1', port, method, path: pathname, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`fixture ${pathname}: HTTP ${res.statusCode} ${text}`));
          resolve(JSON.parse(text));
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function spawnPeer(options, port) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PEER, '--port', String(port || 0), '--options', JSON.stringify(options)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, FIXTURE_WATCH_STDIN: '1', NODE_OPTIONS: '' },
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture gateway not ready within ${READY_TIMEOUT_MS} ms: ${err}`));
    }, READY_TIMEOUT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => (err += c));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => {
      out += c;
      const m = /^FIXTURE_READY (\{.*\})$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({ child, port: JSON.parse(m[1]).port, stderr: () => err });
      }
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`fixture gateway exited before ready (code=${code} signal=${sig}): ${err}`));
    });
    // The pipes must not keep the test process alive; the stdin pipe doubles as a parent-death signal.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) s.unref?.();
  });
}

/**
 * @param {object} [opts] fixture knobs (token, tickIntervalMs, reject, ...) plus
 *   port?: fixed port; inProcess?: run in this process (default false).
 */
async function startFixtureGateway(opts = {}) {
  const { port: fixedPort, inProcess = false, ...knobs } = opts;
  let previous = { connections: [], frames: [] }; // records of earlier generations (child mode)
  let gen = 1;
  // Child mode: each process numbers its records from 0; re-base them after earlier generations.
  const rebase = (st) => {
    const base = previous.connections.length;
    return {
      connections: st.connections.map((c) => ({ ...c, index: base + c.index, generation: gen })),
      frames: st.frames.map((f) => ({ ...f, conn: base + f.conn })),
    };
  };

  if (inProcess) {
    const { createFixtureGateway } = require(PEER);
    const fx = createFixtureGateway(knobs);
    const port = await fx.listen(fixedPort || 0);
    const api = {
      url: `${knobs.tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
      port,
      inProcess: true,
      connections: async () => fx.connections().slice(),
      frames: async () => fx.frames().slice(),
      state: async () => fx.state(),
      set: async (k) => fx.set(k),
      emit: async (event, payload, stateVersion) => fx.emit(event, payload, stateVersion ? { stateVersion } : {}),
      shutdown: async (o) => fx.shutdown(o),
      closeAll: async (code, reason) => fx.closeAll(code, reason),
      release: async (key) => fx.release(key),
      stop: async (o) => fx.close(o),
      restart: async ({ restartExpectedMs, mode } = {}) => {
        await fx.close({ mode, restartExpectedMs });
        await fx.listen(port);
        return api;
      },
      waitFor,
    };
    return api;
  }

  let peer = await spawnPeer(knobs, fixedPort);
  const port = peer.port;
  let currentKnobs = { ...knobs };

  async function stopPeer({ restartExpectedMs, mode = 'shutdown' } = {}) {
    if (!peer) return;
    const p = peer;
    peer = null;
    try {
      const st = await request(port, 'GET', '/__fixture/state');
      const rb = rebase(st);
      previous = { connections: previous.connections.concat(rb.connections), frames: previous.frames.concat(rb.frames) };
      currentKnobs = { ...st.knobs };
      if (mode === 'shutdown') await request(port, 'POST', '/__fixture/shutdown', restartExpectedMs === undefined ? {} : { restartExpectedMs });
      else await request(port, 'POST', '/__fixture/close-all', { code: 1006 });
    } catch {
      /* peer already gone */
    }
    const exited = new Promise((resolve) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) resolve();
      else p.child.once('exit', resolve);
    });
    p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    gen += 1;
    return null;
  }

  async function liveState() {
    if (!peer) return { connections: [], frames: [] };
    return rebase(await request(port, 'GET', '/__fixture/state'));
  }

  const api = {
    url: `ws://127.0.0.1:${port}`,
    port,
    inProcess: false,
    get pid() {
      return peer ? peer.child.pid : null;
    },
    /** All connection attempts (all generations): {index, generation, connId, headers, connectParams, outcome, error, closeCode, closeReason}. */
    async connections() {
      const st = await liveState();
      return previous.connections.concat(st.connections);
    },
    /** Every frame received from clients: {conn, connId, at, frame (parsed JSON or null), raw?}. */
    async frames() {
      const st = await liveState();
      return previous.frames.concat(st.frames);
    },
    async state() {
      return peer ? request(port, 'GET', '/__fixture/state') : null;
    },
    async set(k) {
      const r = await request(port, 'POST', '/__fixture/set', k);
      currentKnobs = { ...r };
      return r;
    },
    async emit(event, payload, stateVersion) {
      return (await request(port, 'POST', '/__fixture/emit', { event, payload, stateVersion })).sent;
    },
    async shutdown(o = {}) {
      return request(port, 'POST', '/__fixture/shutdown', o);
    },
    async closeAll(code, reason) {
      return request(port, 'POST', '/__fixture/close-all', { code, reason });
    },
    async release(key) {
      return (await request(port, 'POST', '/__fixture/release', { key })).released;
    },
    /** Sends `shutdown` (no restartExpectedMs) + close 1012 to every client, then ends the process. */
    async stop(o) {
      return stopPeer(o);
    },
    /** shutdown{restartExpectedMs} + 1012, then a fresh process on the same port with the same knobs. */
    async restart({ restartExpectedMs, mode } = {}) {
      await stopPeer({ restartExpectedMs, mode });
      const { reject, ...keep } = currentKnobs; // keep knobs; a half-consumed scripted rejection is kept too
      peer = await spawnPeer(reject ? { ...keep, reject } : keep, port);
      return api;
    },
    waitFor,
  };
  return api;
}

/**
 * Polls `predicate` (sync or async) until truthy; bounded by timeoutMs. This is condition
 * polling on observable state, not a sleep used as synchronisation.
 */
async function waitFor(predicate, { timeoutMs = 20_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

module.exports = { startFixtureGateway, waitFor, PEER };
