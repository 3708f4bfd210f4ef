// OpenClaw channel plugin entry: bot_civ over clawsock.
import { defineChannelPluginEntry } from 'openclaw/plugin-sdk/channel-core'
import { botcivPlugin } from './src/channel.js'
import { relay } from './src/relay.js'

export default defineChannelPluginEntry({
  id: 'botciv',
  name: 'bot_civ',
  description: 'bot_civ channel: chat_message frames over clawsock',
  plugin: botcivPlugin,
  registerFull(api) {
    const url = (api.pluginConfig?.url as string | undefined) ?? process.env.BOTCIV_URL
    api.registerService({
      id: 'botciv-relay',
      start: () => {
        if (!url) {
          api.logger.warn('botciv: no url configured (plugins.entries.botciv.config.url)')
          return
        }
        relay.onInbound = (frame) => api.logger.info(`botciv: inbound chat_message ${JSON.stringify(frame).slice(0, 200)}`)
        relay.start(url, api.logger)
      },
      stop: () => relay.stop(),
    })
    // Operator RPCs (plugin-prefixed): send a chat_message, and read the relay's state.
    api.registerGatewayMethod('botciv.send', ({ params, respond }) => {
      try {
        respond(true, { id: relay.send(String(params.text ?? ''), params.to ? String(params.to) : undefined) })
      } catch (err) {
        respond(false, undefined, { code: 'UNAVAILABLE', message: String((err as Error).message) } as never)
      }
    })
    api.registerGatewayMethod('botciv.status', ({ respond }) => respond(true, relay.status()))
  },
})
