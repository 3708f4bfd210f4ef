//! `DeviceIdentity`: the Ed25519 device key, exposed to JS. Only the device
//! id and the public key cross into JS; the private key never does.

use std::path::Path;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::gateway::DeviceIdentity as CoreIdentity;

fn err(e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

/// An Ed25519 device identity (`generate`, `load`, `loadOrCreate`).
#[napi(js_name = "DeviceIdentity")]
pub struct NativeDeviceIdentity {
    pub(crate) inner: CoreIdentity,
}

#[napi]
impl NativeDeviceIdentity {
    /// A new random key. Save it: a new key is a new device that must pair again.
    #[napi(factory)]
    pub fn generate() -> Result<Self> {
        CoreIdentity::generate()
            .map(|inner| Self { inner })
            .map_err(err)
    }

    /// Reads a key file written by `save` (refused if others can read it).
    #[napi(factory)]
    pub fn load(path: String) -> Result<Self> {
        CoreIdentity::load(Path::new(&path))
            .map(|inner| Self { inner })
            .map_err(err)
    }

    /// Reads the key file, or creates and saves a new key when it does not exist.
    #[napi(factory)]
    pub fn load_or_create(path: String) -> Result<Self> {
        CoreIdentity::load_or_create(Path::new(&path))
            .map(|inner| Self { inner })
            .map_err(err)
    }

    /// Writes the key file with mode 0600 (atomically).
    #[napi]
    pub fn save(&self, path: String) -> Result<()> {
        self.inner.save(Path::new(&path)).map_err(err)
    }

    /// Lowercase hex SHA-256 of the raw public key (64 chars).
    #[napi(getter)]
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_owned()
    }

    /// The raw 32-byte public key, base64url without padding.
    #[napi(getter)]
    pub fn public_key(&self) -> String {
        self.inner.public_key_b64url().to_owned()
    }

    /// When the key was created (ms since the epoch; 0 if unknown).
    #[napi(getter)]
    pub fn created_at_ms(&self) -> f64 {
        self.inner.created_at_ms() as f64
    }
}
