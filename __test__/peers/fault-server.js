'use strict';
// Fault-injection WebSocket server for clawsock's tests. Loopback only (127.0.0.1).
// Uses `ws` (devDependency ws@8) where it can, and raw bytes on the socket for faults that
// a conforming library refuses to produce.
//
// Paths (query strings in brackets):
//   /reject/<status>[?body=B][&retryAfter=V]  HTTP <status> instead of 101 (body "forbidden by
//                                 test" for 403), with `Retry-After: V` when asked
//   /fresh?token=N&accept=K       echo if N >= K; otherwise open and close 4000 "stale token"
//                                 (a server that only takes the latest ticket)
//   /hang                         accept TCP, read the request, never answer
//   /drop-mid-frame[?rst=1]       101, then the first half of a text frame, then destroy the
//                                 socket (FIN; rst=1: TCP RST)
//   /no-pong                      101, then silence: no pong, no close reply, nothing
//   /raw-frames/<case>            101 and frames in one write (so they arrive in the same read):
//                                 fragmented: a text message in 2 fragments split inside a
//                                 character, a ping ("p1") between them, a binary message in 2
//                                 fragments; after the client's pong, close 1000 "done".
//                                 masked: a masked text frame. opcode: a frame with reserved
//                                 opcode 3. The client's frames are logged ('pong', 'close').
//   /invalid-utf8                 101, then a text frame whose payload is not UTF-8
//   /no-close-notify[?by=client]  101, then close 1000 "bye"; once the client's close frame is
//                                 read, destroy the socket: over TLS no close_notify is sent
//                                 (as WPT's Python server does). by=client: wait for the
//                                 client's close frame, answer with its code, then destroy.
//   /big?bytes=N[&binary=1]       one message of N bytes ('x' * N), then stay open
//   /close/<code>[?reason=R]      close with <code>/<R> right after open (codes ws refuses,
//                                 e.g. 1005/1006/999, and reasons > 123 bytes go raw)
//   /close-after-message/<code>[?reason=R]  wait for one message (recorded), then close
//   /echo                         echo (text stays text, binary stays binary)
//   /headers                      one text message: JSON of the request headers (lower-case)
//   /subprotocol                  send the selected subprotocol as a message (every ws path
//                                 selects the first offered one; add ?noproto=1 to select none)
//   /flap                         accept, close 1000 at once
//   /blast?n=N&size=S[&binary=1]  N messages of S bytes each ("<i>:" + 'x' padding), close 1000
//   /record                       record each message in order, reply {"ack": seq}
// HTTP:
//   GET /__received               JSON of `received` (binary payloads as base64)
//   GET /__events                 JSON of `events` (connections, handshakes, close codes)
//   POST /__reset                 clear received/events
//
// Every connection is logged in `events`: { conn, path, type: 'upgrade'|'open'|'message'|
// 'ping'|'close'|'socket-close', ... }; for ws-driven paths 'close' carries the code and
// reason the client sent.

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');
const { WebSocketServer } = require('ws');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function acceptKey(key) {
  return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

function frame(opcode, payload, { fin = true } = {}) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, len]);
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]);
}

function closePayload(code, reason = '') {
  if (code === undefined || code === null) return Buffer.alloc(0);
  const r = Buffer.from(reason, 'utf8');
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// Minimal parser of client->server frames (masked), for the raw paths.
function frameReader(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) {
        for (let i = 0; i < payload.length; i++) payload[i] ^= buf[maskOff + (i % 4)];
      }
      const fin = (buf[0] & 0x80) !== 0;
      buf = buf.subarray(off + len);
      onFrame({ opcode, fin, masked, payload });
    }
  };
}

const STATUS_TEXT = http.STATUS_CODES;

function isValidWsCloseCode(code) {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999);
}

