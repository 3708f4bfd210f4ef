// OpenClaw channel plugin entry: bot_civ over clawsock. The connection itself starts in
// the channel's gateway.startAccount (src/channel.ts); registerFull adds two operator RPCs.
import { defineChannelPluginEntry } from 'openclaw/plugin-sdk/channel-core'
import { botcivPlugin } from './src/channel.js'

export default defineChannelPluginEntry({
  id: 'botciv',
  name: 'bot_civ',
  description: 'bot_civ channel: chat_message frames over clawsock',
  plugin: botcivPlugin,
  registerFull(api) {
    // Operator RPCs (plugin-prefixed): send a chat_message, and read the relay's state.
    api.registerGatewayMethod('botciv.send', async ({ params, respond }) => {
      const { relay } = await import('./src/relay.js')
      try {
        respond(true, { id: relay.send(String(params.text ?? ''), params.to ? String(params.to) : undefined) })
      } catch (err) {
        respond(false, undefined, { code: 'UNAVAILABLE', message: String((err as Error).message) } as never)
      }
    })
    api.registerGatewayMethod('botciv.status', async ({ respond }) => {
      const { relay } = await import('./src/relay.js')
      respond(true, relay.status())
    })
  },
})
