//! Debug getters for soak and leak checks (not part of the public API).

use napi_derive::napi;

/// How many tasks are alive on the shared Tokio runtime (spawned and not yet
/// finished). The soak command checks it returns to its start value.
#[napi(js_name = "debugRuntimeTasks")]
pub fn debug_runtime_tasks() -> u32 {
    crate::runtime::handle().metrics().num_alive_tasks() as u32
}
