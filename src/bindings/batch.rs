//! Crossing into JS: one array per wake-up, and the wake-up handle itself.
//!
//! Text messages become JS strings, binary messages become Buffers that own
//! the Rust bytes (no copy when the bytes are uniquely owned), control
//! events become plain objects.

use std::ptr;
use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::{Buffer, Function, ToNapiValue};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Status, check_status, sys};

use crate::transport::{InboundEvent, Inbox};

/// The events taken from an [`Inbox`] in one wake-up.
pub struct Batch(pub Vec<InboundEvent>);

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let mut arr = ptr::null_mut();
        check_status!(unsafe { sys::napi_create_array_with_length(env, val.0.len(), &mut arr) })?;
        for (i, ev) in val.0.into_iter().enumerate() {
            let value = match ev {
                InboundEvent::Text(t) => {
                    let mut s = ptr::null_mut();
                    check_status!(unsafe {
                        sys::napi_create_string_utf8(
                            env,
                            t.as_ptr().cast(),
                            t.len() as isize,
                            &mut s,
                        )
                    })?;
                    s
                }
                InboundEvent::Binary(b) => unsafe {
                    Buffer::to_napi_value(env, Buffer::from(Vec::<u8>::from(b)))?
                },
                InboundEvent::Control(v) => unsafe { serde_json::Value::to_napi_value(env, v)? },
            };
            check_status!(unsafe { sys::napi_set_element(env, arr, i as u32, value) })?;
        }
        Ok(arr)
    }
}

type Tsfn = ThreadsafeFunction<(), (), Batch, Status, false, false, 0>;

/// The wake-up handle of one socket. While it holds its threadsafe function
/// the socket keeps Node's event loop alive; [`Waker::release`] lets go.
#[derive(Clone, Default)]
pub struct Waker {
    slot: Arc<RwLock<Option<Tsfn>>>,
}

impl Waker {
    /// The closure an [`Inbox`] calls to wake JS.
    pub fn wake_fn(&self) -> Box<dyn Fn() -> bool + Send + Sync> {
        let slot = self.slot.clone();
        Box::new(move || match slot.read().unwrap().as_ref() {
            Some(tsfn) => tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok,
            None => false,
        })
    }

    /// Binds `callback` (a JS function taking one array) to `inbox`.
    pub fn attach(&self, callback: &Function<Batch, ()>, inbox: Arc<Inbox>) -> napi::Result<()> {
        let tsfn: Tsfn = callback
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build_callback(move |_ctx| Ok(Batch(inbox.take())))?;
        *self.slot.write().unwrap() = Some(tsfn);
        Ok(())
    }

    /// Drops the threadsafe function: no more wake-ups, and Node's event
    /// loop is no longer held by this socket.
    pub fn release(&self) {
        self.slot.write().unwrap().take();
    }
}
