// Type definitions for clawsock: the contract TypeScript channel plugins import.
//
// clawsock is a WebSocket client with its own socket stack (Rust: tokio,
// tungstenite, rustls) behind a napi-rs addon. `WebSocket` is a drop-in for
// `globalThis.WebSocket`; everything beyond WHATWG uses `ws`'s names.

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

/** Options beyond WHATWG: the third constructor argument. */
export interface WebSocketOptions {
  /** Subprotocols, when passing options as the second argument. */
  protocols?: string | string[]
  /** Extra request headers, e.g. `{ Authorization: 'Bearer …' }`. No `Origin` is sent unless set here. */
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
}

/** `binaryType` values: WHATWG's two plus `ws`'s `'nodebuffer'`. */
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
  /** An Error with `code` (`CLAWSOCK_DNS`, `CLAWSOCK_CONNECTION_REFUSED`, `CLAWSOCK_TLS`, `CLAWSOCK_HTTP_STATUS`, `CLAWSOCK_TIMEOUT`, `CLAWSOCK_CONNECTION`, …) and, for HTTP, `status`. */
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

  readonly url: string
  readonly readyState: 0 | 1 | 2 | 3
  /** The subprotocol the server selected, or "". */
  readonly protocol: string
  readonly extensions: string
  /** Bytes queued by `send` and not yet written to the socket (exact). */
  readonly bufferedAmount: number
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
