'use strict';
// A small, faithful OpenClaw gateway fixture (protocol v4, accepts min<=4<=max) for the cases the
// real gateway cannot produce on demand. Uses `ws` (devDependency). CommonJS, Node >= 20.
//
// Two ways to use it:
//   - in-process:  const { createFixtureGateway } = require('./fixture-gateway.js');
//                  const fx = createFixtureGateway(opts); await fx.listen(port?);
//   - as a process: node fixture-gateway.js [--port N] [--options '<json>']
//                  prints one line `FIXTURE_READY {"port":N}` on stdout once listening;
//                  controlled over HTTP on the same port (see CONTROL below).
//   __test__/harness/fixture-gateway.js wraps both (startFixtureGateway).
//
// Wire behaviour (mirrors openclaw@2026.9.6, see docs/notes/openclaw-harness.md):
//   open -> event connect.challenge {nonce, ts, capabilities} (no seq)
//   first frame must be a closed-schema req `connect` with closed-schema ConnectParams;
//   protocol range (max>=4 && min<=4; node/probe may use 3) else PROTOCOL_MISMATCH + close 1002;
//   role operator|node; shared token (if opts.token) else AUTH_TOKEN_MISMATCH + close 1008;
//   device proof (ed25519 over the v3 payload string, v2 fallback; id = sha256(raw pk) hex;
//   |now - signedAt| <= 120 s; nonce must match) else INVALID_REQUEST + details + close 1008;
//   hello-ok {type, protocol:4, server, features, snapshot, auth{method,role,scopes,deviceToken?}, policy}
//   then tick events every policy.tickIntervalMs with per-connection seq starting at 1.
//
// Methods: health, echo (returns params), status, fail (responds with params as ErrorShape),
//   hold {key} (answered only when released), release {key} (answers itself, then the held ones:
//   a deterministic out-of-order reply), agent (res {status:"accepted",runId} then a second final
//   res with the same id {status:"ok",runId,result:params}; params.holdFinal:key holds the final
//   until release), emit {event,payload} (server sends that event to this connection),
//   raw {texts} (after answering, sends each string as a text frame, as is: malformed frames),
//   close {code,reason} (server closes this connection after answering). Anything else:
//   INVALID_REQUEST "unknown method: <m>".
//
// Knobs (opts at start, or set(knobs) / POST /__fixture/set later):
//   token            shared token required in auth.token/auth.password (null = accept any)
//   tickIntervalMs   advertised and used tick interval (default 200)
//   tick             false = stop sending ticks
//   answer           false = stop answering requests (recorded, never answered)
//   challenge        false = never send connect.challenge
//   gap              n: the next event skips n seq numbers
//   duplicate        true: the next event repeats the previous seq
//   requireDevice    true: device-less connects get NOT_PAIRED DEVICE_IDENTITY_REQUIRED
//   handshakeTimeoutMs  server handshake deadline (default 15000, close 1000)
//   agentFinal       false = agent never sends the final res
//   reject           connect rejection applied to the next `times` connects (default: all):
//                    {kind:'unavailable', retryAfterMs?, reason?, times?}  -> UNAVAILABLE retryable, close 1013
//                    {kind:'pairing-required', requestId?, times?}       -> NOT_PAIRED PAIRING_REQUIRED, close 1008
//                    {kind:'not-paired', times?}                          (alias of pairing-required)
//                    {kind:'device-identity-required', times?}            -> NOT_PAIRED DEVICE_IDENTITY_REQUIRED, 1008
//                    {kind:'auth-token-mismatch', canRetryWithDeviceToken?, times?} -> AUTH_TOKEN_MISMATCH, 1008
//                    {kind:'protocol-mismatch', times?}                   -> PROTOCOL_MISMATCH, 1002
//                    {kind:'custom', error:{code,message,...}, closeCode, closeReason, times?}
//                    null clears it.
//   shutdown         action: {restartExpectedMs?, reason?} -> event shutdown then close 1012 "service restart"
//   tls              {cert, key} (PEM) at start only: serve wss:// (like the real gateway's gateway.tls)
//
// CONTROL (HTTP on the same port): GET /readyz, /healthz; GET /__fixture/state -> {connections, frames, knobs};
//   POST /__fixture/set <knobs>; POST /__fixture/emit {event,payload,stateVersion?}; POST /__fixture/shutdown {...};
//   POST /__fixture/close-all {code,reason}; POST /__fixture/release {key}; POST /__fixture/reset.

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');
const { WebSocketServer } = require('ws');

