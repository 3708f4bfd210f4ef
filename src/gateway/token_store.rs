//! Persisted device tokens (protocol doc §7.5, anchor §1.13).
//!
//! Keyed by **(normalized gateway URL, deviceId, role)**. The reference Node
//! client keys by (deviceId, role) only, so it can offer a token issued by
//! one gateway to another; this store cannot.
//!
//! # File format (version 1)
//!
//! ```json
//! {"version":1,"tokens":[
//!   {"gateway":"ws://127.0.0.1:18789","deviceId":"<hex>","role":"operator",
//!    "token":"<device token>","scopes":["operator.read"],
//!    "issuedAtMs":1795392994851,"updatedAtMs":1795392994900}]}
//! ```
//!
//! Written atomically (temp file + rename) with mode 0600; refused on load
//! when group or others can read it. Concurrent writers from several
//! processes are last-writer-wins.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::endpoint::{EndpointError, normalize_gateway_url};
use super::identity::now_ms;
use super::secure_file::{ReadError, read_private_json, write_private};

/// A stored device token and what it was granted. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredDeviceToken {
    /// The bearer token (`hello-ok.auth.deviceToken`).
    pub token: String,
    /// The scopes granted with it (`hello-ok.auth.scopes`).
    pub scopes: Vec<String>,
    /// `hello-ok.auth.issuedAtMs`, when the gateway sent it.
    pub issued_at_ms: Option<u64>,
    /// When this entry was written (ms since the epoch).
    pub updated_at_ms: u64,
}

impl StoredDeviceToken {
    /// A token stamped with the current time as `updated_at_ms`.
    pub fn new(token: impl Into<String>, scopes: Vec<String>, issued_at_ms: Option<u64>) -> Self {
        StoredDeviceToken {
            token: token.into(),
            scopes,
            issued_at_ms,
            updated_at_ms: now_ms(),
        }
    }
}

impl fmt::Debug for StoredDeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredDeviceToken")
            .field("token", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("updated_at_ms", &self.updated_at_ms)
            .finish()
    }
}

/// Why the token store could not be read or written.
#[derive(Debug)]
pub enum TokenStoreError {
    /// Reading or writing the file failed.
    Io {
        /// The store file.
        path: PathBuf,
        /// `"read"` or `"write"`.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The file exists but is not a valid store.
    Invalid {
        /// The store file.
        path: PathBuf,
        /// What is wrong (never includes a token).
        reason: String,
    },
    /// The gateway URL cannot be used as a key.
    Url(EndpointError),
    /// An empty token, device id or role was given to `put`.
    EmptyField(&'static str),
}

impl fmt::Display for TokenStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenStoreError::Io { path, op, source } => {
                write!(
                    f,
                    "cannot {op} device token store {}: {source}",
                    path.display()
                )
            }
            TokenStoreError::Invalid { path, reason } => {
                write!(
                    f,
                    "device token store {} is invalid: {reason}",
                    path.display()
                )
            }
            TokenStoreError::Url(e) => write!(f, "device token store: {e}"),
            TokenStoreError::EmptyField(what) => {
                write!(f, "device token store: the {what} must not be empty")
            }
        }
    }
}

impl std::error::Error for TokenStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TokenStoreError::Io { source, .. } => Some(source),
            TokenStoreError::Url(e) => Some(e),
            _ => None,
        }
    }
}

