//! Crossing into JS: a socket's events as one array per wake-up (the
//! wake-up itself is `wake.rs`).
//!
//! Text messages become JS strings, binary messages become Buffers over the
//! received bytes (never copied: the Buffer keeps the Rust allocation alive
//! and frees it when collected), session events become plain objects, or a
//! gateway event its frame's text (`events.rs`). What is copied goes back
//! to the Tokio thread to be freed (see the end of `to_napi_value`).
//! Large ASCII texts become external strings over the received bytes, where
//! the runtime has them ([`external_text`]).
//!
//! A socket can opt in to *joined text runs* (`Waker::join_text_runs`):
//! then a run of two or more consecutive small text messages crosses as
//! three elements instead of one string each:
//!
//! ```text
//! [..., <number: message count>, <string: UTF-16 lengths, one code unit per message>, <string: the texts joined>, ...]
//! ```
//!
//! JS splits the joined string with `slice` (see `lib/websocket.js`). One
//! string creation and three element stores per run instead of one string
//! and one store per message. A single text message, and any text message
//! over [`RUN_MSG_MAX`] bytes, is still a plain string. Consumers that did
//! not opt in (e.g. the gateway client) get the plain layout.

use std::ptr;
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{BufferSlice, JsValue, ToNapiValue};
use napi::{check_status, sys};

use crate::transport::{InboundEvent, Inbox};

/// Text messages up to this many bytes join a run (their UTF-16 length is
/// then at most this, so it fits one UTF-16 code unit).
const RUN_MSG_MAX: usize = 16 * 1024;
/// A run ends before it exceeds this many bytes: a JS slice keeps its whole
/// run alive, so a retained small message pins at most this much.
const RUN_BYTES_MAX: usize = 64 * 1024;
/// Spent batches up to this many text bytes go back to the reader's thread
/// to be freed with its next push, or by a task at once if nothing is queued
/// (see [`Inbox::give_back`]); larger ones are freed by a task at once.
const GIVE_BACK_MAX: usize = 1024 * 1024;
/// Smaller batches of texts (e.g. one reply at a time) are freed here: a
/// few small frees cost less than the hand-over.
const GIVE_BACK_MIN: usize = 8;

/// The events taken from an [`Inbox`] in one wake-up.
pub struct Batch {
    /// The events, in arrival order.
    pub events: Vec<InboundEvent>,
    /// Whether runs of text messages cross joined (see the module docs).
    pub join_text: bool,
    /// Where the spent events go to be dropped (see [`Inbox::give_back`]).
    pub inbox: Option<Arc<Inbox>>,
}

/// Creates a JS string from UTF-8 `bytes`; `ascii` selects V8's Latin-1
/// constructor (a plain copy, no decoding).
unsafe fn js_string(
    env: sys::napi_env,
    bytes: &[u8],
    ascii: bool,
) -> napi::Result<sys::napi_value> {
    let mut s = ptr::null_mut();
    if ascii {
        check_status!(unsafe {
            sys::napi_create_string_latin1(env, bytes.as_ptr().cast(), bytes.len() as isize, &mut s)
        })?;
    } else {
        check_status!(unsafe {
            sys::napi_create_string_utf8(env, bytes.as_ptr().cast(), bytes.len() as isize, &mut s)
        })?;
    }
    Ok(s)
}

/// Large ASCII text as external Latin-1 strings: V8 keeps the received
/// bytes instead of copying them into a fresh string on the JS thread.
///
/// `node_api_create_external_string_latin1` exists from Node 20.4 on. It is
/// looked up when first needed rather than linked: the addon is linked with
/// immediate binding, so a linked symbol that Node lacks would stop the
/// addon from loading at all. Where it is missing (and on Windows, where
/// the lookup is not done) text is copied as before.
///
/// V8 does not count an external string's bytes as memory it should collect
/// for, so without help it collects them late, and the reader, which reuses
/// the buffers they free ([`crate::transport::pool`]), keeps getting fresh
/// memory. Each creation tells V8 about its bytes
/// (`napi_adjust_external_memory`), net of the bytes freed since the last
/// creation: a finalizer makes no Node-API call.
mod external_text {
    use std::ffi::c_void;
    use std::ptr;
    use std::sync::atomic::{AtomicI64, Ordering};

    use bytes::Bytes;
    use napi::{check_status, sys};
    use once_cell::sync::Lazy;

    /// Texts from this size up are external...
    pub const MIN: usize = crate::transport::frames::DIRECT_MIN;
    /// ...up to V8's string length limit (on 64-bit), past which creation
    /// fails.
    const MAX: usize = (1 << 29) - 24;

    type CreateLatin1 = unsafe extern "C" fn(
        sys::napi_env,
        *const std::os::raw::c_char,
        isize,
        Option<Release>,
        *mut c_void,
        *mut sys::napi_value,
        *mut bool,
    ) -> sys::napi_status;

    /// A finalizer (`node_api_basic_finalize`; its env is only passed along).
    type Release = unsafe extern "C" fn(sys::napi_env, *mut c_void, *mut c_void);