const PROTOCOL_VERSION = 4;
const MAX_PREAUTH_PAYLOAD_BYTES = 65_536;
const MAX_PAYLOAD_BYTES = 26_214_400;
const MAX_BUFFERED_BYTES = 52_428_800;
const DEVICE_SIGNATURE_SKEW_MS = 120_000;

const CLIENT_IDS = new Set([
  'webchat-ui', 'openclaw-control-ui', 'openclaw-browser-copilot', 'openclaw-tui', 'webchat', 'cli',
  'gateway-client', 'openclaw-macos', 'openclaw-linux', 'openclaw-ios', 'openclaw-watchos',
  'openclaw-android', 'node-host', 'openclaw-worker', 'test', 'fingerprint', 'openclaw-probe',
]);
const CLIENT_MODES = new Set(['webchat', 'cli', 'ui', 'backend', 'node', 'worker', 'probe', 'test']);
const METHODS = ['health', 'echo', 'status', 'fail', 'hold', 'release', 'agent', 'emit', 'raw', 'close'];
const EVENTS = ['connect.challenge', 'tick', 'shutdown', 'health', 'presence'];

// ---- closed-schema validation (subset of protocol.schema.json ConnectParams / RequestFrame) ----
const str = (min = 0, max = Infinity) => ({ t: 'string', min, max });
const int = (min = 0) => ({ t: 'integer', min });
const strArr = { t: 'array', items: str(1) };
const obj = (props, required = []) => ({ t: 'object', props, required });
const any = { t: 'any' };
const CONNECT_SCHEMA = obj(
  {
    minProtocol: int(1),
    maxProtocol: int(1),
    client: obj(
      {
        id: { t: 'enum', values: CLIENT_IDS },
        displayName: str(1),
        version: str(1),
        buildId: str(1, 96),
        platform: str(1),
        deviceFamily: str(1),
        modelIdentifier: str(1),
        timeZone: str(1, 64),
        mode: { t: 'enum', values: CLIENT_MODES },
        instanceId: str(1),
      },
      ['id', 'version', 'platform', 'mode'],
    ),
    caps: strArr,
    commands: strArr,
    computerUse: any,
    workerRuns: any,
    permissions: { t: 'boolmap' },
    pathEnv: str(),
    role: str(1),
    scopes: strArr,
    device: obj({ id: str(1), publicKey: str(1), signature: str(1), signedAt: int(0), nonce: str(1) }, [
      'id', 'publicKey', 'signature', 'signedAt', 'nonce',
    ]),
    auth: obj({
      token: str(), bootstrapToken: str(), deviceToken: str(), password: str(),
      approvalRuntimeToken: str(), agentRuntimeIdentityToken: str(),
    }),
    locale: str(),
    userAgent: str(),
  },
  ['minProtocol', 'maxProtocol', 'client'],
);
const REQUEST_SCHEMA = obj(
  { type: { t: 'const', value: 'req' }, id: str(1), method: str(1), params: any, traceparent: str(0, 128) },
  ['type', 'id', 'method'],
);

