// ESM entry of `clawsock`: the CommonJS exports (index.js) as named exports,
// and the whole exports object as the default, as Node gives it for a
// CommonJS module.
import clawsock from './index.js'

export const {
  WebSocket,
  MessageEvent,
  CloseEvent,
  ErrorEvent,
  ReconnectingWebSocket,
  ReconnectingEvent,
  TerminalEvent,
  DroppedEvent,
  GatewayClient,
  GatewayError,
  DeviceIdentity,
} = clawsock
export default clawsock
