import { createChatChannelPlugin, createChannelPluginBase } from 'openclaw/plugin-sdk/channel-core'
import type { OpenClawConfig } from 'openclaw/plugin-sdk/channel-core'
import openclawHelpers from 'clawsock/openclaw'

type ResolvedAccount = { accountId: string | null; url: string | undefined; allowFrom: string[] }

function section(cfg: OpenClawConfig): Record<string, any> | undefined {
  return (cfg.channels as Record<string, any> | undefined)?.['botciv']
}

// The URL: channels.botciv.url, else the plugin's own config (plugins.entries.botciv.config.url),
// else BOTCIV_URL.
function configuredUrl(cfg: OpenClawConfig): string | undefined {
  const pluginConfig = (cfg.plugins?.entries as Record<string, any> | undefined)?.['botciv']?.config
  return section(cfg)?.url ?? pluginConfig?.url ?? process.env.BOTCIV_URL
}

function resolveAccount(cfg: OpenClawConfig, accountId?: string | null): ResolvedAccount {
  const s = section(cfg)
  return { accountId: accountId ?? null, url: configuredUrl(cfg), allowFrom: s?.allowFrom ?? [] }
}

const config = {
  listAccountIds: () => ['default'],
  resolveAccount,
  inspectAccount(cfg: OpenClawConfig) {
    const url = configuredUrl(cfg)
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
    // The connection lives in startAccount: OpenClaw calls it per account and keeps the
    // promise until ctx.abortSignal aborts. runChannel keeps the account's status (what
    // `openclaw channels status` shows) and sends clawsock's log lines to ctx.log. The
    // socket client is loaded here, lazily, not by the plugin's API module.
    // What `openclaw channels status` shows: runChannel's fields, lastError and lastDisconnect
    // included (OpenClaw's default projection drops those).
    status: {
      buildAccountSnapshot: ({ account, runtime }) => openclawHelpers.accountSnapshot(runtime, account.accountId ?? 'default'),
    },
    gateway: {
      startAccount: async (ctx) => {
        const url = ctx.account.url
        if (!url) {
          ctx.log?.warn('botciv: no url configured (channels.botciv.url or plugins.entries.botciv.config.url)')
          ctx.setStatus({ ...ctx.getStatus(), configured: false, lifecycle: 'blocked', lastError: 'no url configured' })
          return new Promise<void>((resolve) => ctx.abortSignal.addEventListener('abort', () => resolve(), { once: true }))
        }
        const { relay } = await import('./relay.js')
        relay.onInbound = (frame) => ctx.log?.info(`botciv: inbound chat_message ${JSON.stringify(frame).slice(0, 200)}`)
        return relay.run(url, ctx)
      },
    },
  },
  threading: { topLevelReplyToMode: 'reply' },
  outbound: {
    base: { deliveryMode: 'direct' },
    attachedResults: {
      channel: 'botciv',
      // OpenClaw -> bot_civ: the shared message tool's text becomes a chat_message frame.
      sendText: async (params: { to: string; text: string }) => {
        const { relay } = await import('./relay.js')
        return { messageId: relay.send(params.text, params.to) }
      },
    },
  },
})
