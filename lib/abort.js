'use strict'
// The `signal` option of WebSocket, ReconnectingWebSocket and GatewayClient
// (checked in lib/options.js): aborting works like close(); a signal that is
// already aborted closes at once. The listener is removed when the client
// closes, so a long-lived signal does not keep closed clients alive.

/** What `onAbort` returns when there is no listener to remove (shared). */
const NOTHING_TO_REMOVE = () => {}

/**
 * Calls `close` when `signal` aborts, or now if it already has (the close's
 * events still come asynchronously, as after a close() call). Returns the
 * function that removes the listener.
 */
function onAbort(signal, close) {
  if (!signal) return NOTHING_TO_REMOVE
  if (signal.aborted) {
    close()
    return NOTHING_TO_REMOVE
  }
  const listener = () => close()
  signal.addEventListener('abort', listener, { once: true })
  return () => signal.removeEventListener('abort', listener)
}

module.exports = { onAbort }
