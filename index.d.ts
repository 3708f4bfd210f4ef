// Type definitions for clawsock: the contract TypeScript channel plugins import.
//
// clawsock is a WebSocket client with its own socket stack (Rust: tokio,
// tungstenite, rustls) behind a napi-rs addon. `WebSocket` is a drop-in for
// `globalThis.WebSocket`; everything beyond WHATWG uses `ws`'s names.
//
// Option names follow one rule: durations are milliseconds. Names that come
// from OpenClaw's reference client and protocol keep their `Ms` suffix
// (`requestTimeoutMs`, `connectTimeoutMs`, `connectChallengeTimeoutMs`,
// `retryAfterMs`, `tickIntervalMs`); `ws`'s names and clawsock's own have none
// (`handshakeTimeout`, `pingInterval`, `reconnect.initialDelay`,
// `reconnect.maxDelay`, the `delay` of a `reconnecting` event). An unknown
// top-level option is ignored with one process warning
// (`CLAWSOCK_UNKNOWN_OPTION`) naming the closest valid one; an unknown key in
// `reconnect`, `queue` or `tls`, or an option of `ws`/undici that clawsock
// cannot honour (`agent`, `perMessageDeflate: true`, …), is a TypeError.

/// <reference types="node" />

/** TLS settings for `wss://` (the names of Node's `tls.connect`). */
export interface TlsOptions {
  /**
   * PEM certificate(s) to trust *instead of* the default roots (as in Node).
   * Without it, clawsock trusts the webpki roots, the system store, and
   * `NODE_EXTRA_CA_CERTS`.
   */
  ca?: string | Buffer | Array<string | Buffer>
  /** `false` accepts any certificate. Default `true`. Never disable in production. */
  rejectUnauthorized?: boolean
  /** Name for SNI and certificate verification. Default: the URL's host. */
  servername?: string
}

/**
 * Where connections go: Happy Eyeballs, proxies and redirects. Shared by
 * `WebSocket`, `ReconnectingWebSocket` and `GatewayClient` (README "Networking").
 */
export interface NetworkOptions {
  /** Happy Eyeballs (RFC 8305, Node's name): race the host's addresses, families interleaved. Default `true`. */
  autoSelectFamily?: boolean
  /** How long one address runs alone before the next starts (ms; below 10 counts as 10). Default 250. */
  autoSelectFamilyAttemptTimeout?: number
  /** `4` or `6`: that address family only. Default `0` (both). */
  family?: 0 | 4 | 6
  /**
   * An `http://` or `https://` forward proxy (HTTP CONNECT; Basic credentials from the URL's userinfo, never printed),
   * `'env'` (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY), or `false` (direct). `{ url, ca }` adds PEM CAs that
   * verify an `https://` proxy. Default: direct, unless `NODE_USE_ENV_PROXY=1` (then `'env'`). When OpenClaw's managed
   * proxy is active (`OPENCLAW_PROXY_ACTIVE=1`) it is always used, `false` included, with OpenClaw's loopback mode.
   * The environment is read when the connection starts.
   */
  proxy?: string | URL | false | 'env' | { url?: string | URL | false | 'env'; ca?: string | Buffer | Array<string | Buffer> }
  /** Follow 301/302/303/307/308 answers to the upgrade (as `ws`). Never from `wss:` to `ws:`; `Authorization` and `Cookie` stay with the original host. Default `false`. */
  followRedirects?: boolean
  /** The most redirects followed. Default 10. */
  maxRedirects?: number
}