function validate(schema, value, at = '') {
  const where = at || 'root';
  switch (schema.t) {
    case 'any':
      return null;
    case 'const':
      return value === schema.value ? null : `at ${where}: must be equal to constant`;
    case 'enum':
      return schema.values.has(value) ? null : `at ${where}: must be equal to one of the allowed values`;
    case 'string':
      if (typeof value !== 'string') return `at ${where}: must be string`;
      if (value.length < schema.min) return `at ${where}: must NOT have fewer than ${schema.min} characters`;
      if (value.length > schema.max) return `at ${where}: must NOT have more than ${schema.max} characters`;
      return null;
    case 'integer':
      if (!Number.isInteger(value)) return `at ${where}: must be integer`;
      return value < schema.min ? `at ${where}: must be >= ${schema.min}` : null;
    case 'array':
      if (!Array.isArray(value)) return `at ${where}: must be array`;
      for (let i = 0; i < value.length; i++) {
        const e = validate(schema.items, value[i], `${at}/${i}`);
        if (e) return e;
      }
      return null;
    case 'boolmap':
      if (!value || typeof value !== 'object' || Array.isArray(value)) return `at ${where}: must be object`;
      for (const [k, v] of Object.entries(value)) if (typeof v !== 'boolean') return `at ${at}/${k}: must be boolean`;
      return null;
    case 'object': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) return `at ${where}: must be object`;
      for (const k of Object.keys(value)) if (!(k in schema.props)) return `at ${where}: unexpected property '${k}'`;
      for (const k of schema.required) if (!(k in value)) return `at ${where}: must have required property '${k}'`;
      for (const [k, v] of Object.entries(value)) {
        const e = validate(schema.props[k], v, `${at}/${k}`);
        if (e) return e;
      }
      return null;
    }
    default:
      return null;
  }
}

