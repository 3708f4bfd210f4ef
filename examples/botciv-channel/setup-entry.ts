import { defineSetupPluginEntry } from 'openclaw/plugin-sdk/channel-core'
import { botcivPlugin } from './src/channel.js'

export default defineSetupPluginEntry(botcivPlugin)