    static CREATE: Lazy<Option<CreateLatin1>> = Lazy::new(lookup);

    #[cfg(unix)]
    fn lookup() -> Option<CreateLatin1> {
        // SAFETY: dlsym on the process's global scope with a NUL-terminated
        // name; a non-null result is that function, whose signature is the
        // one Node's js_native_api.h declares.
        let f = unsafe {
            libc::dlsym(
                libc::RTLD_DEFAULT,
                c"node_api_create_external_string_latin1".as_ptr(),
            )
        };
        (!f.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, CreateLatin1>(f) })
    }

    #[cfg(not(unix))]
    fn lookup() -> Option<CreateLatin1> {
        None
    }

    /// Bytes of external strings freed and not yet reported to V8.
    static FREED: AtomicI64 = AtomicI64::new(0);

    /// Whether `text` goes external.
    pub fn suits(text: &[u8]) -> bool {
        (MIN..=MAX).contains(&text.len()) && CREATE.is_some() && text.is_ascii()
    }

    unsafe extern "C" fn release(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
        // SAFETY: `hint` is the box made in `create`, released once.
        let bytes = unsafe { Box::from_raw(hint.cast::<Bytes>()) };
        FREED.fetch_add(bytes.len() as i64, Ordering::Relaxed);
    }

    /// An external Latin-1 string over ASCII `bytes` (the caller checked
    /// [`suits`]).
    pub unsafe fn create(env: sys::napi_env, bytes: Bytes) -> napi::Result<sys::napi_value> {
        let create = CREATE.expect("checked by suits");
        let len = bytes.len();
        let boxed = Box::into_raw(Box::new(bytes));
        // SAFETY: `boxed` is valid until `release` takes it back.
        let data = unsafe { (*boxed).as_ptr() };
        let change = len as i64 - FREED.swap(0, Ordering::Relaxed);
        let mut total = 0i64;
        check_status!(unsafe { sys::napi_adjust_external_memory(env, change, &mut total) })?;
        let (mut value, mut copied) = (ptr::null_mut(), false);
        // When V8 copied the text, the runtime has already called
        // `release`. On failure it may not have: the box is then leaked
        // rather than risk freeing it twice (MAX keeps failure out of reach).
        check_status!(unsafe {
            create(
                env,
                data.cast(),
                len as isize,
                Some(release),
                boxed.cast(),
                &mut value,
                &mut copied,
            )
        })?;
        Ok(value)
    }
}

/// A Buffer over `bytes` without copying them: it owns the `Bytes` and
/// frees them when collected (napi-rs copies instead where the runtime
/// forbids external buffers, e.g. Electron with the V8 sandbox).
unsafe fn js_buffer(env: sys::napi_env, bytes: Bytes) -> napi::Result<sys::napi_value> {
    if bytes.is_empty() {
        let (mut data, mut value) = (ptr::null_mut(), ptr::null_mut());
        check_status!(unsafe { sys::napi_create_buffer(env, 0, &mut data, &mut value) })?;
        return Ok(value);
    }
    let env = napi::Env::from_raw(env);
    let (data, len) = (bytes.as_ptr().cast_mut(), bytes.len());
    let buf = unsafe { BufferSlice::from_external(&env, data, len, bytes, |_, b| drop(b)) }?;
    Ok(buf.raw())
}

