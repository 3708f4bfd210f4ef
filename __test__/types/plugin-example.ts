// Written the way an OpenClaw channel plugin uses clawsock. It is only
// typechecked (tsc --strict --noEmit) against index.d.ts, never run.
import WebSocketDefault, { WebSocket, CloseEvent, MessageEvent, ErrorEvent, type WebSocketOptions } from 'clawsock'

const options: WebSocketOptions = {
  headers: { Authorization: 'Bearer token-from-config' },
  handshakeTimeout: 10_000,
  maxPayload: 1 << 20,
  tls: { ca: process.env.BOTCIV_CA, rejectUnauthorized: true },
  pingInterval: 20_000,
  pongTimeout: 5_000,
  autoSelectFamily: true,
  autoSelectFamilyAttemptTimeout: 250,
  family: 0,
  proxy: process.env.BOTCIV_PROXY ?? 'env',
  followRedirects: true,
  maxRedirects: 5,
}

const viaPrivateProxy: WebSocketOptions = { proxy: { url: new URL('https://proxy.invalid:8443'), ca: [Buffer.from('')] } }
void viaPrivateProxy

export function relay(url: string, onChat: (text: string) => void): WebSocket {
  const ws = new WebSocket(url, [], options)
  ws.binaryType = 'nodebuffer'
  ws.onopen = () => ws.send(JSON.stringify({ type: 'hello' }))
  ws.onmessage = (ev: MessageEvent) => {
    if (typeof ev.data === 'string') onChat(ev.data)
  }
  ws.addEventListener('close', (ev: CloseEvent) => {
    const why: string = `${ev.code} ${ev.reason} clean=${ev.wasClean}`
    console.log(why)
  })
  ws.addEventListener('error', (ev: ErrorEvent) => console.error(ev.message, ev.error?.code))
  return ws
}

export async function drain(url: string): Promise<number> {
  const ws = new WebSocketDefault(url)
  let n = 0
  for await (const _ of ws) n++
  await ws.sendAsync('done').catch(() => undefined)
  const state: 0 | 1 | 2 | 3 = ws.readyState
  return n + state + ws.bufferedAmount
}

import { ReconnectingWebSocket, type Terminal, type ReconnectingWebSocketOptions } from 'clawsock'

export function channel(url: string, log: (line: string) => void): ReconnectingWebSocket {
  const opts: ReconnectingWebSocketOptions = {
    headers: { 'X-Agent': '1' },
    reconnect: { initialDelay: 500, maxDelay: 10_000, jitter: 'full', finalCodes: (code) => code === 4001 || code === 4003 },
    queue: { maxMessages: 100, overflow: 'drop-oldest' },
  }
  const rws = new ReconnectingWebSocket(url, opts)
  rws.addEventListener('reconnecting', (e) => log(`retry #${e.attempt} in ${e.delay} ms after ${e.lastClose.code}`))
  rws.onterminal = (e) => log(`${e.kind}: ${e.message}`)
  rws.addEventListener('dropped', (e) => e.messages.forEach((m) => log(`not delivered: ${m.reason}`)))
  const ok: boolean = rws.send(JSON.stringify({ type: 'chat_message', content: 'hello' }))
  void rws.sendAsync('x').catch((err: Error & { code?: string }) => log(String(err.code)))
  const stopped: Terminal | null = rws.terminalReason
  log(`${ok} ${rws.state} ${stopped?.kind ?? ''} ${rws.stats.connects} ${rws.queued.messages}`)
  return rws
}

import { GatewayClient, GatewayError, DeviceIdentity, type GatewayPausedInfo } from 'clawsock'