function createFaultServer({ tls, host = '127.0.0.1' } = {}) {
  const received = [];
  const events = [];
  let connSeq = 0;
  let recordSeq = 0;
  let server = null;
  let port = 0;
  const sockets = new Set();

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 256 * 1024 * 1024,
    // Selects the first offered subprotocol on every path; ?noproto=1 selects none.
    handleProtocols: (protocols, req) => {
      if (new URL(req.url, 'http://x').searchParams.get('noproto') === '1') return false;
      const first = protocols.values().next();
      return first.done ? false : first.value;
    },
  });

  const waiters = new Set();
  function log(ev) {
    events.push(ev);
    for (const w of [...waiters]) {
      if (w.pred(ev)) { waiters.delete(w); w.resolve(ev); }
    }
  }
  // Resolves with the first event (already logged or future) matching pred.
  function waitForEvent(pred) {
    const hit = events.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => waiters.add({ pred, resolve }));
  }

  function rawUpgrade(req, socket, conn, path, after = Buffer.alloc(0)) {
    const key = req.headers['sec-websocket-key'];
    if (!key) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return false;
    }
    socket.write(Buffer.concat([Buffer.from(
      'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`), after]));
    log({ conn, path, type: 'open', raw: true });
    socket.on('close', () => log({ conn, path, type: 'socket-close' }));
    socket.on('error', () => {});
    return true;
  }

  // Raw close with an arbitrary code/reason, then wait for the client's close reply.
  function rawClose(req, socket, conn, path, code, reason) {
    if (!rawUpgrade(req, socket, conn, path)) return;
    socket.on('data', frameReader((f) => {
      if (f.opcode === 0x8) {
        const c = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
        log({ conn, path, type: 'close', code: c, reason: f.payload.subarray(2).toString('utf8') });
        socket.end();
      }
    }));
    socket.write(frame(0x8, code === null ? Buffer.alloc(0) : closePayload(code, reason)));
  }

  function handleRaw(kind, req, socket, head, conn, url) {
    const path = url.pathname;
    switch (kind) {
      case 'hang':
        log({ conn, path, type: 'hang' });
        socket.on('error', () => {});
        socket.resume(); // read and ignore; never answer
        return;
      case 'drop-mid-frame': {
        if (!rawUpgrade(req, socket, conn, path)) return;
        const full = frame(0x1, Buffer.alloc(64, 'x'));
        const half = full.subarray(0, Math.floor(full.length / 2));
        socket.write(half, () => {
          if (url.searchParams.get('rst') === '1') socket.resetAndDestroy();
          else socket.destroy();
        });
        return;
      }
      case 'no-pong': {
        if (!rawUpgrade(req, socket, conn, path)) return;
        socket.on('data', frameReader((f) => {
          if (f.opcode === 0x9) log({ conn, path, type: 'ping', size: f.payload.length });
          else if (f.opcode === 0x8) {
            log({ conn, path, type: 'close', code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null, answered: false });
          } else log({ conn, path, type: 'message', opcode: f.opcode, size: f.payload.length });
        }));
        return;
      }
      case 'raw-frames': {
        const which = path.split('/')[2];
        const text = Buffer.from('héllo wörld', 'utf8');
        const frames = {
          fragmented: [
            frame(0x1, text.subarray(0, 2), { fin: false }), // ends inside 'é'
            frame(0x9, Buffer.from('p1')),
            frame(0x0, text.subarray(2)),
            frame(0x2, Buffer.from([1, 2]), { fin: false }),
            frame(0x0, Buffer.from([3])),
          ],
          masked: [Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2])],
          opcode: [frame(0x3, Buffer.from('?'))],
        }[which];
        if (!frames) throw new Error(`no raw-frames case ${which}`);
        if (!rawUpgrade(req, socket, conn, path, Buffer.concat(frames))) return;
        socket.on('data', frameReader((f) => {
          if (f.opcode === 0xA) {
            log({ conn, path, type: 'pong', payload: f.payload.toString('utf8') });
            socket.write(frame(0x8, closePayload(1000, 'done')));
          } else if (f.opcode === 0x8) {
            log({ conn, path, type: 'close', code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null, reason: f.payload.subarray(2).toString('utf8') });
            socket.end();
          }
        }));
        return;
      }
      case 'no-close-notify': {
        const byClient = url.searchParams.get('by') === 'client';
        if (!rawUpgrade(req, socket, conn, path, byClient ? Buffer.alloc(0) : frame(0x8, closePayload(1000, 'bye')))) return;
        socket.on('data', frameReader((f) => {
          if (f.opcode !== 0x8) return;
          const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
          log({ conn, path, type: 'close', code, reason: f.payload.subarray(2).toString('utf8') });
          // destroy(), not end(): a TLS socket's end() would send close_notify first.
          if (byClient) socket.write(frame(0x8, closePayload(code ?? 1000, 'bye')), () => socket.destroy());
          else socket.destroy();
        }));
        return;
      }
      default:
        throw new Error(kind);
    }
  }

  function onUpgrade(req, socket, head) {
    const conn = ++connSeq;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const url = new URL(req.url, 'http://x');
    const path = url.pathname;
    const q = url.searchParams;
    const parts = path.split('/').filter(Boolean);
    log({ conn, path, type: 'upgrade', url: req.url, headers: req.headers, rawHeaders: req.rawHeaders });
    if (head && head.length) socket.unshift(head);

    if (parts[0] === 'reject') {
      const status = Number(parts[1] || 403);
      const body = q.get('body') ?? (status === 403 ? 'forbidden by test' : `rejected by test (${status})`);
      const b = Buffer.from(body, 'utf8');
      socket.on('error', () => {});
      socket.end(Buffer.concat([Buffer.from(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status] || 'Test'}\r\n` +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${b.length}\r\n` +
        'X-Fault: reject\r\n' +
        (q.get('retryAfter') !== null ? `Retry-After: ${q.get('retryAfter')}\r\n` : '') +
        'Connection: close\r\n\r\n'), b]));
      return;
    }
    if (path === '/hang' || path === '/drop-mid-frame' || path === '/no-pong' || path === '/no-close-notify' || parts[0] === 'raw-frames') {
      handleRaw(parts[0], req, socket, head, conn, url);
      return;
    }
    if (parts[0] === 'close' && parts.length === 2) {
      const code = parts[1] === 'none' ? null : Number(parts[1]);
      const reason = q.get('reason') ?? '';
      if (code === null || !isValidWsCloseCode(code) || Buffer.byteLength(reason) > 123) {
        rawClose(req, socket, conn, path, code, reason);
        return;
      }
    }

    wss.handleUpgrade(req, socket, Buffer.alloc(0), (ws) => onConnection(ws, req, conn, url));
  }

  function onConnection(ws, req, conn, url) {
    const path = url.pathname;
    const q = url.searchParams;
    const parts = path.split('/').filter(Boolean);
    log({ conn, path, type: 'open', protocol: ws.protocol });
    ws.on('error', (err) => log({ conn, path, type: 'error', message: err.message, code: err.code }));
    ws.on('close', (code, reason) => log({ conn, path, type: 'close', code, reason: reason.toString('utf8') }));
    ws.on('ping', (data) => log({ conn, path, type: 'ping', size: data.length }));

    if (path === '/fresh' && Number(q.get('token')) < Number(q.get('accept'))) {
      ws.close(4000, 'stale token');
    } else if (path === '/echo' || path === '/fresh') {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    } else if (path === '/headers') {
      ws.send(JSON.stringify(req.headers));
    } else if (path === '/subprotocol') {
      ws.send(ws.protocol);
    } else if (path === '/invalid-utf8') {
      // ws does not validate what it sends: a text frame with bytes that are not UTF-8.
      ws.send(Buffer.from([0x68, 0x69, 0xff, 0xfe, 0xc3, 0x28]), { binary: false });
    } else if (path === '/big') {
      const n = Number(q.get('bytes') || 1024 * 1024);
      const binary = q.get('binary') === '1';
      ws.send(Buffer.alloc(n, 'x'), { binary });
    } else if (parts[0] === 'close' && parts.length === 2) {
      ws.close(Number(parts[1]), q.get('reason') ?? '');
    } else if (parts[0] === 'close-after-message') {
      const code = Number(parts[1] || 1000);
      ws.once('message', (data, isBinary) => {
        received.push({ conn, path, seq: ++recordSeq, data: isBinary ? Buffer.from(data) : data.toString('utf8'), isBinary });
        ws.close(code, q.get('reason') ?? '');
      });
    } else if (path === '/flap') {
      ws.close(1000, q.get('reason') ?? '');
    } else if (path === '/blast') {
      const n = Number(q.get('n') || 10);
      const size = Number(q.get('size') || 16);
      const binary = q.get('binary') === '1';
      for (let i = 0; i < n; i++) {
        const prefix = Buffer.from(`${i}:`);
        const msg = Buffer.alloc(Math.max(size, prefix.length), 'x');
        prefix.copy(msg, 0);
        ws.send(msg, { binary });
      }
      ws.close(1000, 'blast done');
    } else if (path === '/record') {
      ws.on('message', (data, isBinary) => {
        const seq = ++recordSeq;
        received.push({ conn, path, seq, data: isBinary ? Buffer.from(data) : data.toString('utf8'), isBinary });
        ws.send(JSON.stringify({ ack: seq }));
      });
    } else {
      ws.close(4404, `no such fault path: ${path}`.slice(0, 120));
    }
  }

  function onRequest(req, res) {
    const url = new URL(req.url, 'http://x');
    const json = (status, obj) => {
      const body = JSON.stringify(obj);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'GET' && url.pathname === '/__received') {
      return json(200, received.map((r) => r.isBinary ? { ...r, data: r.data.toString('base64') } : r));
    }
    if (req.method === 'GET' && url.pathname === '/__events') return json(200, events);
    if (req.method === 'POST' && url.pathname === '/__reset') {
      received.length = 0;
      events.length = 0;
      recordSeq = 0;
      return json(200, { ok: true });
    }
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'reject') {
      const status = Number(parts[1] || 403);
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end(status === 403 ? 'forbidden by test' : `rejected by test (${status})`);
    }
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('websocket upgrade expected');
  }

  async function start(listenPort = port) {
    if (server) return;
    const s = tls ? https.createServer({ cert: tls.cert, key: tls.key }, onRequest) : http.createServer(onRequest);
    s.on('upgrade', onUpgrade);
    s.on('connection', (sock) => { sockets.add(sock); sock.on('close', () => sockets.delete(sock)); });
    s.on('secureConnection', (sock) => { sockets.add(sock); sock.on('close', () => sockets.delete(sock)); });
    s.on('tlsClientError', () => {});
    s.on('clientError', (err, sock) => { try { sock.destroy(); } catch { /* gone */ } });
    await new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(listenPort, host, () => { s.off('error', reject); resolve(); });
    });
    server = s;
    port = s.address().port;
  }

  // Stops listening and destroys every connection (hung ones included). Closing open ws
  // connections abruptly is deliberate: restart tests want the client to see a dead peer.
  async function stop() {
    const s = server;
    if (!s) return;
    server = null;
    for (const ws of wss.clients) ws.terminate();
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    await new Promise((resolve) => s.close(() => resolve()));
  }

  const scheme = tls ? 'wss' : 'ws';
  return {
    start,
    stop,
    received,
    events,
    waitForEvent,
    get port() { return port; },
    url(path = '/echo', { host: h = host } = {}) {
      return `${scheme}://${h}:${port}${path.startsWith('/') ? path : `/${path}`}`;
    },
    get httpUrl() { return `${tls ? 'https' : 'http'}://${host}:${port}`; },
    get listening() { return server !== null; },
  };
}

async function startFaultServer(opts = {}) {
  const fs = createFaultServer(opts);
  await fs.start(opts.port || 0);
  return fs;
}

module.exports = { startFaultServer, createFaultServer, frame, closePayload, acceptKey };

// CLI: node __test__/peers/fault-server.js [--port N]  -> prints "FAULT_READY port=N"
if (require.main === module) {
  const i = process.argv.indexOf('--port');
  const p = i > 0 ? Number(process.argv[i + 1]) : 0;
  startFaultServer({ port: p }).then((s) => {
    process.stdout.write(`FAULT_READY port=${s.port}\n`);
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  });
}
