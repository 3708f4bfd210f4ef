// clawsock/openclaw: run a clawsock client as an OpenClaw channel account
// (plugin.gateway.startAccount(ctx)). The types below are the parts of
// OpenClaw's ChannelGatewayContext, ChannelLogSink and ChannelAccountSnapshot
// (openclaw/plugin-sdk) that runChannel reads and writes, so OpenClaw's own
// `ctx` fits without a cast.
import type { WebSocket, ReconnectingWebSocket, GatewayClient } from './index'

/** OpenClaw's ChannelLogSink: one string per call. */
export interface ChannelLogSink {
  info: (msg: string) => void
  warn: (msg: string) => void
  error: (msg: string) => void
  debug?: (msg: string) => void
}

/** The ChannelAccountSnapshot fields runChannel writes (the rest of the snapshot is kept as it is). */
export interface ChannelSocketStatus {
  accountId: string
  running?: boolean
  connected?: boolean
  reconnectAttempts?: number
  lastConnectedAt?: number | null
  lastDisconnect?: string | { at: number; status?: number; error?: string; loggedOut?: boolean } | null
  lastError?: string | null
  lastInboundAt?: number | null
  lastOutboundAt?: number | null
  lastTransportActivityAt?: number | null
  lastStartAt?: number | null
  lastStopAt?: number | null
  stateReason?: string
  terminalDisconnect?: boolean
  lifecycle?: 'starting' | 'ready' | 'recovering' | 'blocked' | 'stopped'
}

/** The parts of OpenClaw's ChannelGatewayContext that runChannel uses. */
export interface ChannelContext<Snapshot extends ChannelSocketStatus = ChannelSocketStatus> {
  abortSignal: AbortSignal
  accountId?: string
  log?: ChannelLogSink
  getStatus?: () => Snapshot
  setStatus: (next: Snapshot) => void
}

export interface RunChannelOptions {
  /** Values (tokens, passwords) to replace by `***` in every log line and status field, besides the built-in patterns. */
  secrets?: string[]
  /** Publish traffic timestamps (`lastInboundAt`, `lastOutboundAt`) at most this often (ms). Default 1000. */
  activityInterval?: number
  /** The prefix of log lines. Default `'clawsock'`. */
  name?: string
}

/**
 * Runs `client` as the account of `ctx` until `ctx.abortSignal` aborts, keeping the account's
 * snapshot up to date (`lifecycle` `starting` → `ready` ⇄ `recovering`; `blocked` with `lastError`
 * on a stop reconnecting cannot fix, such as 4001 "Replaced" or a paused gateway client; `stopped`
 * after the abort) and logging to `ctx.log`, redacted. The abort closes the client; the promise
 * resolves once it has closed. A blocked account keeps the promise pending until the abort, so the
 * host does not restart it into the same conflict.
 */
export declare function runChannel<Snapshot extends ChannelSocketStatus>(
  ctx: ChannelContext<Snapshot>,
  client: WebSocket | ReconnectingWebSocket | GatewayClient,
  options?: RunChannelOptions,
): Promise<void>

/**
 * For `plugin.status.buildAccountSnapshot({ account, runtime })`: the fields runChannel keeps,
 * from OpenClaw's runtime record. OpenClaw's default status projection drops some of them
 * (`lastError`, `lastDisconnect`, `stateReason`); with this adapter `openclaw channels status`
 * shows them.
 */
export declare function accountSnapshot<Snapshot extends ChannelSocketStatus>(runtime: Snapshot | undefined, accountId?: string): Snapshot

/** `text` without credentials: URL user info, token/password/key/secret parameters, Bearer/Basic values, and `secrets`. */
export declare function redact(text: string, secrets?: string[]): string
