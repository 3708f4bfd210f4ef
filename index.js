'use strict'
// clawsock: the public entry. The native loader is native.js; the JS API
// lives in lib/, one file per concern.
//
// Only what `WebSocket` needs loads with this file. The reconnecting and
// gateway clients load on first use: each of their names starts as a getter
// that loads its module and then becomes a plain, writable property (as if
// it had been there all along; assigning to it first works too). So a
// process that only needs a WebSocket does not pay for them at start. ESM
// gets every name through index.mjs.
const { WebSocket } = require('./lib/websocket.js')
const { MessageEvent, CloseEvent, ErrorEvent } = require('./lib/events.js')

module.exports = { WebSocket, MessageEvent, CloseEvent, ErrorEvent }

/** Defines `names` on the exports, each loaded from `load()` on first use. */
function lazy(load, names) {
  for (const name of names) {
    const settle = (value) => {
      Object.defineProperty(module.exports, name, { value, writable: true, enumerable: true, configurable: true })
      return value
    }
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get: () => settle(load()[name]),
      set: settle,
    })
  }
}

lazy(() => require('./lib/reconnecting.js'), ['ReconnectingWebSocket', 'ReconnectingEvent', 'TerminalEvent', 'DroppedEvent'])
// DeviceIdentity comes from gateway.js, which also hides its secrets from util.inspect.
lazy(() => require('./lib/gateway.js'), ['GatewayClient', 'GatewayError', 'DeviceIdentity'])
module.exports.default = WebSocket
