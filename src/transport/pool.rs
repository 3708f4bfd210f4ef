//! Recycled buffers for large payloads.
//!
//! A large binary message crosses into JavaScript as a Buffer over its Rust
//! buffer, which is freed only when V8 collects the Buffer. V8 collects them
//! in bursts, tens of megabytes at a time, so without this pool every large
//! message is read into fresh memory: page faults and kernel zeroing on the
//! socket thread for every page. Here a freed payload buffer goes back to a
//! pool and the next large message is read into it.
//!
//! The pool is bounded ([`POOL_MAX_BYTES`]) and lives only while it is used:
//! once nothing has been taken from it for [`RELEASE_AFTER`], a task on the
//! shared runtime frees everything in it.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

/// Buffers smaller than this are not kept.
pub const POOL_MIN: usize = super::frames::DIRECT_MIN;

/// At most this many bytes of buffers are kept.
pub const POOL_MAX_BYTES: usize = 64 << 20;

/// Kept buffers are freed once none has been taken for this long.
pub const RELEASE_AFTER: Duration = Duration::from_secs(1);

/// A pool of buffers (the process has one, [`take`] and [`bytes`] use it).
pub struct Pool {
    inner: Mutex<Inner>,
}

struct Inner {
    free: Vec<Vec<u8>>,
    bytes: usize,
    /// Buffers taken from the pool so far (the release task's clock).
    taken: u64,
    /// Whether the release task is running.
    releasing: bool,
}

static POOL: Pool = Pool::new();

/// [`Pool::take`] on the process's pool.
pub fn take(len: usize) -> Vec<u8> {
    POOL.take(len)
}

/// [`Pool::bytes`] on the process's pool.
pub fn bytes(v: Vec<u8>) -> Bytes {
    POOL.bytes(v)
}

impl Pool {
    const fn new() -> Self {
        Pool {
            inner: Mutex::new(Inner {
                free: Vec::new(),
                bytes: 0,
                taken: 0,
                releasing: false,
            }),
        }
    }

    /// An empty buffer with room for at least `len` bytes: a kept one of at
    /// most twice that size (the most recently returned, whose pages are
    /// most likely warm), or a new one.
    pub fn take(&self, len: usize) -> Vec<u8> {
        if len >= POOL_MIN {
            let mut pool = self.inner.lock().unwrap();
            let fits = |v: &Vec<u8>| v.capacity() >= len && v.capacity() / 2 <= len;
            if let Some(i) = pool.free.iter().rposition(fits) {
                let v = pool.free.swap_remove(i);
                pool.bytes -= v.capacity();
                pool.taken += 1;
                return v;
            }
        }
        Vec::with_capacity(len)
    }

    /// `v` as `Bytes`; its buffer comes back to this pool when the last
    /// reference is dropped.
    pub fn bytes(&'static self, v: Vec<u8>) -> Bytes {
        if v.capacity() < POOL_MIN {
            return Bytes::from(v);
        }
        Bytes::from_owner(Recycled(v, self))
    }

    /// Keeps `v` if it fits under the bound; returns whether a release
    /// task must be started.
    fn give(&self, mut v: Vec<u8>) -> bool {
        let cap = v.capacity();
        let mut pool = self.inner.lock().unwrap();
        if pool.bytes + cap > POOL_MAX_BYTES {
            drop(pool);
            return false; // `v` is freed here, outside the lock.
        }
        v.clear();
        pool.free.push(v);
        pool.bytes += cap;
        !std::mem::replace(&mut pool.releasing, true)
    }

    /// Frees everything kept if nothing was taken since the take count
    /// `seen`; otherwise returns the count now.
    fn release_unless_taken_since(&self, seen: u64) -> Option<u64> {
        let mut pool = self.inner.lock().unwrap();
        if pool.taken != seen {
            return Some(pool.taken);
        }
        let free = std::mem::take(&mut pool.free);
        pool.bytes = 0;
        pool.releasing = false;
        drop(pool);
        drop(free);
        None
    }
}

struct Recycled(Vec<u8>, &'static Pool);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let pool = self.1;
        if pool.give(std::mem::take(&mut self.0)) {
            crate::runtime::handle().spawn(release_when_unused(pool));
        }
    }
}

/// Frees the pool once a whole [`RELEASE_AFTER`] passed without a take.
async fn release_when_unused(pool: &'static Pool) {
    let mut seen = pool.inner.lock().unwrap().taken;
    loop {
        tokio::time::sleep(RELEASE_AFTER).await;
        match pool.release_unless_taken_since(seen) {
            Some(now) => seen = now,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Pool {
        fn kept_bytes(&self) -> usize {
            self.inner.lock().unwrap().bytes
        }
    }

    /// Buffers come back when the last reference goes, are reused for a
    /// fitting size, are bounded, and are all freed when unused.
    #[test]
    fn buffers_come_back_are_reused_bounded_and_released() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::new()));
        let len = POOL_MIN * 2;
        let mut v = pool.take(len);
        assert!(v.capacity() >= len);
        v.extend_from_slice(&vec![7u8; len]);
        let ptr = v.as_ptr();
        let b = pool.bytes(v);
        assert_eq!(&b[..], &vec![7u8; len][..]);
        let clone = b.clone();
        drop(b);
        assert_eq!(pool.kept_bytes(), 0, "returned while a clone is alive");
        drop(clone);
        assert!(
            pool.kept_bytes() >= len,
            "not returned with the last reference"
        );

        // A request under half the buffer's size gets a new buffer.
        let small = pool.take(len / 2 - 1);
        assert_ne!(small.as_ptr(), ptr);
        // A fitting one gets the same memory, empty.
        let again = pool.take(len - 10);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.is_empty());
        assert_eq!(pool.kept_bytes(), 0);

        // Small buffers are not kept.
        drop(pool.bytes(vec![1u8; 10]));
        assert_eq!(pool.kept_bytes(), 0);

        // The bound: what does not fit is freed.
        let many: Vec<Bytes> = (0..(POOL_MAX_BYTES / len + 2))
            .map(|_| pool.bytes(vec![0u8; len]))
            .collect();
        drop(many);
        assert!(pool.kept_bytes() > 0 && pool.kept_bytes() <= POOL_MAX_BYTES);

        // Release: not while buffers are being taken, then everything.
        let seen = pool.inner.lock().unwrap().taken;
        drop(pool.take(len));
        let now = pool.release_unless_taken_since(seen);
        assert_eq!(now, Some(seen + 1), "released while in use");
        assert!(pool.kept_bytes() > 0);
        assert_eq!(pool.release_unless_taken_since(seen + 1), None);
        assert_eq!(pool.kept_bytes(), 0);
        assert!(!pool.inner.lock().unwrap().releasing);
    }
}