// ---- device proof ----
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
function decodeB64Any(s) {
  return Buffer.from(String(s).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
function rawPublicKey(publicKey) {
  const s = String(publicKey).trim();
  if (s.includes('BEGIN PUBLIC KEY')) {
    const der = crypto.createPublicKey(s).export({ type: 'spki', format: 'der' });
    return der.subarray(SPKI_ED25519_PREFIX.length);
  }
  return decodeB64Any(s);
}
function normMeta(x) {
  return typeof x === 'string' ? x.trim().replace(/[A-Z]/g, (c) => c.toLowerCase()) : '';
}
/** The v3 device-auth payload string (exported for tests / clients). */
function buildDeviceAuthPayloadV3({ deviceId, clientId, clientMode, role, scopes, signedAtMs, token, nonce, platform, deviceFamily }) {
  return ['v3', deviceId, clientId, clientMode, role, (scopes || []).join(','), String(signedAtMs), token ?? '', nonce,
    normMeta(platform), normMeta(deviceFamily)].join('|');
}
function buildDeviceAuthPayloadV2({ deviceId, clientId, clientMode, role, scopes, signedAtMs, token, nonce }) {
  return ['v2', deviceId, clientId, clientMode, role, (scopes || []).join(','), String(signedAtMs), token ?? '', nonce].join('|');
}
function verifyDeviceProof(params, role, challengeNonce, now) {
  const d = params.device;
  const deviceErr = (code, reason, message) => ({ code, reason, message });
  let raw;
  try {
    raw = rawPublicKey(d.publicKey);
  } catch {
    raw = null;
  }
  if (!raw || raw.length !== 32) return deviceErr('DEVICE_AUTH_PUBLIC_KEY_INVALID', 'device-public-key', 'device public key invalid');
  const id = crypto.createHash('sha256').update(raw).digest('hex');
  if (id !== d.id) return deviceErr('DEVICE_AUTH_DEVICE_ID_MISMATCH', 'device-id-mismatch', 'device identity mismatch');
  if (Math.abs(now - d.signedAt) > DEVICE_SIGNATURE_SKEW_MS)
    return deviceErr('DEVICE_AUTH_SIGNATURE_EXPIRED', 'device-signature-stale', 'device signature expired');
  if (!String(d.nonce).trim()) return deviceErr('DEVICE_AUTH_NONCE_REQUIRED', 'device-nonce-missing', 'device nonce required');
  if (String(d.nonce).trim() !== challengeNonce)
    return deviceErr('DEVICE_AUTH_NONCE_MISMATCH', 'device-nonce-mismatch', 'device nonce mismatch');
  const a = params.auth || {};
  const fields = {
    deviceId: d.id, clientId: params.client.id, clientMode: params.client.mode, role, scopes: params.scopes || [],
    signedAtMs: d.signedAt, token: a.token ?? a.deviceToken ?? a.bootstrapToken ?? '', nonce: String(d.nonce).trim(),
    platform: params.client.platform, deviceFamily: params.client.deviceFamily,
  };
  let key;
  try {
    key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return deviceErr('DEVICE_AUTH_PUBLIC_KEY_INVALID', 'device-public-key', 'device public key invalid');
  }
  const sig = decodeB64Any(d.signature);
  for (const [version, payload] of [['v3', buildDeviceAuthPayloadV3(fields)], ['v2', buildDeviceAuthPayloadV2(fields)]]) {
    try {
      if (crypto.verify(null, Buffer.from(payload, 'utf8'), key, sig)) return { ok: true, version, deviceId: id };
    } catch {
      /* bad signature length */
    }
  }
  return deviceErr('DEVICE_AUTH_SIGNATURE_INVALID', 'device-signature', 'device signature invalid');
}

function truncateReason(s) {
  let b = Buffer.from(String(s), 'utf8');
  if (b.length <= 120) return String(s);
  b = b.subarray(0, 120);
  return b.toString('utf8').replace(/\uFFFD+$/, '');
}

function createFixtureGateway(options = {}) {
  const knobs = {
    token: null,
    tickIntervalMs: 200,
    tick: true,
    answer: true,
    challenge: true,
    gap: 0,
    duplicate: false,
    requireDevice: false,
    handshakeTimeoutMs: 15_000,
    agentFinal: true,
    reject: null,
    version: 'fixture-2026.9.6',
  };
  const bootId = crypto.randomUUID();
  const startedAt = Date.now();
  const connections = []; // records
  const frames = []; // {conn, connId, index, frame, raw?}
  const live = new Map(); // connId -> state
  const held = new Map(); // key -> [fn]
  const deviceTokens = new Map(); // deviceId -> token
  let server = null;
  let wss = null;
  let port = null;
  let generation = 0;

  function set(k = {}) {
    const { shutdown, ...rest } = k;
    Object.assign(knobs, rest);
    if (rest.tickIntervalMs || rest.tick !== undefined) for (const st of live.values()) st.armTick && st.armTick();
    if (shutdown) doShutdown(shutdown === true ? {} : shutdown);
    return { ...knobs };
  }

  function release(key) {
    const fns = held.get(key) || [];
    held.delete(key);
    for (const fn of fns) fn();
    return fns.length;
  }

  function emitAll(event, payload, extra) {
    let n = 0;
    for (const st of live.values()) if (st.helloed) (st.sendEvent(event, payload, extra), n++);
    return n;
  }

  function closeAll(code = 1012, reason = 'service restart') {
    for (const st of live.values()) st.ws.close(code, reason);
  }

  function doShutdown({ restartExpectedMs, reason = 'gateway stopping', close = true } = {}) {
    const payload = { reason };
    if (restartExpectedMs !== undefined) payload.restartExpectedMs = restartExpectedMs;
    for (const st of live.values()) {
      if (st.helloed) st.sendEvent('shutdown', payload);
      if (close) st.ws.close(1012, 'service restart');
    }
  }

  function onConnection(ws, req) {
    const connId = crypto.randomUUID();
    const nonce = crypto.randomUUID();
    const rec = {
      index: connections.length,
      generation,
      connId,
      openedAt: Date.now(),
      remotePort: req.socket.remotePort,
      headers: {
        origin: req.headers.origin ?? null,
        userAgent: req.headers['user-agent'] ?? null,
        forwarded: req.headers['x-forwarded-for'] ?? req.headers.forwarded ?? null,
        protocol: req.headers['sec-websocket-protocol'] ?? null,
        extensions: req.headers['sec-websocket-extensions'] ?? null,
      },
      requestHeaders: { ...req.headers },
      nonce,
      connectParams: null,
      outcome: 'open',
      error: null,
      closeCode: null,
      closeReason: null,
      closedAt: null,
    };
    connections.push(rec);
    const st = { ws, rec, helloed: false, seq: 0, tickTimer: null, role: 'operator', scopes: [] };
    live.set(connId, st);

    const send = (obj) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(obj));
    };
    st.send = send;
    st.sendEvent = (event, payload, extra = {}) => {
      let seq;
      if (knobs.duplicate && st.seq > 0) {
        knobs.duplicate = false;
        seq = st.seq;
      } else {
        if (knobs.gap > 0) {
          st.seq += knobs.gap;
          knobs.gap = 0;
        }
        seq = ++st.seq;
      }
      const frame = { type: 'event', event, payload, seq, ...extra };
      send(frame);
    };
    st.armTick = () => {
      if (st.tickTimer) clearInterval(st.tickTimer);
      st.tickTimer = null;
      if (!st.helloed) return;
      st.tickTimer = setInterval(() => {
        if (knobs.tick) st.sendEvent('tick', { ts: Date.now() });
      }, Math.max(1, knobs.tickIntervalMs));
    };

    const hsTimer = setTimeout(() => {
      if (!st.helloed) {
        rec.outcome = 'handshake-timeout';
        ws.close(1000);
      }
    }, knobs.handshakeTimeoutMs);

    const rejectConnect = (id, error, closeCode, closeReason) => {
      rec.outcome = 'rejected';
      rec.error = error;
      if (id !== undefined) send({ type: 'res', id, ok: false, error });
      ws.close(closeCode, truncateReason(closeReason ?? error.message));
    };

    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString('utf8');
      let frame = null;
      try {
        frame = text === null ? null : JSON.parse(text);
      } catch {
        frame = null;
      }
      frames.push({ conn: rec.index, connId, at: Date.now(), frame, raw: frame === null ? text : undefined, binary: !!isBinary });
      if (!st.helloed) {
        if (rec.connectParams !== null) return; // connect already handled (rejected, closing)
        if (data.length > MAX_PREAUTH_PAYLOAD_BYTES) return ws.close(1009, 'preauth payload too large');
        if (frame === null || typeof frame !== 'object') {
          rec.outcome = 'bad-first-frame';
          return ws.close(1000);
        }
        return handleConnect(frame);
      }
      if (frame === null) return; // non-JSON after hello: ignored
      handleRequest(frame);
    });

    ws.on('close', (code, reason) => {
      clearTimeout(hsTimer);
      if (st.tickTimer) clearInterval(st.tickTimer);
      rec.closeCode = code;
      rec.closeReason = reason.toString('utf8');
      rec.closedAt = Date.now();
      live.delete(connId);
    });
    ws.on('error', () => {});

    function handleConnect(frame) {
      const envErr = validate(REQUEST_SCHEMA, frame);
      if (envErr || frame.method !== 'connect') {
        rec.connectParams = false;
        const msg = envErr ? `invalid request frame: ${envErr}` : 'invalid handshake: first request must be connect';
        return rejectConnect(envErr ? undefined : frame.id, { code: 'INVALID_REQUEST', message: msg }, 1008, msg);
      }
      const params = frame.params ?? {};
      rec.connectParams = params;
      rec.connectId = frame.id;
      const pErr = validate(CONNECT_SCHEMA, params);
      if (pErr) {
        const msg = `invalid connect params: ${pErr}`;
        return rejectConnect(frame.id, { code: 'INVALID_REQUEST', message: msg }, 1008, msg);
      }
      const role = params.role ?? 'operator';
      const mode = params.client.mode;
      const minOk = role === 'node' && mode === 'node' ? 3 : mode === 'probe' ? 3 : PROTOCOL_VERSION;
      const protoErr = () =>
        rejectConnect(
          frame.id,
          {
            code: 'INVALID_REQUEST',
            message: 'protocol mismatch',
            details: {
              code: 'PROTOCOL_MISMATCH', clientMinProtocol: params.minProtocol, clientMaxProtocol: params.maxProtocol,
              expectedProtocol: PROTOCOL_VERSION, minimumProbeProtocol: 3,
            },
          },
          1002,
          'protocol mismatch',
        );
      if (!(params.maxProtocol >= minOk && params.minProtocol <= PROTOCOL_VERSION)) return protoErr();
      if (role !== 'operator' && role !== 'node') return rejectConnect(frame.id, { code: 'INVALID_REQUEST', message: 'invalid role' }, 1008);

      // Scripted rejections.
      const r = knobs.reject;
      if (r && (r.times === undefined || r.times > 0)) {
        if (r.times !== undefined) r.times -= 1;
        if (r.times === 0) knobs.reject = null;
        return scriptedReject(frame.id, r);
      }

      const a = params.auth || {};
      const secret = a.token ?? a.password;
      let method = knobs.token ? 'token' : 'none';
      let deviceTokenOk = false;
      if (params.device && a.deviceToken && deviceTokens.get(params.device.id) === a.deviceToken) deviceTokenOk = true;
      if (knobs.token && secret !== knobs.token) {
        if (deviceTokenOk && (secret === undefined || secret === a.deviceToken)) method = 'device-token';
        else if (secret === undefined && !a.deviceToken)
          return rejectConnect(
            frame.id,
            {
              code: 'INVALID_REQUEST',
              message: 'unauthorized: gateway token missing (provide gateway auth token)',
              details: { code: 'AUTH_TOKEN_MISSING', authReason: 'token_missing', canRetryWithDeviceToken: false, recommendedNextStep: 'update_auth_configuration' },
            },
            1008,
          );
        else return scriptedReject(frame.id, { kind: 'auth-token-mismatch' });
      }
      if (params.device) {
        const v = verifyDeviceProof(params, role, nonce, Date.now());
        if (!v.ok)
          return rejectConnect(frame.id, { code: 'INVALID_REQUEST', message: v.message, details: { code: v.code, reason: v.reason } }, 1008);
        rec.deviceProof = v.version;
      } else if (knobs.requireDevice) {
        return scriptedReject(frame.id, { kind: 'device-identity-required' });
      }

      // Accept.
      clearTimeout(hsTimer);
      st.role = role;
      st.scopes = Array.isArray(params.scopes) ? [...params.scopes] : [];
      const auth = { method, role, scopes: st.scopes };
      if (params.device) {
        let dt = deviceTokens.get(params.device.id);
        if (!dt) deviceTokens.set(params.device.id, (dt = crypto.randomBytes(32).toString('base64url')));
        auth.deviceToken = dt;
        auth.issuedAtMs = Date.now();
      }
      rec.outcome = 'hello-ok';
      rec.helloAt = Date.now();
      send({
        type: 'res',
        id: frame.id,
        ok: true,
        payload: {
          type: 'hello-ok',
          protocol: PROTOCOL_VERSION,
          server: { version: knobs.version, connId, bootId },
          features: { methods: METHODS, events: EVENTS, capabilities: [] },
          snapshot: {
            presence: [],
            health: { ok: true },
            stateVersion: { presence: 1, health: 1 },
            uptimeMs: Date.now() - startedAt,
            authMode: knobs.token ? 'token' : 'none',
          },
          auth,
          policy: { maxPayload: MAX_PAYLOAD_BYTES, maxBufferedBytes: MAX_BUFFERED_BYTES, tickIntervalMs: knobs.tickIntervalMs },
        },
      });
      st.helloed = true;
      st.armTick();
    }

    function scriptedReject(id, r) {
      switch (r.kind) {
        case 'unavailable':
          return rejectConnect(
            id,
            {
              code: 'UNAVAILABLE',
              message: r.message || 'gateway starting',
              details: { reason: r.reason || 'startup-sidecars' },
              retryable: true,
              retryAfterMs: r.retryAfterMs ?? 500,
            },
            1013,
            r.closeReason || 'gateway starting',
          );
        case 'not-paired':
        case 'pairing-required': {
          const requestId = r.requestId || crypto.randomUUID();
          return rejectConnect(
            id,
            {
              code: 'NOT_PAIRED',
              message: 'pairing required: device is not approved yet',
              details: {
                code: 'PAIRING_REQUIRED', reason: r.reason || 'not-paired', requestId,
                recommendedNextStep: 'wait_then_retry', retryable: false, pauseReconnect: true,
                ...(params().device ? { deviceId: params().device.id } : {}),
              },
            },
            1008,
            `pairing required: device is not approved yet (requestId: ${requestId})`,
          );
        }
        case 'device-identity-required':
          return rejectConnect(id, { code: 'NOT_PAIRED', message: 'device identity required', details: { code: 'DEVICE_IDENTITY_REQUIRED' } }, 1008);
        case 'auth-token-mismatch':
          return rejectConnect(
            id,
            {
              code: 'INVALID_REQUEST',
              message: 'unauthorized: gateway token mismatch (provide gateway auth token)',
              details: {
                code: 'AUTH_TOKEN_MISMATCH', authReason: 'token_mismatch',
                canRetryWithDeviceToken: !!r.canRetryWithDeviceToken,
                recommendedNextStep: r.canRetryWithDeviceToken ? 'retry_with_device_token' : 'update_auth_credentials',
              },
            },
            1008,
          );
        case 'protocol-mismatch':
          return rejectConnect(
            id,
            { code: 'INVALID_REQUEST', message: 'protocol mismatch', details: { code: 'PROTOCOL_MISMATCH', expectedProtocol: PROTOCOL_VERSION, minimumProbeProtocol: 3 } },
            1002,
            'protocol mismatch',
          );
        case 'custom':
        default:
          return rejectConnect(id, r.error || { code: 'INVALID_REQUEST', message: 'rejected' }, r.closeCode ?? 1008, r.closeReason);
      }
    }
    function params() {
      return rec.connectParams || {};
    }

    function handleRequest(frame) {
      const envErr = validate(REQUEST_SCHEMA, frame);
      if (envErr) return send({ type: 'res', id: 'invalid', ok: false, error: { code: 'INVALID_REQUEST', message: `invalid request frame: ${envErr}` } });
      if (!knobs.answer) return;
      const { id, method } = frame;
      const p = frame.params ?? {};
      const ok = (payload) => send({ type: 'res', id, ok: true, payload });
      const err = (error) => send({ type: 'res', id, ok: false, error });
      switch (method) {
        case 'health':
          return ok({ ok: true, ts: Date.now(), durationMs: 0 });
        case 'status':
          return ok({ ok: true, connId, uptimeMs: Date.now() - startedAt });
        case 'echo':
          return ok(p);
        case 'fail':
          return err({ code: p.code || 'INVALID_REQUEST', message: p.message || 'failed', ...(p.details !== undefined ? { details: p.details } : {}), ...(p.retryable !== undefined ? { retryable: p.retryable } : {}), ...(p.retryAfterMs !== undefined ? { retryAfterMs: p.retryAfterMs } : {}) });
        case 'hold': {
          const key = String(p.key ?? 'default');
          if (!held.has(key)) held.set(key, []);
          held.get(key).push(() => ok({ key, released: true, params: p }));
          return;
        }
        case 'release': {
          const key = String(p.key ?? 'default');
          const fns = held.get(key) || [];
          held.delete(key);
          ok({ key, released: fns.length });
          for (const fn of fns) fn();
          return;
        }
        case 'agent': {
          const runId = p.runId || crypto.randomUUID();
          ok({ status: 'accepted', runId });
          const final = () => ok({ status: 'ok', runId, result: p });
          if (!knobs.agentFinal) return;
          if (p.holdFinal !== undefined) {
            const key = String(p.holdFinal);
            if (!held.has(key)) held.set(key, []);
            held.get(key).push(final);
          } else {
            final();
          }
          return;
        }
        case 'emit':
          ok({ emitted: true });
          return st.sendEvent(String(p.event || 'test'), p.payload);
        case 'raw':
          ok({ sent: (p.texts || []).length });
          for (const t of p.texts || []) ws.send(String(t));
          return undefined;
        case 'close':
          ok({ closing: true });
          return ws.close(p.code ?? 1000, p.reason ?? '');
        default:
          return err({ code: 'INVALID_REQUEST', message: `unknown method: ${method}` });
      }
    }

    if (knobs.challenge) send({ type: 'event', event: 'connect.challenge', payload: { nonce, ts: Date.now(), capabilities: [] } });
  }

  async function readBody(req) {
    let body = '';
    for await (const c of req) body += c;
    return body ? JSON.parse(body) : {};
  }
  function state() {
    return { port, generation, knobs: { ...knobs }, connections, frames };
  }

  async function onHttp(req, res) {
    const url = new URL(req.url, 'http://x');
    const json = (code, obj) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    try {
      if (url.pathname === '/readyz' || url.pathname === '/healthz') return json(200, { ready: true, ok: true });
      if (req.method === 'GET' && url.pathname === '/__fixture/state') return json(200, state());
      if (req.method === 'POST') {
        const body = await readBody(req);
        switch (url.pathname) {
          case '/__fixture/set':
            return json(200, set(body));
          case '/__fixture/emit':
            return json(200, { sent: emitAll(body.event, body.payload, body.stateVersion ? { stateVersion: body.stateVersion } : {}) });
          case '/__fixture/shutdown':
            doShutdown(body);
            return json(200, { ok: true });
          case '/__fixture/close-all':
            closeAll(body.code, body.reason);
            return json(200, { ok: true });
          case '/__fixture/release':
            return json(200, { released: release(String(body.key ?? 'default')) });
          case '/__fixture/reset':
            connections.length = 0;
            frames.length = 0;
            return json(200, { ok: true });
        }
      }
      json(404, { error: 'not found' });
    } catch (e) {
      json(500, { error: String(e && e.message) });
    }
  }

  function listen(p = 0, host = '127.0.0.1') {
    generation += 1;
    server = knobs.tls ? https.createServer({ cert: knobs.tls.cert, key: knobs.tls.key }, onHttp) : http.createServer(onHttp);
    wss = new WebSocketServer({ server, maxPayload: MAX_PAYLOAD_BYTES, perMessageDeflate: false });
    wss.on('connection', onConnection);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, host, () => {
        port = server.address().port;
        resolve(port);
      });
    });
  }

  async function close({ mode = 'shutdown', restartExpectedMs } = {}) {
    if (!server) return;
    if (mode === 'shutdown') doShutdown({ restartExpectedMs });
    else for (const st of live.values()) st.ws.terminate();
    const s = server;
    const w = wss;
    server = null;
    wss = null;
    await new Promise((resolve) => w.close(() => resolve()));
    for (const st of live.values()) st.ws.terminate();
    await new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections?.();
    });
  }

  Object.assign(knobs, options);
  return {
    listen,
    close,
    set,
    release,
    emit: emitAll,
    shutdown: doShutdown,
    closeAll,
    state,
    connections: () => connections,
    frames: () => frames,
    get port() {
      return port;
    },
  };
}

module.exports = { createFixtureGateway, buildDeviceAuthPayloadV3, buildDeviceAuthPayloadV2, verifyDeviceProof, CLIENT_IDS, CLIENT_MODES };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const arg = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const options = JSON.parse(arg('--options') || process.env.FIXTURE_OPTIONS || '{}');
  const fx = createFixtureGateway(options);
  fx.listen(Number(arg('--port') || 0)).then(
    (p) => process.stdout.write(`FIXTURE_READY ${JSON.stringify({ port: p, pid: process.pid })}\n`),
    (e) => {
      process.stderr.write(`fixture-gateway: listen failed: ${e.message}\n`);
      process.exit(1);
    },
  );
  const bye = () => fx.close({ mode: 'shutdown' }).then(() => process.exit(0));
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
  // Die with the parent: stdin is a pipe from the harness; EOF means the parent is gone.
  if (process.env.FIXTURE_WATCH_STDIN === '1') {
    process.stdin.on('data', () => {});
    process.stdin.on('close', () => process.exit(0));
  }
}
