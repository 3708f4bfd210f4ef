// The transport: one clawsock ReconnectingWebSocket to the bot_civ server, carrying
// {"type":"chat_message", ...} JSON text frames both ways. It reconnects with backoff,
// queues sends while disconnected, and stops for good on a final close (4001 "Replaced").
import clawsock from 'clawsock'

export type ChatFrame = { type: 'chat_message'; content: string; id?: string; to?: string; from?: string; [k: string]: unknown }

type Listener = (ev: any) => void
interface RelaySocket {
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: string, listener: Listener): void
}
type SocketCtor = new (url: string) => RelaySocket

// ReconnectingWebSocket is clawsock's reconnecting client; WebSocket is the plain one.
const lib = clawsock as unknown as { ReconnectingWebSocket?: SocketCtor; WebSocket: SocketCtor }
const Socket: SocketCtor = lib.ReconnectingWebSocket ?? lib.WebSocket

export type RelayLog = { info: (msg: string) => void; warn: (msg: string) => void }

export class BotcivRelay {
  state: 'idle' | 'connecting' | 'open' | 'closed' | 'stopped' = 'idle'
  url: string | null = null
  opens = 0
  sent = 0
  received: ChatFrame[] = []
  transport = lib.ReconnectingWebSocket ? 'ReconnectingWebSocket' : 'WebSocket'
  onInbound: ((frame: ChatFrame) => void) | null = null
  private ws: RelaySocket | null = null
  private seq = 0

  start(url: string, log: RelayLog): void {
    if (this.ws) return
    this.url = url
    this.state = 'connecting'
    const ws = new Socket(url)
    this.ws = ws
    ws.addEventListener('open', () => {
      this.opens += 1
      this.state = 'open'
      log.info(`botciv: connected to ${url} (${this.transport})`)
    })
    ws.addEventListener('message', (ev) => {
      let frame: unknown
      try {
        frame = JSON.parse(String(ev.data))
      } catch {
        return
      }
      if (frame && typeof frame === 'object' && (frame as ChatFrame).type === 'chat_message') {
        this.received.push(frame as ChatFrame)
        if (this.received.length > 100) this.received.shift()
        this.onInbound?.(frame as ChatFrame)
      }
    })
    ws.addEventListener('close', (ev) => {
      if (this.state !== 'stopped') this.state = 'closed'
      log.warn(`botciv: socket closed (${ev.code} ${ev.reason ?? ''})`)
    })
    ws.addEventListener('terminal', (ev) => log.warn(`botciv: gave up: ${ev.message ?? ev.kind}`))
  }

  send(content: string, to?: string): string {
    if (!this.ws) throw new Error('botciv: relay not started (set plugins.entries.botciv.config.url)')
    const id = `oc-${Date.now()}-${++this.seq}`
    const frame: ChatFrame = { type: 'chat_message', content, id, from: 'openclaw', ...(to ? { to } : {}) }
    this.ws.send(JSON.stringify(frame))
    this.sent += 1
    return id
  }

  stop(): void {
    this.state = 'stopped'
    this.ws?.close(1000, 'plugin stopped')
    this.ws = null
  }

  status() {
    return { state: this.state, url: this.url, transport: this.transport, opens: this.opens, sent: this.sent, received: this.received.slice(-20) }
  }
}

export const relay = new BotcivRelay()