export async function operator(url: string, token: string): Promise<number> {
  const identity = DeviceIdentity.loadOrCreate('/tmp/device.json')
  const client = new GatewayClient({
    url, token, identity, clientName: 'cli', mode: 'cli', scopes: ['operator.read'],
    handshakeTimeout: 10_000, reconnect: { initialDelay: 250, maxDelay: 5_000, flapThreshold: 3 },
  })
  client.on('reconnecting', ({ attempt, delay }) => console.log(`retry #${attempt} in ${delay} ms`))
  client.on('tick', (payload, frame) => console.log(frame.seq, payload))
  client.on('gap', ({ expected, received }) => console.log(expected, received))
  client.on('paused', (p: GatewayPausedInfo) => console.error(p.detailCode, p.nextStep))
  client.on('state', (s, prev) => console.log(prev, '->', s))
  const hello = await client.ready()
  try {
    const health = await client.request<{ ok: boolean }>('health', {}, { timeoutMs: 5000 })
    return health.ok ? hello.protocol : -1
  } catch (err) {
    if (err instanceof GatewayError) console.error(err.code, err.detailCode, err.retryAfterMs)
    return -1
  } finally {
    await client.close()
  }
}

// clawsock/openclaw in plugin.gateway.startAccount(ctx), with a ctx of OpenClaw's shape.
import { ReconnectingWebSocket as Rws, GatewayClient as Gw } from 'clawsock'
import { runChannel, redact, type ChannelContext, type ChannelSocketStatus } from 'clawsock/openclaw'

type Snapshot = ChannelSocketStatus & { configured?: boolean; mode?: string }

export async function startAccount(ctx: ChannelContext<Snapshot> & { account: { url: string; token: string } }): Promise<void> {
  const ws = new Rws(ctx.account.url, {
    signal: ctx.abortSignal,
    ready: async (socket) => {
      socket.sendNow(JSON.stringify({ type: 'auth', token: ctx.account.token }))
    },
  })
  ws.onready = () => ctx.log?.info(redact(`ready on ${ctx.account.url}`, [ctx.account.token]))
  await runChannel(ctx, ws, { name: 'botciv', secrets: [ctx.account.token], activityInterval: 500 })
  const gw = new Gw({ url: 'wss://gw.example:18789', tlsFingerprint: 'sha256:' + 'ab'.repeat(32), headers: { 'CF-Access-Client-Id': 'x' }, origin: 'https://a.example', signal: ctx.abortSignal })
  await runChannel(ctx, gw)
}

// clawsock/ws: ws's client contract, as a plugin written for ws uses it.
import WsWebSocket = require('clawsock/ws')

export function wsRelay(url: string, log: (line: string) => void): WsWebSocket {
  const ws = new WsWebSocket(url, { headers: { Authorization: 'Bearer t' }, handshakeTimeout: 10_000, maxPayload: 1 << 20, perMessageDeflate: false })
  ws.binaryType = 'arraybuffer'
  ws.on('upgrade', (res) => log(`upgraded: ${res.statusCode} ${String(res.headers.server)}`))
  ws.on('open', () => {
    ws.send(JSON.stringify({ hello: true }), (err) => err && log(err.message))
    ws.ping(Buffer.from('keepalive'))
  })
  ws.on('message', (data: WsWebSocket.RawData, isBinary: boolean) => log(`${isBinary ? 'binary' : 'text'} ${String(data)}`))
  ws.on('pong', (data: Buffer) => log(`pong ${data.length}`))
  ws.on('close', (code: number, reason: Buffer) => log(`closed ${code} ${reason.toString()}`))
  ws.on('error', (err) => log(`${err.code}: ${err.message}`))
  ws.on('unexpected-response', (_req, res) => log(`refused: ${res.statusCode}`))
  ws.onmessage = (ev) => log(String(ev.data))
  const state: 0 | 1 | 2 | 3 = ws.readyState
  if (state === WsWebSocket.OPEN && ws.bufferedAmount === 0 && !ws.isPaused) ws.pause()
  const stream = WsWebSocket.createWebSocketStream(ws, { encoding: 'utf8' })
  stream.on('data', (chunk: string) => log(chunk))
  return ws
}
