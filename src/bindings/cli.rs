//! The native half of the `clawsock` command: `probe()`, `initLogging()`,
//! and the close-code and exit-code tables (all logic is in `crate::cli`).

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::{Value, json};

use super::options::{NativeNetworkOptions, header_pairs, ms, tls_options};
use crate::cli::{self, ExitClass, probe::ProbeOptions};
use crate::runtime;

/// Turns logging on at load time when `CLAWSOCK_LOG` is set.
#[napi_derive::module_init]
fn init_logging_from_env() {
    cli::log::init(None);
}

/// Turns on structured logs (`tracing`) to stderr. `filter` is a
/// `CLAWSOCK_LOG` value (`info`, `debug`, `trace`, or a full filter); absent,
/// `CLAWSOCK_LOG` is read. Returns the filter in effect, or null when logging
/// is off. Only the first call that turns logging on has an effect.
#[napi]
pub fn init_logging(filter: Option<String>) -> Option<String> {
    cli::log::init(filter.as_deref())
}

/// Options of `probe()` (all optional).
#[napi(object)]
#[derive(Default)]
pub struct NativeProbeOptions {
    /// Header pairs `[name, value]`. Values are sent, never reported or logged.
    pub headers: Option<Vec<Vec<String>>>,
    /// Subprotocols to offer.
    pub protocols: Option<Vec<String>>,
    /// ms for DNS + TCP + TLS + upgrade, and for the reply to `send` (default 10000).
    pub timeout: Option<f64>,
    /// A text message to send once open.
    pub send: Option<String>,
    /// ms to stay connected after open (after the reply to `send`); default 0.
    pub listen: Option<f64>,
    /// PEM certificates to trust instead of the default roots.
    pub ca: Option<Vec<String>>,
    /// default true
    pub reject_unauthorized: Option<bool>,
    /// SNI / verification name.
    pub servername: Option<String>,
    /// Happy Eyeballs, proxy (`--proxy`) and redirects.
    pub network: Option<NativeNetworkOptions>,
}

impl NativeProbeOptions {
    fn into_core(self) -> ProbeOptions {
        let mut o = ProbeOptions::default();
        if let Some(h) = self.headers {
            o.headers = header_pairs(h);
        }
        o.protocols = self.protocols.unwrap_or_default();
        if let Some(t) = self.timeout {
            o.timeout = ms(t);
        }
        o.send = self.send;
        o.listen = self.listen.map(ms).unwrap_or_default();
        o.tls = tls_options(self.ca, self.reject_unauthorized, self.servername);
        if let Some(n) = self.network {
            (o.family, o.proxy, o.follow_redirects, o.max_redirects) = n.into_core();
        }
        o
    }
}

type EventFn = ThreadsafeFunction<Value, (), Value, Status, false, false, 0>;

/// The work of one `probe()` call, on a libuv worker thread.
pub struct ProbeTask {
    url: String,
    opts: ProbeOptions,
    on_event: Option<EventFn>,
}

impl Task for ProbeTask {
    type Output = Value;
    /// The report as JSON text (the JS side parses it).
    type JsValue = String;

    fn compute(&mut self) -> Result<Value> {
        let tsfn = self.on_event.take().map(Arc::new);
        let emit: cli::probe::Emit = Arc::new(move |v: Value| {
            if let Some(f) = &tsfn {
                let _ = f.call(v, ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        let url = self.url.clone();
        let opts = self.opts.clone();
        Ok(runtime::handle().block_on(async move { cli::probe::probe(&url, &opts, emit).await }))
    }

    fn resolve(&mut self, _env: Env, output: Value) -> Result<String> {
        Ok(output.to_string())
    }
}

/// Connects to `url` step by step (DNS, TCP, TLS, HTTP upgrade), optionally
/// sends one text message and listens, closes, and resolves with a report
/// as JSON text:
/// `{ ok, exitCode, class, steps[], messages[], close, failure, totalMs }`.
/// Never rejects for network failures (they are in the report). `onEvent`
/// receives each step, message and close as it happens.
#[napi]
pub fn probe(
    url: String,
    options: Option<NativeProbeOptions>,
    on_event: Option<Function<Value, ()>>,
) -> Result<AsyncTask<ProbeTask>> {
    let on_event = match on_event {
        Some(f) => Some(
            f.build_threadsafe_function::<Value>()
                .callee_handled::<false>()
                .build_callback(|ctx| Ok(ctx.value))?,
        ),
        None => None,
    };
    Ok(AsyncTask::new(ProbeTask {
        url,
        opts: options.unwrap_or_default().into_core(),
        on_event,
    }))
}

/// What a close code means: `{ code, category, meaning, openclaw, nextStep }`.
#[napi]
pub fn close_code_info(code: u32) -> Value {
    let code = code.min(u16::MAX as u32) as u16;
    serde_json::to_value(cli::explain_close_code(code)).unwrap_or(Value::Null)
}

/// Every close code with a specific meaning, in order.
#[napi]
pub fn close_code_table() -> Value {
    serde_json::to_value(cli::close_code_table()).unwrap_or(Value::Null)
}

/// One line for a close, e.g. `4001 application-defined; often: replaced ...
/// (reason: "Replaced")`; `gateway` adds the OpenClaw meaning.
#[napi]
pub fn describe_close(code: u32, reason: Option<String>, gateway: Option<bool>) -> String {
    let code = code.min(u16::MAX as u32) as u16;
    cli::describe_close(
        code,
        reason.as_deref().unwrap_or(""),
        gateway.unwrap_or(false),
    )
}

/// The CLI's exit codes: `[{ code, class, description }]`.
#[napi]
pub fn exit_code_table() -> Value {
    Value::Array(
        ExitClass::ALL
            .iter()
            .map(|c| json!({"code": c.code(), "class": c.as_str(), "description": c.description()}))
            .collect(),
    )
}

/// `url` with user info and secret-looking query values replaced by `<redacted>`.
#[napi]
pub fn redact_url(url: String) -> String {
    cli::redact_url(&url)
}

/// Whether a header's value must never be shown (Authorization, Cookie, ...).
#[napi]
pub fn is_secret_header(name: String) -> bool {
    cli::is_secret_header(&name)
}