/** Options beyond WHATWG: the third constructor argument. */
export interface WebSocketOptions extends NetworkOptions {
  /** Subprotocols, when passing options as the second argument (undici's form: `new WebSocket(url, { protocols, headers })`). */
  protocols?: string | string[]
  /**
   * Extra request headers, e.g. `{ Authorization: 'Bearer …' }`. No `Origin` is sent unless set here.
   * A URL's `user:password@` is sent as `Authorization: Basic …` unless `Authorization` is set here.
   */
  headers?: Record<string, string | string[]> | Iterable<[string, string]>
  /** Sets the `Origin` header (like `ws`). Not sent by default. */
  origin?: string
  /** Deadline in ms for DNS + TCP + TLS + HTTP upgrade. Default 30000. */
  handshakeTimeout?: number
  /** Largest inbound message in bytes; a larger one closes with 1009. Default 100 MiB (as `ws`). */
  maxPayload?: number
  /** TLS settings for `wss://`. */
  tls?: TlsOptions
  /** Send a WebSocket ping this often (ms). Default: off. */
  pingInterval?: number
  /** With `pingInterval`: close with 1006 "pong timeout" if no pong arrives within this many ms. Default 10000. */
  pongTimeout?: number
  /** How long to wait for the server's close frame after `close()` (ms). Default 30000. */
  closeTimeout?: number
  /**
   * Aborting it works like `close()`; an already-aborted signal closes at once. The listener is
   * removed when the client closes.
   */
  signal?: AbortSignal
  /** `ws`'s top-level spelling of `tls.ca` (give one of the two). */
  ca?: TlsOptions['ca']
  /** `ws`'s top-level spelling of `tls.rejectUnauthorized`. */
  rejectUnauthorized?: boolean
  /** `ws`'s top-level spelling of `tls.servername`. */
  servername?: string
  /** `ws` options accepted only with the value that matches what clawsock does: it never negotiates compression, */
  perMessageDeflate?: false
  /** always answers pings, */
  autoPong?: true
  /** dispatches messages that arrived together in one go, */
  allowSynchronousEvents?: true
  /** always validates UTF-8, */
  skipUTF8Validation?: false
  /** and speaks WebSocket version 13 only. */
  protocolVersion?: 13
}

/**
 * The options of `clawsock/ws` (ws's client options): the same checks and
 * names as `WebSocketOptions`. ws options clawsock cannot honour (`agent`,
 * `perMessageDeflate: true`, `createConnection`, …)
 * are a TypeError that says what to use instead. See ws.d.ts for the class.
 */
export interface WsClientOptions extends WebSocketOptions {}

/** `binaryType` of `clawsock/ws` (ws's values). */
export type WsBinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob'

/** `binaryType` values: WHATWG's two plus `ws`'s `'nodebuffer'`. The default is `'blob'`, as the standard says. */
export type BinaryType = 'arraybuffer' | 'blob' | 'nodebuffer'

/** Data accepted by `send`. */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob

/** The `message` event. */
export declare class MessageEvent<T = any> extends Event {
  constructor(type: string, init?: { data?: T; origin?: string })
  readonly data: T
  readonly origin: string
  readonly lastEventId: string
}

/** The `close` event: the server's code and reason exactly as sent (e.g. 4001 "Replaced"). */
export declare class CloseEvent extends Event {
  constructor(type: string, init?: { code?: number; reason?: string; wasClean?: boolean })
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
}

/** The `error` event. Unlike undici's, `message` says what went wrong. */
export declare class ErrorEvent extends Event {
  constructor(type: string, init?: { message?: string; error?: unknown })
  /** e.g. "connection refused by 127.0.0.1:9 …", "unexpected HTTP 403 Forbidden …", "TLS certificate invalid: …" */
  readonly message: string
  /** An Error with `code` (`CLAWSOCK_DNS`, `CLAWSOCK_CONNECTION_REFUSED`, `CLAWSOCK_TLS`, `CLAWSOCK_HTTP_STATUS`, `CLAWSOCK_TIMEOUT`, `CLAWSOCK_PROXY`, `CLAWSOCK_CONNECTION`, …) and, for HTTP, `status`. */
  readonly error: (Error & { code?: string; status?: number }) | undefined
}

export interface WebSocketEventMap {
  open: Event
  message: MessageEvent
  error: ErrorEvent
  close: CloseEvent
}

/**
 * A WHATWG-compatible WebSocket (drop-in for `globalThis.WebSocket`), with
 * its own socket stack. An open or connecting socket keeps Node's event loop
 * alive; a closed one does not.
 */
export declare class WebSocket extends EventTarget {
  /**
   * `url` may be relative when `globalThis.location` is set. `options` is
   * clawsock's extension; a third argument that is not an object is ignored.
   */
  constructor(url: string | URL, protocols?: string | string[], options?: WebSocketOptions)
  constructor(url: string | URL, options?: WebSocketOptions)

  static readonly CONNECTING: 0
  static readonly OPEN: 1
  static readonly CLOSING: 2
  static readonly CLOSED: 3
  readonly CONNECTING: 0
  readonly OPEN: 1
  readonly CLOSING: 2
  readonly CLOSED: 3

