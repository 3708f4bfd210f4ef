import { createChatChannelPlugin, createChannelPluginBase } from 'openclaw/plugin-sdk/channel-core'
import type { OpenClawConfig } from 'openclaw/plugin-sdk/channel-core'
import { relay } from './relay.js'

type ResolvedAccount = { accountId: string | null; url: string | undefined; allowFrom: string[] }

function section(cfg: OpenClawConfig): Record<string, any> | undefined {
  return (cfg.channels as Record<string, any> | undefined)?.['botciv']
}

function resolveAccount(cfg: OpenClawConfig, accountId?: string | null): ResolvedAccount {
  const s = section(cfg)
  return { accountId: accountId ?? null, url: s?.url, allowFrom: s?.allowFrom ?? [] }
}

const config = {
  listAccountIds: () => ['default'],
  resolveAccount,
  inspectAccount(cfg: OpenClawConfig) {
    const url = section(cfg)?.url
    return { enabled: Boolean(url), configured: Boolean(url) }
  },
}

export const botcivPlugin = createChatChannelPlugin<ResolvedAccount>({
  base: {
    ...createChannelPluginBase<ResolvedAccount>({
    id: 'botciv',
    config,
    setup: {
      applyAccountConfig: ({ cfg, input }: { cfg: OpenClawConfig; input: Record<string, unknown> }) => ({
        ...cfg,
        channels: { ...cfg.channels, botciv: { ...section(cfg), ...input } },
      }),
    },
    }),
    config,
  },
  threading: { topLevelReplyToMode: 'reply' },
  outbound: {
    base: { deliveryMode: 'direct' },
    attachedResults: {
      channel: 'botciv',
      // OpenClaw -> bot_civ: the shared message tool's text becomes a chat_message frame.
      sendText: async (params: { to: string; text: string }) => ({ messageId: relay.send(params.text, params.to) }),
    },
  },
})
