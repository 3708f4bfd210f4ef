//! Debug getters for soak and leak checks (not part of the public API).

use napi_derive::napi;

/// How many of the connections' tasks are alive on the shared Tokio runtime
/// (spawned and not yet finished; the runtime's own awake task is not
/// counted). The soak command checks it returns to its start value.
#[napi(js_name = "debugRuntimeTasks")]
pub fn debug_runtime_tasks() -> u32 {
    let all = crate::runtime::handle().metrics().num_alive_tasks();
    all.saturating_sub(crate::runtime::own_tasks()) as u32
}

/// How many sessions' state is alive (started and not yet freed): after
/// sockets are closed and collected it returns to what it was.
#[napi(js_name = "debugLiveSessions")]
pub fn debug_live_sessions() -> u32 {
    crate::session::live_sessions() as u32
}
