'use strict'
// clawsock: the public entry. The native loader is native.js; the JS API
// lives in lib/, one file per concern.
const { WebSocket } = require('./lib/websocket.js')
const { MessageEvent, CloseEvent, ErrorEvent } = require('./lib/events.js')
const { GatewayClient, GatewayError, DeviceIdentity } = require('./lib/gateway.js')
const { ReconnectingWebSocket, ReconnectingEvent, TerminalEvent, DroppedEvent } = require('./lib/reconnecting.js')

// One object literal, so Node's CommonJS lexer sees every name and
// `import { GatewayClient } from 'clawsock'` works from ESM too.
module.exports = {
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
  default: WebSocket,
}