type Key = (String, String, String);

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileEntry {
    gateway: String,
    device_id: String,
    role: String,
    token: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at_ms: Option<u64>,
    #[serde(default)]
    updated_at_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct FileDoc {
    version: u64,
    #[serde(default)]
    tokens: Vec<FileEntry>,
}

/// Device tokens by (gateway, deviceId, role), in memory or backed by a file.
#[derive(Debug, Clone, Default)]
pub struct DeviceTokenStore {
    path: Option<PathBuf>,
    entries: BTreeMap<Key, StoredDeviceToken>,
}

impl DeviceTokenStore {
    /// A store that lives only in memory.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// A store backed by `path`. A missing file is an empty store (the file
    /// is created on the first `put`).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, TokenStoreError> {
        let path = path.into();
        let entries = match read_private_json(&path, 1) {
            Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(ReadError::Io(source)) => {
                return Err(TokenStoreError::Io {
                    path,
                    op: "read",
                    source,
                });
            }
            Err(ReadError::Invalid(reason)) => {
                return Err(TokenStoreError::Invalid { path, reason });
            }
            Ok(doc) => read_entries(&path, doc)?,
        };
        Ok(DeviceTokenStore {
            path: Some(path),
            entries,
        })
    }

    /// The backing file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The token stored for this gateway, device and role. An unparseable URL gives `None`.
    pub fn get(
        &self,
        gateway_url: &str,
        device_id: &str,
        role: &str,
    ) -> Option<&StoredDeviceToken> {
        let gateway = normalize_gateway_url(gateway_url).ok()?;
        self.entries
            .get(&(gateway, device_id.to_owned(), role.to_owned()))
    }

    /// Store (or replace) a token, then persist. On a write error the store is unchanged.
    pub fn put(
        &mut self,
        gateway_url: &str,
        device_id: &str,
        role: &str,
        token: StoredDeviceToken,
    ) -> Result<(), TokenStoreError> {
        if token.token.is_empty() {
            return Err(TokenStoreError::EmptyField("token"));
        }
        if device_id.is_empty() {
            return Err(TokenStoreError::EmptyField("device id"));
        }
        if role.is_empty() {
            return Err(TokenStoreError::EmptyField("role"));
        }
        let gateway = normalize_gateway_url(gateway_url).map_err(TokenStoreError::Url)?;
        let mut next = self.entries.clone();
        next.insert((gateway, device_id.to_owned(), role.to_owned()), token);
        self.commit(next)
    }

    /// Remove a token, then persist. Returns whether one was stored.
    pub fn remove(
        &mut self,
        gateway_url: &str,
        device_id: &str,
        role: &str,
    ) -> Result<bool, TokenStoreError> {
        let Ok(gateway) = normalize_gateway_url(gateway_url) else {
            return Ok(false);
        };
        let key = (gateway, device_id.to_owned(), role.to_owned());
        if !self.entries.contains_key(&key) {
            return Ok(false);
        }
        let mut next = self.entries.clone();
        next.remove(&key);
        self.commit(next)?;
        Ok(true)
    }

    /// Number of stored tokens.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn commit(&mut self, next: BTreeMap<Key, StoredDeviceToken>) -> Result<(), TokenStoreError> {
        if let Some(path) = &self.path {
            let doc = FileDoc {
                version: 1,
                tokens: next
                    .iter()
                    .map(|((gateway, device_id, role), t)| FileEntry {
                        gateway: gateway.clone(),
                        device_id: device_id.clone(),
                        role: role.clone(),
                        token: t.token.clone(),
                        scopes: t.scopes.clone(),
                        issued_at_ms: t.issued_at_ms,
                        updated_at_ms: t.updated_at_ms,
                    })
                    .collect(),
            };
            let mut text = serde_json::to_string_pretty(&doc).expect("the store serializes");
            text.push('\n');
            write_private(path, text.as_bytes()).map_err(|source| TokenStoreError::Io {
                path: path.clone(),
                op: "write",
                source,
            })?;
        }
        self.entries = next;
        Ok(())
    }
}

