//! The wake-up into JS: one threadsafe function per JS thread, shared by
//! every socket on it.
//!
//! Each socket has a [`Waker`]: a reference to its JS batch callback and its
//! [`Inbox`]. When an inbox gets the first event of a batch, its socket is
//! queued on its thread's [`Dispatcher`], and the first socket queued since
//! the last delivery calls the dispatcher's threadsafe function (one
//! `uv_async_send`). On the JS thread, one delivery takes every queued
//! socket, in the order they woke, and calls each one's callback with its
//! batch ([`super::batch`]). So a wake-up costs the same for one socket as
//! for a thousand, and a socket costs a reference, not a threadsafe function
//! of its own (which is a `uv_async_t`, a queue, a mutex and a cleanup hook).
//!
//! An exception thrown by one socket's callback is reported as an uncaught
//! exception (`napi_fatal_exception`, as Node does for any callback from
//! native code) and the other sockets still get their batches.
//!
//! The threadsafe function keeps Node's event loop alive while at least one
//! socket holds it ([`Waker::set_ref`]; every socket holds from its start
//! until [`Waker::release`]). A Node environment (the main thread or a
//! worker) has its own dispatcher; when the environment is torn down, Node
//! finalizes the threadsafe function and later wake-ups report the consumer
//! gone.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use napi::bindgen_prelude::{Function, JsValue, ToNapiValue};
use napi::{Env, check_status, sys};

use super::batch::Batch;
use crate::transport::{ConnectOptions, Inbox};

/// A threadsafe function handle (Node-API makes calls on it thread-safe).
struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: Node-API allows napi_call_threadsafe_function from any thread;
// every other use is on the JS thread (see the callers).
unsafe impl Send for Tsfn {}
unsafe impl Sync for Tsfn {}

/// One JS thread's wake-up: its threadsafe function and the sockets that
/// have events for JS.
struct Dispatcher {
    /// `None` once Node finalized it (environment teardown).
    tsfn: RwLock<Option<Tsfn>>,
    /// Sockets with a batch waiting, in the order they woke.
    ready: Mutex<Vec<Arc<Slot>>>,
    /// Whether a delivery is requested and not yet started.
    scheduled: AtomicBool,
    /// Sockets that keep the event loop alive (changed on the JS thread).
    holds: AtomicUsize,
}

thread_local! {
    /// The dispatchers of the environments on this thread (one, in Node).
    static DISPATCHERS: RefCell<Vec<(usize, Arc<Dispatcher>)>> = const { RefCell::new(Vec::new()) };
}

impl Dispatcher {
    /// This environment's dispatcher, created on first use (JS thread).
    fn of(env: sys::napi_env) -> napi::Result<Arc<Dispatcher>> {
        let key = env as usize;
        if let Some(d) = DISPATCHERS
            .with_borrow(|all| all.iter().find(|(k, _)| *k == key).map(|(_, d)| d.clone()))
        {
            return Ok(d);
        }
        let d = Arc::new(Dispatcher {
            tsfn: RwLock::new(None),
            ready: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
            holds: AtomicUsize::new(0),
        });
        let mut name = ptr::null_mut();
        check_status!(unsafe {
            sys::napi_create_string_utf8(env, c"clawsock".as_ptr(), 8, &mut name)
        })?;
        // The dispatcher's own reference, given back in `finalize`.
        let context = Arc::into_raw(d.clone()) as *mut c_void;
        let mut tsfn = ptr::null_mut();
        let status = unsafe {
            sys::napi_create_threadsafe_function(
                env,
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                context,
                Some(finalize),
                context,
                Some(deliver),
                &mut tsfn,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: the reference made above; Node did not take it.
            drop(unsafe { Arc::from_raw(context as *const Dispatcher) });
            check_status!(status)?;
        }
        // Nobody holds the event loop until a socket starts.
        check_status!(unsafe { sys::napi_unref_threadsafe_function(env, tsfn) })?;
        *d.tsfn.write().unwrap() = Some(Tsfn(tsfn));
        DISPATCHERS.with_borrow_mut(|all| all.push((key, d.clone())));
        Ok(d)
    }

    /// Queues `slot` for the next delivery, requesting one if none is;
    /// `false` if the environment is gone. Any thread.
    fn wake(&self, slot: Arc<Slot>) -> bool {
        // JS may answer soon: keep the Tokio thread from falling asleep.
        crate::runtime::stay_awake();
        self.ready.lock().unwrap().push(slot);
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return true;
        }
        match self.tsfn.read().unwrap().as_ref() {
            Some(f) => {
                let status = unsafe {
                    sys::napi_call_threadsafe_function(
                        f.0,
                        ptr::null_mut(),
                        sys::ThreadsafeFunctionCallMode::nonblocking,
                    )
                };
                status == sys::Status::napi_ok
            }
            None => false,
        }
    }