  /** The URL as given, resolved and serialized (a `user:password@` in it stays, as in Node). */
  readonly url: string
  readonly readyState: 0 | 1 | 2 | 3
  /** The subprotocol the server selected, or "". */
  readonly protocol: string
  readonly extensions: string
  /** Bytes queued by `send` and not yet written to the socket (exact). */
  readonly bufferedAmount: number
  /**
   * How binary messages arrive: `'blob'` (the default, as the standard says), `'arraybuffer'`,
   * or `'nodebuffer'` (a Buffer, no copy: the fastest). Other values are ignored.
   */
  binaryType: BinaryType

  onopen: ((this: WebSocket, ev: Event) => any) | null
  onmessage: ((this: WebSocket, ev: MessageEvent) => any) | null
  onerror: ((this: WebSocket, ev: ErrorEvent) => any) | null
  onclose: ((this: WebSocket, ev: CloseEvent) => any) | null

  /** Sends a message. Throws `InvalidStateError` while CONNECTING (as the spec says). */
  send(data: SendData): void
  /** Resolves when the frame is written to the socket; rejects if the connection closes first. */
  sendAsync(data: SendData): Promise<void>
  /** Starts the closing handshake. `code` must be 1000 or 3000–4999; `reason` at most 123 UTF-8 bytes. */
  close(code?: number, reason?: string): void
  /** Drops the connection at once, without a closing handshake (like `ws`). */
  terminate(): void
  /** Iterates incoming messages; ends at a clean close, throws on an abnormal one. */
  [Symbol.asyncIterator](): AsyncIterableIterator<any>

  addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, ev: WebSocketEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void
  removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, ev: WebSocketEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void
}

export default WebSocket

// ---------------------------------------------------------------------------
// ReconnectingWebSocket

/** Reconnect policy. Delays in ms. The same keys for `GatewayClient`, except `finalCodes`. */
export interface ReconnectOptions {
  /** First delay. Default 1000. */
  initialDelay?: number
  /** Largest delay. Default 30000. */
  maxDelay?: number
  /** Growth per attempt. Default 2. */
  factor?: number
  /** `'full'`: uniform in [0, d] (default); `'equal'`: d/2 + uniform [0, d/2]; `'none'`. */
  jitter?: 'full' | 'equal' | 'none'
  /** Give up after this many consecutive failed attempts. Default Infinity. */
  maxRetries?: number
  /** The delay resets only after a connection stayed open this long. Default 5000. */
  stableAfter?: number
  /**
   * Server close codes that mean "do not come back". Default
   * `[1002, 1003, 1007, 1008, 1009, 4001, 4003]`. A function is asked about
   * every server-initiated close.
   */
  finalCodes?: number[] | ((code: number, reason: string) => boolean)
  /** Stop after this many consecutive connections closed by the server within `flapWindow` of opening. Default 5; 0 turns it off. */
  flapThreshold?: number
  /** Default 2000. */
  flapWindow?: number
}

/** The bounded queue for messages sent while disconnected. */
export interface QueueOptions {
  /** Default 1000. */
  maxMessages?: number
  /** Default 1 MiB. */
  maxBytes?: number
  /** What to do when full: reject the new message (default) or drop the oldest. */
  overflow?: 'reject-new' | 'drop-oldest'
}

/** A value, or a function called before every attempt that returns (or resolves to) it: fresh credentials per attempt. */
export type PerAttempt<T> = T | (() => T | Promise<T>)

/** The error of a failed attempt, as `isFinalHandshakeError` and the `error` event see it. */
export interface HandshakeError extends Error {
  /** `CLAWSOCK_HTTP_STATUS`, `CLAWSOCK_TLS`, `CLAWSOCK_CONNECTION_REFUSED`, … */
  code?: string
  /** The HTTP status of a refused upgrade. */
  status?: number
  /** Whether this failure stops reconnecting by default (400, 401, 403, 404, 405, 410, 426, a rejected certificate). */
  finalByDefault?: boolean
}

