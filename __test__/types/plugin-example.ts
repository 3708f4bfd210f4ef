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
}

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
