// The transport: one clawsock ReconnectingWebSocket per account to the bot_civ server,
// carrying {"type":"chat_message", ...} JSON text frames both ways. It reconnects with
// backoff, queues sends while disconnected, and stops for good on a final close
// (4001 "Replaced"). clawsock/openclaw's runChannel ties it to OpenClaw's channel
// lifecycle: the account's status (connected, lifecycle, lastError, ...) and its log.
// clawsock is CommonJS: from ESM, import its default export (Node cannot see its named ones).
import clawsock from 'clawsock'
import openclawHelpers, { type ChannelContext } from 'clawsock/openclaw'

const { ReconnectingWebSocket } = clawsock
const { runChannel } = openclawHelpers

export type ChatFrame = { type: 'chat_message'; content: string; id?: string; to?: string; from?: string; [k: string]: unknown }

export class BotcivRelay {
  state: 'idle' | 'connecting' | 'open' | 'closed' | 'stopped' = 'idle'
  url: string | null = null
  opens = 0
  sent = 0
  received: ChatFrame[] = []
  readonly transport = 'ReconnectingWebSocket'
  onInbound: ((frame: ChatFrame) => void) | null = null
  private ws: InstanceType<typeof ReconnectingWebSocket> | null = null
  private seq = 0

  /**
   * Runs the account until ctx.abortSignal aborts (OpenClaw's startAccount contract).
   * The status OpenClaw shows comes from runChannel; `state` here is for the
   * plugin's own botciv.status RPC.
   */
  async run(url: string, ctx: ChannelContext<any>): Promise<void> {
    if (this.ws) throw new Error('botciv: this account is already running')
    this.url = url
    this.state = 'connecting'
    const ws = new ReconnectingWebSocket(url)
    this.ws = ws
    ws.addEventListener('ready', () => {
      this.opens += 1
      this.state = 'open'
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
    ws.addEventListener('close', () => {
      if (this.state !== 'stopped') this.state = 'closed'
    })
    try {
      await runChannel(ctx, ws, { name: 'botciv' })
    } finally {
      this.state = 'stopped'
      if (this.ws === ws) this.ws = null
    }
  }

  send(content: string, to?: string): string {
    if (!this.ws) throw new Error('botciv: the account is not running (set channels.botciv.url or plugins.entries.botciv.config.url)')
    const id = `oc-${Date.now()}-${++this.seq}`
    const frame: ChatFrame = { type: 'chat_message', content, id, from: 'openclaw', ...(to ? { to } : {}) }
    this.ws.send(JSON.stringify(frame))
    this.sent += 1
    return id
  }

  status() {
    return { state: this.state, url: this.url, transport: this.transport, opens: this.opens, sent: this.sent, received: this.received.slice(-20) }
  }
}

export const relay = new BotcivRelay()