export interface ReconnectingWebSocketOptions extends Omit<WebSocketOptions, 'headers' | 'protocols'> {
  /** Request headers, or a function called before every attempt that returns them. */
  headers?: PerAttempt<Record<string, string | string[]> | Iterable<[string, string]>>
  /** Subprotocols, or a function called before every attempt that returns them. */
  protocols?: PerAttempt<string | string[]>
  reconnect?: ReconnectOptions
  queue?: QueueOptions
  /**
   * Decides whether a failed attempt stops reconnecting for good (`true`), instead of the
   * default rule (`error.finalByDefault`). 429 and 503 wait for `Retry-After` either way.
   */
  isFinalHandshakeError?: (error: HandshakeError) => boolean
  /**
   * The application's ready step (authentication), run after each `open`. Until it resolves,
   * `open` means transport-open only: the send queue holds (`send()` queues), the connection
   * does not count as opened (the backoff does not reset, the flapping guard does not count it),
   * and `ready` has not fired. Send the step's own messages with `sendNow()`. If it rejects or
   * throws, an `error` event carries its error, the connection is closed with 1011
   * `"ready failed: <message>"`, and the attempt counts as failed.
   */
  ready?: (socket: ReconnectingWebSocket) => Promise<void> | void
  /**
   * How long the `ready` step may take per connection, in ms (default 30000; 0: no limit).
   * When it runs out, an `error` event fires (`error.code` `'CLAWSOCK_READY_TIMEOUT'`), the
   * connection is closed with 1011 `"ready timed out after <ms> ms"`, the attempt counts as
   * failed, and the step's later answer is ignored. Only with `ready`.
   */
  readyTimeout?: number
}

/** Why a ReconnectingWebSocket stopped for good. */
export interface Terminal {
  code: number
  reason: string
  /** A plain sentence: what happened, and what to do. For 4001 it names the identity conflict. */
  message: string
  kind: 'final-code' | 'flapping' | 'retries-exhausted' | 'handshake-rejected' | 'user-closed'
  /** For `'flapping'`: the close codes seen. */
  codes?: readonly number[]
  /** For `'handshake-rejected'`: the HTTP status (absent for a rejected certificate). */
  status?: number
}

/** `reconnecting`: a new attempt is scheduled. */
export declare class ReconnectingEvent extends Event {
  readonly attempt: number
  /** ms until the attempt. */
  readonly delay: number
  readonly lastClose: { code: number; reason: string }
  /** Whether the server set the delay (`Retry-After` on a 429 or 503 answer). */
  readonly fromServer: boolean
  /** The server's `Retry-After` in ms (capped at 5 minutes), or null. */
  readonly retryAfter: number | null
}

/** `terminal`: the client stopped and will not reconnect. Always the last event. */
export declare class TerminalEvent extends Event implements Terminal {
  readonly code: number
  readonly reason: string
  readonly message: string
  readonly kind: Terminal['kind']
  readonly codes?: readonly number[]
  readonly status?: number
}

/** `dropped`: messages that will not be delivered, handed back with the reason. */
export declare class DroppedEvent extends Event {
  readonly messages: ReadonlyArray<{ data: any; reason: string }>
}

export interface ReconnectingWebSocketEventMap {
  /** The transport opened (with a `ready` option: not yet ready). */
  open: Event
  /** The application is ready (right after `open` without a `ready` option): the queue was flushed. */
  ready: Event
  message: MessageEvent
  error: ErrorEvent
  close: CloseEvent
  reconnecting: ReconnectingEvent
  terminal: TerminalEvent
  dropped: DroppedEvent
}

/**
 * A WebSocket that reconnects with backoff and jitter, stops for good on
 * final close codes (4001 "Replaced" first of all) and on flapping, and keeps
 * a bounded send queue while disconnected. Nothing is lost silently: what
 * cannot be delivered comes back through `dropped` and `sendAsync` rejections.
 */
export declare class ReconnectingWebSocket extends EventTarget {
  /** `url` and `protocols` may be functions, called before every attempt (fresh credentials). */
  constructor(url: PerAttempt<string | URL>, protocols?: PerAttempt<string | string[]>, options?: ReconnectingWebSocketOptions)
  constructor(url: PerAttempt<string | URL>, options?: ReconnectingWebSocketOptions)
  readonly url: string
  readonly protocol: string
  readonly extensions: string
  readonly state: 'connecting' | 'open' | 'reconnecting' | 'closed'
  /** Why it stopped, once `state` is `'closed'`. */
  readonly terminalReason: Terminal | null
  readonly stats: { connects: number; reconnects: number; messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number }
  readonly queued: { messages: number; bytes: number }
  binaryType: BinaryType