/// The entries of the store file `path`, whose document (already checked
/// by [`read_private_json`], so that error messages come from our checks,
/// not from serde echoing a value) is `doc`.
fn read_entries(
    path: &Path,
    doc: serde_json::Map<String, serde_json::Value>,
) -> Result<BTreeMap<Key, StoredDeviceToken>, TokenStoreError> {
    let invalid = |reason: String| TokenStoreError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let doc: FileDoc = serde_json::from_value(serde_json::Value::Object(doc)).map_err(|_| {
        invalid(
            "\"tokens\" must be a list of {gateway, deviceId, role, token, scopes} objects".into(),
        )
    })?;
    let mut out = BTreeMap::new();
    for (i, e) in doc.tokens.into_iter().enumerate() {
        let gateway = normalize_gateway_url(&e.gateway)
            .map_err(|err| invalid(format!("entry {i}: {err}")))?;
        if e.token.is_empty() {
            return Err(invalid(format!("entry {i}: the token is empty")));
        }
        out.insert(
            (gateway, e.device_id, e.role),
            StoredDeviceToken {
                token: e.token,
                scopes: e.scopes,
                issued_at_ms: e.issued_at_ms,
                updated_at_ms: e.updated_at_ms,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::secure_file::test_dir::TestDir;

    const DEV: &str = "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c";

    fn tok(t: &str) -> StoredDeviceToken {
        StoredDeviceToken::new(t, vec!["operator.read".into()], Some(5))
    }

    #[test]
    fn token_for_one_gateway_is_not_offered_to_another() {
        let mut s = DeviceTokenStore::in_memory();
        s.put("ws://127.0.0.1:18789", DEV, "operator", tok("A"))
            .unwrap();
        assert_eq!(
            s.get("ws://127.0.0.1:18789/", DEV, "operator")
                .unwrap()
                .token,
            "A"
        );
        assert!(s.get("ws://127.0.0.1:18790", DEV, "operator").is_none());
        assert!(s.get("wss://127.0.0.1:18789", DEV, "operator").is_none());
        assert!(
            s.get("ws://gateway.example:18789", DEV, "operator")
                .is_none()
        );
        assert!(s.get("ws://127.0.0.1:18789", DEV, "node").is_none());
        assert!(s.get("ws://127.0.0.1:18789", "other", "operator").is_none());
        assert!(s.get("garbage", DEV, "operator").is_none());
    }

    #[test]
    fn put_replace_remove() {
        let mut s = DeviceTokenStore::in_memory();
        s.put("ws://h:1", DEV, "operator", tok("A")).unwrap();
        s.put("WS://H:1/x", DEV, "operator", tok("B")).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.get("ws://h:1", DEV, "operator").unwrap().token, "B");
        assert!(s.remove("ws://h:1", DEV, "operator").unwrap());
        assert!(!s.remove("ws://h:1", DEV, "operator").unwrap());
        assert!(s.is_empty());
        assert!(matches!(
            s.put("ws://h:1", DEV, "operator", tok("")),
            Err(TokenStoreError::EmptyField("token"))
        ));
        assert!(matches!(
            s.put("nope", DEV, "operator", tok("x")),
            Err(TokenStoreError::Url(_))
        ));
    }

    #[test]
    fn persists_with_private_mode() {
        let dir = TestDir::new("tokens");
        let path = dir.path().join("state/device-tokens.json");
        let mut s = DeviceTokenStore::open(&path).unwrap();
        assert!(s.is_empty());
        s.put("ws://127.0.0.1:18789", DEV, "operator", tok("tok-1"))
            .unwrap();
        s.put("wss://gw.example", DEV, "operator", tok("tok-2"))
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = DeviceTokenStore::open(&path).unwrap();
        let t = again.get("ws://127.0.0.1:18789", DEV, "operator").unwrap();
        assert_eq!(t.token, "tok-1");
        assert_eq!(t.scopes, ["operator.read"]);
        assert_eq!(t.issued_at_ms, Some(5));
        assert_eq!(
            again
                .get("wss://gw.example:443", DEV, "operator")
                .unwrap()
                .token,
            "tok-2"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["tokens"][0]["gateway"], "ws://127.0.0.1:18789");
        assert_eq!(doc["tokens"][0]["deviceId"], DEV);
    }

    #[test]
    fn invalid_files_are_reported_without_tokens() {
        let dir = TestDir::new("tokens-bad");
        let path = dir.path().join("t.json");
        for (text, expected) in [
            ("{", "not valid JSON"),
            (r#"{"version":9}"#, "unsupported version 9"),
            (
                r#"{"version":1,"tokens":[{"token":"leak-me"}]}"#,
                "must be a list",
            ),
            (
                r#"{"version":1,"tokens":[{"gateway":"x","deviceId":"d","role":"r","token":"leak-me"}]}"#,
                "entry 0: invalid gateway URL",
            ),
        ] {
            write_private(&path, text.as_bytes()).unwrap();
            let err = DeviceTokenStore::open(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(err.contains("t.json") && !err.contains("leak-me"), "{err}");
        }
    }

    #[test]
    fn debug_redacts_token() {
        let mut s = DeviceTokenStore::in_memory();
        s.put("ws://h:1", DEV, "operator", tok("very-secret"))
            .unwrap();
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