    /// One more (`true`) or one fewer socket holds the event loop (JS thread).
    fn hold(&self, env: sys::napi_env, on: bool) -> napi::Result<()> {
        let before = if on {
            self.holds.fetch_add(1, Ordering::Relaxed)
        } else {
            self.holds.fetch_sub(1, Ordering::Relaxed)
        };
        let (was, now) = (before > 0, if on { true } else { before > 1 });
        if was == now {
            return Ok(());
        }
        if let Some(f) = self.tsfn.read().unwrap().as_ref() {
            check_status!(unsafe {
                if now {
                    sys::napi_ref_threadsafe_function(env, f.0)
                } else {
                    sys::napi_unref_threadsafe_function(env, f.0)
                }
            })?;
        }
        Ok(())
    }
}

/// The threadsafe function's `call_js`: delivers every queued socket's
/// batch (JS thread; `env` is null while Node empties the queue of a
/// finalized function, and `context` may be gone then).
unsafe extern "C" fn deliver(
    env: sys::napi_env,
    _js: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() {
        return;
    }
    // SAFETY: the dispatcher's own reference lives until `finalize`.
    let d = unsafe { &*(context as *const Dispatcher) };
    // Reset first: a socket that wakes from here on requests the next round.
    d.scheduled.store(false, Ordering::Release);
    let mut ready = std::mem::take(&mut *d.ready.lock().unwrap());
    for slot in ready.drain(..) {
        unsafe { slot.deliver(env) };
    }
    // The emptied list goes back for the next round, so that its memory is
    // not freed here and allocated again by the Tokio thread (frees across
    // threads contend on the allocator's arena lock).
    let mut queued = d.ready.lock().unwrap();
    if queued.capacity() == 0 {
        *queued = ready;
    }
}

/// Node's finalizer for the threadsafe function (environment teardown).
unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the reference made in `Dispatcher::of`, given back once.
    let d = unsafe { Arc::from_raw(data as *const Dispatcher) };
    d.tsfn.write().unwrap().take();
    d.ready.lock().unwrap().clear();
    let key = env as usize;
    let _ = DISPATCHERS.try_with(|all| all.borrow_mut().retain(|(k, _)| *k != key));
}

/// A reference to a socket's JS callback (JS thread only).
struct Callback(sys::napi_ref);
// SAFETY: created, used and deleted on the JS thread; other threads only
// move it around inside the slot.
unsafe impl Send for Callback {}

/// A socket's place in its dispatcher.
struct Slot {
    dispatcher: Arc<Dispatcher>,
    inbox: Arc<Inbox>,
    /// The JS callback; `None` after [`Waker::release`].
    callback: Mutex<Option<Callback>>,
    join_text: AtomicBool,
    /// Whether this socket holds the event loop (changed on the JS thread).
    holding: AtomicBool,
}

impl Slot {
    /// Calls the socket's callback with its batch, if it has one.
    unsafe fn deliver(&self, env: sys::napi_env) {
        let Some(cb) = self.callback.lock().unwrap().as_ref().map(|c| c.0) else {
            return;
        };
        let events = self.inbox.take();
        if events.is_empty() {
            return;
        }
        let batch = Batch {
            events,
            join_text: self.join_text.load(Ordering::Relaxed),
            inbox: Some(self.inbox.clone()),
        };
        let mut scope = ptr::null_mut();
        if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
            return;
        }
        if let Err(e) = unsafe { call(env, cb, batch) } {
            unsafe { report(env, e) };
        }
        unsafe { sys::napi_close_handle_scope(env, scope) };
    }
}

/// Converts `batch` and calls the callback `cb` refers to with it.
unsafe fn call(env: sys::napi_env, cb: sys::napi_ref, batch: Batch) -> napi::Result<()> {
    let value = unsafe { Batch::to_napi_value(env, batch) }?;
    let (mut f, mut this, mut ret) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    check_status!(unsafe { sys::napi_get_reference_value(env, cb, &mut f) })?;
    check_status!(unsafe { sys::napi_get_undefined(env, &mut this) })?;
    let status = unsafe { sys::napi_call_function(env, this, f, 1, &value, &mut ret) };
    if status == sys::Status::napi_pending_exception {
        let mut error = ptr::null_mut();
        unsafe {
            sys::napi_get_and_clear_last_exception(env, &mut error);
            sys::napi_fatal_exception(env, error);
        }
        return Ok(());
    }
    check_status!(status)
}