  /** Sends now, or queues while disconnected. `false`: rejected (see `dropped`). Never throws for a full queue. */
  send(data: string | ArrayBufferLike | ArrayBufferView): boolean
  /** Resolves once written to a socket; rejects with `code` `CLAWSOCK_QUEUE_FULL` | `CLAWSOCK_DROPPED` | `CLAWSOCK_CLOSED` | `CLAWSOCK_TERMINAL`. */
  sendAsync(data: string | ArrayBufferLike | ArrayBufferView): Promise<void>
  /**
   * Writes now on the open connection, past the queue and the `ready` gate (the ready step's
   * own messages). `false`: no connection is open; nothing was sent or queued.
   */
  sendNow(data: string | ArrayBufferLike | ArrayBufferView): boolean
  /** Stops in any state, at once; ends with `terminal` kind `'user-closed'`. */
  close(code?: number, reason?: string): void

  onopen: ((this: ReconnectingWebSocket, ev: Event) => any) | null
  onready: ((this: ReconnectingWebSocket, ev: Event) => any) | null
  onmessage: ((this: ReconnectingWebSocket, ev: MessageEvent) => any) | null
  onerror: ((this: ReconnectingWebSocket, ev: ErrorEvent) => any) | null
  onclose: ((this: ReconnectingWebSocket, ev: CloseEvent) => any) | null
  onreconnecting: ((this: ReconnectingWebSocket, ev: ReconnectingEvent) => any) | null
  onterminal: ((this: ReconnectingWebSocket, ev: TerminalEvent) => any) | null
  ondropped: ((this: ReconnectingWebSocket, ev: DroppedEvent) => any) | null

