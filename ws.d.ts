// Type definitions for `clawsock/ws`: ws's client contract (as @types/ws
// declares it for ws 8) over clawsock's socket stack. The options are
// `WsClientOptions` in index.d.ts. What differs from ws: README.md,
// "Coming from ws".

/// <reference types="node" />

import { EventEmitter } from 'node:events'
import { Duplex, DuplexOptions, Readable } from 'node:stream'
import type { IncomingHttpHeaders } from 'node:http'
import type { WsClientOptions, WsBinaryType } from './index'

type WebSocketAlias = WebSocket
declare const WebSocketClass: typeof WebSocket

/** What `send`, `ping` and `pong` take (a number is sent as its string, as ws does). */
type Data = string | number | Buffer | ArrayBuffer | ArrayBufferView

/** The response in `upgrade` and `unexpected-response`: a Readable of the body (refusals: its first 200 bytes). */
interface ResponseLike extends Readable {
  statusCode: number
  statusMessage: string
  headers: IncomingHttpHeaders
  rawHeaders: string[]
}

/** The request in `unexpected-response` (the handshake has already failed; abort() and destroy() do nothing). */
interface RequestLike {
  method: 'GET'
  host: string
  path: string
  abort(): void
  destroy(): void
}

/** The event objects of addEventListener / on<event> (ws's event-target). */
interface WsEvent { readonly type: string; readonly target: WebSocketAlias }
interface WsMessageEvent extends WsEvent { readonly data: string | Buffer | ArrayBuffer | Buffer[] | Blob }
interface WsCloseEvent extends WsEvent { readonly code: number; readonly reason: string; readonly wasClean: boolean }
interface WsErrorEvent extends WsEvent { readonly error: Error & { code?: string; status?: number }; readonly message: string }

declare class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0
  static readonly OPEN: 1
  static readonly CLOSING: 2
  static readonly CLOSED: 3
  readonly CONNECTING: 0
  readonly OPEN: 1
  readonly CLOSING: 2
  readonly CLOSED: 3

  constructor(address: string | URL, options?: WsClientOptions)
  constructor(address: string | URL, protocols?: string | string[], options?: WsClientOptions)

  binaryType: WsBinaryType
  readonly bufferedAmount: number
  readonly extensions: string
  readonly isPaused: boolean
  readonly protocol: string
  readonly readyState: 0 | 1 | 2 | 3
  readonly url: string

  onopen: ((event: WsEvent) => void) | null
  onerror: ((event: WsErrorEvent) => void) | null
  onclose: ((event: WsCloseEvent) => void) | null
  onmessage: ((event: WsMessageEvent) => void) | null

  /** `fin: false` holds the data until a send with `fin: true`, then sends the parts as one message; `mask: false` throws (a client always masks); `compress` is accepted, nothing is compressed. `cb` runs once written. */
  send(data: Data, cb?: (err?: Error | null) => void): void
  send(data: Data, options: { binary?: boolean; compress?: boolean; fin?: boolean; mask?: true }, cb?: (err?: Error | null) => void): void
  /** At most 125 bytes of data. `cb` runs once the ping is queued for writing. */
  ping(data?: Data, mask?: boolean, cb?: (err: Error | null) => void): void
  pong(data?: Data, mask?: boolean, cb?: (err: Error | null) => void): void
  close(code?: number, reason?: string | Buffer): void
  terminate(): void
  pause(): void
  resume(): void

  addEventListener(type: 'open', listener: (event: WsEvent) => void, options?: { once?: boolean }): void
  addEventListener(type: 'message', listener: (event: WsMessageEvent) => void, options?: { once?: boolean }): void
  addEventListener(type: 'close', listener: (event: WsCloseEvent) => void, options?: { once?: boolean }): void
  addEventListener(type: 'error', listener: (event: WsErrorEvent) => void, options?: { once?: boolean }): void
  removeEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (...args: any[]) => void): void

  on(event: 'open', listener: (this: WebSocket) => void): this
  on(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this
  on(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this
  on(event: 'error', listener: (this: WebSocket, err: Error & { code?: string; status?: number }) => void): this
  on(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this
  on(event: 'upgrade', listener: (this: WebSocket, res: ResponseLike) => void): this
  on(event: 'unexpected-response', listener: (this: WebSocket, req: RequestLike, res: ResponseLike) => void): this
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this
  once(event: 'open', listener: (this: WebSocket) => void): this
  once(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this
  once(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this
  once(event: 'error', listener: (this: WebSocket, err: Error & { code?: string; status?: number }) => void): this
  once(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this
  off(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this
}

declare namespace WebSocket {
  /** What a `message` event carries: a Buffer (text always), or per binaryType an ArrayBuffer, Buffer[] or Blob. */
  type RawData = Buffer | ArrayBuffer | Buffer[] | Blob
  type ClientOptions = WsClientOptions
  const WebSocket: typeof WebSocketClass
  interface WebSocket extends WebSocketAlias {}
  /** ws's createWebSocketStream: a Duplex over the socket. */
  function createWebSocketStream(websocket: WebSocketAlias, options?: DuplexOptions): Duplex
}

export = WebSocket