/// Reports a failure of the crossing itself as an uncaught exception.
unsafe fn report(env: sys::napi_env, e: napi::Error) {
    let msg = format!("clawsock: could not deliver events to JS: {e}");
    let (mut text, mut error) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        let mut pending = false;
        sys::napi_is_exception_pending(env, &mut pending);
        if pending {
            sys::napi_get_and_clear_last_exception(env, &mut error);
        } else {
            sys::napi_create_string_utf8(env, msg.as_ptr().cast(), msg.len() as isize, &mut text);
            sys::napi_create_error(env, ptr::null_mut(), text, &mut error);
        }
        sys::napi_fatal_exception(env, error);
    }
}

/// The wake-up handle of one socket. While it holds the event loop
/// ([`Waker::set_ref`]) the socket keeps Node alive; [`Waker::release`]
/// lets go for good.
#[derive(Clone)]
pub struct Waker {
    slot: Arc<Slot>,
}

impl Waker {
    /// A new inbox, bounded by `opts`' high-water marks, whose batches go
    /// to `callback` (a JS function taking one array). The socket holds the
    /// event loop from here on.
    pub fn attached(
        env: &Env,
        callback: &Function<Batch, ()>,
        opts: &ConnectOptions,
    ) -> napi::Result<(Waker, Arc<Inbox>)> {
        let env = env.raw();
        let dispatcher = Dispatcher::of(env)?;
        let mut reference = ptr::null_mut();
        check_status!(unsafe {
            sys::napi_create_reference(env, callback.raw(), 1, &mut reference)
        })?;
        let slot = Arc::new_cyclic(|me: &Weak<Slot>| {
            let me = me.clone();
            let wake = Box::new(move || match me.upgrade() {
                Some(slot) => {
                    let d = slot.dispatcher.clone();
                    d.wake(slot)
                }
                None => false,
            });
            Slot {
                dispatcher,
                inbox: Arc::new(Inbox::new(
                    wake,
                    opts.inbound_high_water_bytes,
                    opts.inbound_high_water_messages,
                )),
                callback: Mutex::new(Some(Callback(reference))),
                join_text: AtomicBool::new(false),
                holding: AtomicBool::new(false),
            }
        });
        let waker = Waker { slot };
        waker.set_ref_raw(env, true)?;
        let inbox = waker.slot.inbox.clone();
        Ok((waker, inbox))
    }

    /// Opts this socket's batches in to joined text runs (see
    /// [`super::batch`]). Call on the JS thread before the first batch; the
    /// JS consumer must understand the layout.
    pub fn join_text_runs(&self, on: bool) {
        self.slot.join_text.store(on, Ordering::Relaxed);
    }

    /// Whether this socket keeps Node's event loop alive (it does from
    /// [`Waker::attached`] on). A paused gateway client lets go while it
    /// waits for the user, so a script that never calls `close()` can
    /// still exit. No effect after [`Waker::release`].
    pub fn set_ref(&self, env: &Env, on: bool) -> napi::Result<()> {
        if self.slot.callback.lock().unwrap().is_none() {
            return Ok(());
        }
        self.set_ref_raw(env.raw(), on)
    }

    fn set_ref_raw(&self, env: sys::napi_env, on: bool) -> napi::Result<()> {
        if self.slot.holding.swap(on, Ordering::Relaxed) == on {
            return Ok(());
        }
        self.slot.dispatcher.hold(env, on)
    }

    /// No more deliveries (events still queued are dropped with the inbox),
    /// and the event loop is no longer held by this socket (JS thread).
    pub fn release(&self, env: &Env) {
        let Some(cb) = self.slot.callback.lock().unwrap().take() else {
            return;
        };
        let env = env.raw();
        let _ = self.set_ref_raw(env, false);
        unsafe { sys::napi_delete_reference(env, cb.0) };
    }
}

impl Waker {
    /// At environment teardown: no more deliveries. The reference and the
    /// hold go with the environment, which Node is tearing down.
    pub fn forget(&self) {
        self.slot.callback.lock().unwrap().take();
    }
}