/// The UTF-16 length of valid UTF-8 `bytes`: one unit per scalar value, two
/// for those outside the BMP (4-byte sequences).
fn utf16_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| usize::from((b & 0xC0) != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

struct Array {
    env: sys::napi_env,
    arr: sys::napi_value,
    len: u32,
}

impl Array {
    fn push(&mut self, value: sys::napi_value) -> napi::Result<()> {
        check_status!(unsafe { sys::napi_set_element(self.env, self.arr, self.len, value) })?;
        self.len += 1;
        Ok(())
    }
}

/// Whether `ev` can be part of a joined text run.
fn joinable(ev: &InboundEvent) -> bool {
    matches!(ev, InboundEvent::Text(t) if t.len() <= RUN_MSG_MAX)
}

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let capacity = val.events.len();
        let mut arr = ptr::null_mut();
        check_status!(unsafe { sys::napi_create_array_with_length(env, capacity, &mut arr) })?;
        let mut out = Array { env, arr, len: 0 };
        // Reused across runs: the joined bytes and the UTF-16 lengths.
        let mut joined: Vec<u8> = Vec::new();
        let mut lens: Vec<u16> = Vec::new();
        let mut events = val.events;
        // What stays in `events` after the crossing (copied, not moved):
        // text bytes, and whether any session event does.
        let (mut kept_bytes, mut kept_session) = (0, false);
        let mut i = 0;
        while i < events.len() {
            let value = match &events[i] {
                InboundEvent::Text(t)
                    if val.join_text
                        && t.len() <= RUN_MSG_MAX
                        && events.get(i + 1).is_some_and(joinable) =>
                {
                    // The run: texts from here, each at most RUN_MSG_MAX, at
                    // most RUN_BYTES_MAX in all (the first always fits).
                    let start = i;
                    let mut run_bytes = 0;
                    while let Some(InboundEvent::Text(next)) = events.get(i) {
                        if next.len() > RUN_MSG_MAX
                            || (i > start && run_bytes + next.len() > RUN_BYTES_MAX)
                        {
                            break;
                        }
                        run_bytes += next.len();
                        i += 1;
                    }
                    let run = &events[start..i];
                    joined.clear();
                    joined.reserve(run_bytes);
                    lens.clear();
                    lens.reserve(run.len());
                    for ev in run {
                        if let InboundEvent::Text(t) = ev {
                            joined.extend_from_slice(t.as_bytes());
                            // len <= RUN_MSG_MAX < 65536
                            lens.push(t.len() as u16);
                        }
                    }
                    // One ASCII check for the whole run; only a run with other
                    // characters needs UTF-16 lengths computed per message.
                    let ascii = joined.is_ascii();
                    if !ascii {
                        for (len, ev) in lens.iter_mut().zip(run) {
                            if let InboundEvent::Text(t) = ev {
                                *len = utf16_len(t.as_bytes()) as u16;
                            }
                        }
                    }
                    let mut count = ptr::null_mut();
                    check_status!(unsafe {
                        sys::napi_create_uint32(env, lens.len() as u32, &mut count)
                    })?;
                    out.push(count)?;
                    let mut l = ptr::null_mut();
                    check_status!(unsafe {
                        sys::napi_create_string_utf16(
                            env,
                            lens.as_ptr(),
                            lens.len() as isize,
                            &mut l,
                        )
                    })?;
                    out.push(l)?;
                    out.push(unsafe { js_string(env, &joined, ascii)? })?;
                    kept_bytes += run_bytes;
                    continue;
                }
                InboundEvent::Text(t) if !external_text::suits(t.as_bytes()) => {
                    let b = t.as_bytes();
                    kept_bytes += b.len();
                    unsafe { js_string(env, b, b.is_ascii())? }
                }
                InboundEvent::Sent { id, bytes, notify } => unsafe {
                    super::events::sent(env, *id, *bytes, *notify)?
                },
                InboundEvent::Sync => {
                    // A marker for the inbox (`Inbox::settle`): nothing for JS.
                    i += 1;
                    continue;
                }
                InboundEvent::Session(ev) => {
                    // Copied into JS; the event stays, to be freed with the texts.
                    kept_bytes += super::events::frame_of(ev).map_or(0, str::len);
                    kept_session = true;
                    unsafe { super::events::event(env, ev)? }
                }
                _ => {
                    // Moved into JS; a marker (no allocation) stays behind.
                    match std::mem::replace(&mut events[i], InboundEvent::Sync) {
                        InboundEvent::Text(t) => unsafe { external_text::create(env, t.into())? },
                        InboundEvent::Binary(b) => unsafe { js_buffer(env, b)? },
                        InboundEvent::Ping(b) => unsafe {
                            super::events::control_frame(env, "ping", js_buffer(env, b)?)?
                        },
                        InboundEvent::Pong(b) => unsafe {
                            super::events::control_frame(env, "pong", js_buffer(env, b)?)?
                        },
                        InboundEvent::Sent { .. }
                        | InboundEvent::Sync
                        | InboundEvent::Session(_) => {
                            unreachable!("handled above")
                        }
                    }
                }
            };
            out.push(value)?;
            i += 1;
        }
        // What was copied (texts, session events) is freed on the Tokio
        // thread, which allocated it: frees across threads contend on the
        // allocator's arena lock (with a gateway event stream, the JS thread
        // spent most of its sleeps waiting for that lock in `free`). Up to
        // GIVE_BACK_MAX it goes back to the reader, to be freed with its next
        // push while the socket is busy, or by a task now if nothing is
        // queued (see `Inbox::give_back`), so that a quiet socket holds
        // nothing spent; more is freed by a task at once. Tiny batches of
        // texts, and batches that own nothing but their list (`Sent`), are
        // freed here (GIVE_BACK_MIN); session events go back even one at a
        // time (each is a box).
        let enough = (events.len() >= GIVE_BACK_MIN && kept_bytes > 0) || kept_session;
        let free_now = match &val.inbox {
            Some(inbox) if enough && kept_bytes <= GIVE_BACK_MAX => inbox.give_back(events),
            Some(inbox) => {
                let mut spent = inbox.take_spent_if_quiet();
                if enough {
                    spent.extend(events);
                }
                spent
            }
            None => Vec::new(),
        };
        if !free_now.is_empty() {
            drop(crate::runtime::handle().spawn(async move { drop(free_now) }));
        }
        if (out.len as usize) < capacity {
            // Runs took fewer elements than events: trim the holes.
            let mut len = ptr::null_mut();
            check_status!(unsafe { sys::napi_create_uint32(env, out.len, &mut len) })?;
            check_status!(unsafe {
                sys::napi_set_named_property(env, arr, c"length".as_ptr(), len)
            })?;
        }
        Ok(arr)
    }
}
