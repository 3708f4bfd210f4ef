'use strict'
// clawsock: the public entry. The native loader is native.js; the JS API
// lives in lib/, one file per concern.
//
// Only what `WebSocket` needs loads with this file. The reconnecting and
// gateway clients load on first use (the getters below), so a process that
// only needs a WebSocket does not pay for them at start. ESM gets every
// name through index.mjs.
const { WebSocket } = require('./lib/websocket.js')
const { MessageEvent, CloseEvent, ErrorEvent } = require('./lib/events.js')

const reconnecting = () => require('./lib/reconnecting.js')
const gateway = () => require('./lib/gateway.js')

module.exports = {
  WebSocket,
  MessageEvent,
  CloseEvent,
  ErrorEvent,
  get ReconnectingWebSocket() { return reconnecting().ReconnectingWebSocket },
  get ReconnectingEvent() { return reconnecting().ReconnectingEvent },
  get TerminalEvent() { return reconnecting().TerminalEvent },
  get DroppedEvent() { return reconnecting().DroppedEvent },
  get GatewayClient() { return gateway().GatewayClient },
  get GatewayError() { return gateway().GatewayError },
  // From gateway.js, which also hides its secrets from util.inspect.
  get DeviceIdentity() { return gateway().DeviceIdentity },
  default: WebSocket,
}