  addEventListener<K extends keyof ReconnectingWebSocketEventMap>(
    type: K,
    listener: (this: ReconnectingWebSocket, ev: ReconnectingWebSocketEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void
  removeEventListener<K extends keyof ReconnectingWebSocketEventMap>(
    type: K,
    listener: (this: ReconnectingWebSocket, ev: ReconnectingWebSocketEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void
}

// ---------------------------------------------------------------------------
// OpenClaw gateway

/**
 * An ed25519 device identity. `deviceId` is the lowercase hex SHA-256 of the
 * raw public key; `publicKey` is base64url (no padding). The private key is
 * never printed, logged or serialised by `toJSON`.
 *
 * File format (`save`, mode 0600, written atomically):
 * `{"version":1,"deviceId":"…","publicKey":"<b64url>","privateKey":"<b64url seed>","createdAtMs":…}`.
 * `load` refuses files that group or others can read.
 */
export declare class DeviceIdentity {
  static generate(): DeviceIdentity
  static load(path: string): DeviceIdentity
  static loadOrCreate(path: string): DeviceIdentity
  save(path: string): void
  readonly deviceId: string
  readonly publicKey: string
  readonly createdAtMs: number
  toJSON(): { deviceId: string; publicKey: string }
}

/** A gateway error: from the server (`res.error`) or local. */
export declare class GatewayError extends Error {
  name: 'GatewayError' | 'AbortError'
  /**
   * Server codes: `INVALID_REQUEST`, `FORBIDDEN`, `UNAVAILABLE`, `NOT_PAIRED`, …
   * Local codes: `TIMEOUT`, `CLOSED`, `PAYLOAD_TOO_LARGE`, `CONNECT_PAUSED`, `STOPPED`, `ABORTED`, `NOT_CONNECTED`.
   */
  code: string
  details?: any
  retryable: boolean
  retryAfterMs?: number
  method?: string
  /** `details.code`, e.g. `AUTH_TOKEN_MISMATCH`, `MISSING_SCOPE`. */
  readonly detailCode?: string
}

export type GatewayState = 'connecting' | 'handshaking' | 'ready' | 'reconnecting' | 'paused' | 'closed'

export interface GatewayClientOptions extends NetworkOptions {
  /** Default `ws://127.0.0.1:18789`. A function is called before every attempt. */
  url?: PerAttempt<string | URL>
  /** The shared gateway token. A function is called before every attempt. */
  token?: PerAttempt<string>
  /** As for ReconnectingWebSocket: decides which failed upgrades are final. */
  isFinalHandshakeError?: (error: HandshakeError) => boolean
  /** Aborting it works like `close()`; an already-aborted signal closes at once. */
  signal?: AbortSignal
  /**
   * Extra upgrade headers on every attempt, e.g. Cloudflare Access's `CF-Access-Client-Id` and
   * `CF-Access-Client-Secret` (the reference client's `edgeAuthHeaders`).
   */
  headers?: Record<string, string | string[]> | Iterable<[string, string]>
  /** The `Origin` header. Not sent by default. */
  origin?: string
  /**
   * Pins the gateway's TLS certificate by the SHA-256 of its leaf (DER), in OpenClaw's format:
   * 64 hex digits or colon-separated pairs, optionally prefixed `sha256:`. Replaces CA and name
   * verification for this client (for `gateway.tls`'s self-signed certificate); a mismatch stops
   * before the upgrade request (no header or token is sent) and is final. Needs `wss://`.
   */
  tlsFingerprint?: string
  /**
   * Plaintext `ws://` is refused for hosts that are not loopback, private, link-local, CGNAT, ULA,
   * `.local` or `.ts.net` (the reference's rule; `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1` also allows
   * host names). `true` turns the check off.
   */
  allowPlaintext?: boolean
  password?: string
  bootstrapToken?: string
  deviceToken?: string
  /** A DeviceIdentity, or the path of a key file (created if missing). */
  identity?: DeviceIdentity | string
  /** Where issued device tokens are kept, keyed by (gateway URL, deviceId, role). Default: in memory. */
  tokenStorePath?: string
  /** `client.id`. Default `'gateway-client'`. Must be one the gateway accepts. */
  clientName?: string
  /** `client.mode`. Default `'backend'`. */
  mode?: string
  clientVersion?: string
  /** Default `process.platform`. Keep it stable per device key. */
  platform?: string
  deviceFamily?: string
  displayName?: string
  instanceId?: string
  /** Default `'operator'`. */
  role?: 'operator' | 'node'
  /** Default `['operator.read', 'operator.write']` (or the stored token's scopes when connecting on it alone). */
  scopes?: string[]
  caps?: string[]
  locale?: string
  userAgent?: string
  /** Default 30000; `null`: no default timeout. */
  requestTimeoutMs?: number | null
  /** Wait for `connect.challenge`. Default 15000 (then close 1008 "connect challenge timeout"). */
  connectChallengeTimeoutMs?: number
  /** Wait for hello-ok after `connect`. Default 15000 (then close 4000 "connect timeout"). */
  connectTimeoutMs?: number
  /** DNS + TCP + TLS + upgrade, in ms. Default 15000. */
  handshakeTimeout?: number
  /** @deprecated Use `handshakeTimeout` (giving both is an error). */
  handshakeTimeoutMs?: number
  /** Inbound message limit. Default 100 MiB. */
  maxPayload?: number
  /**
   * `false` disables reconnecting. Defaults: 1000 / 30000 / ×2 / unlimited / `'full'`.
   * There is no `finalCodes`: the gateway client pauses on auth and pairing errors by the connect error's `details.code`.
   */
  reconnect?: boolean | GatewayReconnectOptions
  tls?: TlsOptions
  /** `ws`'s top-level spelling of `tls.ca` (give one of the two). */
  ca?: TlsOptions['ca']
  /** `ws`'s top-level spelling of `tls.rejectUnauthorized`. */
  rejectUnauthorized?: boolean
  /** `ws`'s top-level spelling of `tls.servername`. */
  servername?: string
}

/** `GatewayClient`'s `reconnect`: `ReconnectingWebSocket`'s keys, without `finalCodes`. */
export interface GatewayReconnectOptions extends Omit<ReconnectOptions, 'finalCodes'> {
  /** @deprecated Use `initialDelay` (giving both is an error). */
  initialDelayMs?: number
  /** @deprecated Use `maxDelay` (giving both is an error). */
  maxDelayMs?: number
}

/** The `reconnecting` event of `GatewayClient`. */
export interface GatewayReconnectingInfo {
  attempt: number
  /** ms until the attempt. */
  delay: number
  /** @deprecated Use `delay` (the same value). */
  delayMs: number
  /** Whether the server set the delay (`Retry-After`). */
  fromServer: boolean
  /** The server's `Retry-After` in ms, or null. */
  retryAfter: number | null
}

export interface GatewayRequestOptions {
  /** Default: the client's `requestTimeoutMs`; `null`: none. With `expectFinal` and no `timeoutMs`: none. */
  timeoutMs?: number | null
  signal?: AbortSignal
  /** Wait past a provisional `{status: "accepted"}` reply for the final one. */
  expectFinal?: boolean
  onAccepted?(payload: any): void
}

export interface GatewayEventFrame {
  event: string
  payload: any
  seq?: number
  stateVersion?: { presence: number; health: number }
}

export interface GatewayMethodStats { count: number; errors: number; avgMs: number; p50Ms: number; p90Ms: number; maxMs: number }

/** Why the client stopped connecting, and what to do. */
export interface GatewayPausedInfo {
  code: number
  reason: string
  /** e.g. `AUTH_TOKEN_MISMATCH`, `PAIRING_REQUIRED`, `DEVICE_AUTH_SIGNATURE_INVALID`. */
  detailCode: string
  message: string
  /** e.g. "pairing required: run `openclaw devices approve <requestId>` on the gateway host". */
  nextStep: string
  error: GatewayError
}

export interface GatewayClientEvents {
  state: (state: GatewayState, previous: GatewayState) => void
  hello: (hello: any) => void
  paused: (info: GatewayPausedInfo) => void
  reconnecting: (info: GatewayReconnectingInfo) => void
  disconnect: (info: { code: number; reason: string; byServer: boolean; phase: 'pre-hello' | 'post-hello' }) => void
  close: (info: { code: number; reason: string; message: string; kind: 'user-closed' | 'final-code' | 'flapping' | 'retries-exhausted' | 'handshake-rejected'; status?: number }) => void
  error: (err: Error & { kind?: 'dial' | 'frame' | 'token-store' }) => void
  gap: (gap: { expected: number; received: number }) => void
  seq: (info: { kind: 'gap'; expected: number; received: number } | { kind: 'duplicate' | 'backwards'; last: number; received: number }) => void
  stateVersion: (v: { presence: number; health: number }) => void
  event: (frame: GatewayEventFrame) => void
}

/**
 * An OpenClaw gateway client: protocol 4 (min 3, max 4), challenge + signed
 * connect, hello-ok, requests, events with seq tracking, the tick watchdog,
 * reconnect with jitter, and a pause (not a loop) on terminal auth errors.
 */
export declare class GatewayClient {
  constructor(options?: GatewayClientOptions)
  readonly state: GatewayState
  /** The hello-ok payload: `server`, `features`, `snapshot`, `auth` (device token stripped), `policy`. */
  readonly hello: any | null
  readonly policy: { maxPayload: number; maxBufferedBytes: number; tickIntervalMs: number; [k: string]: any } | null
  readonly stateVersion: { presence: number; health: number } | null
  /** Per-method request timing. */
  readonly stats: Record<string, GatewayMethodStats>
  requestStats(): Record<string, GatewayMethodStats>
  readonly pendingRequests: number
  /** Held until hello-ok; rejects with a GatewayError (at once with code CONNECT_PAUSED while paused; pending ones when the client pauses). */
  request<T = any>(method: string, params?: unknown, opts?: GatewayRequestOptions): Promise<T>
  /** Resolves with hello-ok; rejects when paused or closed. */
  ready(): Promise<any>
  close(): Promise<void>
  /**
   * Connect again after `paused`. While paused no socket is open and the
   * client does not keep Node's event loop alive; `resume()` takes it back.
   */
  resume(): void
  on<K extends keyof GatewayClientEvents>(name: K, fn: GatewayClientEvents[K]): this
  /** Any gateway event by name, e.g. `'tick'`, `'presence'`, `'shutdown'`. */
  on(name: string, fn: (payload: any, frame: GatewayEventFrame) => void): this
  once<K extends keyof GatewayClientEvents>(name: K, fn: GatewayClientEvents[K]): this
  once(name: string, fn: (payload: any, frame: GatewayEventFrame) => void): this
  off(name: string, fn: (...args: any[]) => void): this
  listenerCount(name: string): number
}
