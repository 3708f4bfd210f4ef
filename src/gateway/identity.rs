//! Device identity (protocol doc §7.1–7.2): an Ed25519 key, its device id,
//! the signed connect payload strings, and a private key file.
//!
//! # Key file format (version 1)
//!
//! A JSON object, written atomically with mode 0600 on unix:
//!
//! ```json
//! {"version":1,
//!  "deviceId":"<64 lowercase hex: SHA-256 of the raw public key>",
//!  "publicKey":"<raw 32-byte public key, base64url, no padding>",
//!  "privateKey":"<32-byte Ed25519 seed, base64url, no padding>",
//!  "createdAtMs":1795392994842}
//! ```
//!
//! `load` checks that `privateKey` is a 32-byte seed, that `publicKey` and
//! `deviceId` both match it, and (on unix) that the file is not readable by
//! group or others. Errors name the path and the problem, never the key.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::secure_file::{ReadError, read_private_json, write_private};

/// Current key-file format version.
pub const IDENTITY_FILE_VERSION: u64 = 1;

/// An Ed25519 device key with its derived id. `Debug` never shows the private key.
#[derive(Clone)]
pub struct DeviceIdentity {
    signing_key: SigningKey,
    device_id: String,
    public_key_b64url: String,
    created_at_ms: u64,
}

/// Why a device identity could not be created, saved or loaded.
#[derive(Debug)]
pub enum IdentityError {
    /// Reading or writing the key file failed.
    Io {
        /// The key file.
        path: PathBuf,
        /// `"read"` or `"write"`.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The key file exists but is not a valid identity.
    Invalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never includes key material).
        reason: String,
    },
    /// The OS random source failed.
    Random(String),
}

impl IdentityError {
    /// Whether the key file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, IdentityError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    fn invalid(path: &Path, reason: impl Into<String>) -> Self {
        IdentityError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Io { path, op, source } => {
                write!(
                    f,
                    "cannot {op} device identity file {}: {source}",
                    path.display()
                )
            }
            IdentityError::Invalid { path, reason } => {
                write!(
                    f,
                    "device identity file {} is invalid: {reason}",
                    path.display()
                )
            }
            IdentityError::Random(e) => {
                write!(
                    f,
                    "cannot generate a device key: the OS random source failed ({e})"
                )
            }
        }
    }
}

impl std::error::Error for IdentityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IdentityError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Lowercase hex SHA-256 of a raw 32-byte public key: the gateway's device id.
pub fn device_id_from_public_key(raw: &[u8; 32]) -> String {
    let digest = Sha256::digest(raw);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl DeviceIdentity {
    /// A new random key (seed from the OS random source).
    pub fn generate() -> Result<Self, IdentityError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| IdentityError::Random(e.to_string()))?;
        let id = Self::from_seed(seed);
        seed.fill(0);
        Ok(id)
    }

    /// The identity for a 32-byte Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let signing_key = SigningKey::from_bytes(&seed);
        let public = signing_key.verifying_key().to_bytes();
        DeviceIdentity {
            device_id: device_id_from_public_key(&public),
            public_key_b64url: URL_SAFE_NO_PAD.encode(public),
            signing_key,
            created_at_ms: now_ms(),
        }
    }

    /// Lowercase hex SHA-256 of the raw public key (64 chars).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The raw 32-byte public key.
    pub fn public_key_raw(&self) -> [u8; 32] {
        self.signing_key.verifying_key().to_bytes()
    }

    /// The raw public key, base64url without padding (43 chars): `device.publicKey`.
    pub fn public_key_b64url(&self) -> &str {
        &self.public_key_b64url
    }

    /// When the key was created (ms since the epoch; from the file when loaded).
    pub fn created_at_ms(&self) -> u64 {
        self.created_at_ms
    }

    /// Ed25519 signature of the UTF-8 bytes of `payload`, base64url without padding (86 chars).
    pub fn sign(&self, payload: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.signing_key.sign(payload.as_bytes()).to_bytes())
    }

    /// Write the key file (format in the module doc): temp file with mode
    /// 0600, then rename. Creates a missing parent folder (mode 0700).
    pub fn save(&self, path: &Path) -> Result<(), IdentityError> {
        let doc = json!({
            "version": IDENTITY_FILE_VERSION,
            "deviceId": self.device_id,
            "publicKey": self.public_key_b64url,
            "privateKey": URL_SAFE_NO_PAD.encode(self.signing_key.to_bytes()),
            "createdAtMs": self.created_at_ms,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
        text.push('\n');
        write_private(path, text.as_bytes()).map_err(|source| IdentityError::Io {
            path: path.to_path_buf(),
            op: "write",
            source,
        })
    }

    /// Read and validate a key file written by [`DeviceIdentity::save`].
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let obj = read_private_json(path, IDENTITY_FILE_VERSION).map_err(|e| match e {
            ReadError::Io(source) => IdentityError::Io {
                path: path.to_path_buf(),
                op: "read",
                source,
            },
            ReadError::Invalid(reason) => IdentityError::invalid(path, reason),
        })?;
        let field = |k: &str| {
            obj.get(k).and_then(Value::as_str).ok_or_else(|| {
                IdentityError::invalid(path, format!("\"{k}\" is missing or not a string"))
            })
        };
        let private_b64 = field("privateKey")?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(private_b64.trim_end_matches('='))
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                IdentityError::invalid(
                    path,
                    "\"privateKey\" is not a base64url 32-byte Ed25519 seed",
                )
            })?;
        let mut identity = Self::from_seed(seed);
        if field("publicKey")?.trim_end_matches('=') != identity.public_key_b64url {
            return Err(IdentityError::invalid(
                path,
                "\"publicKey\" does not belong to \"privateKey\"",
            ));
        }
        let stored_id = field("deviceId")?;
        if stored_id != identity.device_id {
            return Err(IdentityError::invalid(
                path,
                format!(
                    "\"deviceId\" {} does not match the key (expected {})",
                    clip_id(stored_id),
                    identity.device_id
                ),
            ));
        }
        identity.created_at_ms = obj.get("createdAtMs").and_then(Value::as_u64).unwrap_or(0);
        Ok(identity)
    }

    /// Load the key file, or generate and save a new identity if it does not exist.
    /// Any other error (bad file, bad permissions) is returned, never overwritten.
    pub fn load_or_create(path: &Path) -> Result<Self, IdentityError> {
        match Self::load(path) {
            Err(e) if e.is_not_found() => {
                let identity = Self::generate()?;
                identity.save(path)?;
                Ok(identity)
            }
            other => other,
        }
    }
}

fn clip_id(s: &str) -> String {
    if s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("'{s}'")
    } else {
        "(not a 64-char hex id)".to_owned()
    }
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("device_id", &self.device_id)
            .field("public_key", &self.public_key_b64url)
            .field("private_key", &"<redacted>")
            .field("created_at_ms", &self.created_at_ms)
            .finish()
    }
}

/// Check a base64url signature of `payload` against a base64url raw public key.
pub fn verify_signature(public_key_b64url: &str, payload: &str, signature_b64url: &str) -> bool {
    let Some(key) = URL_SAFE_NO_PAD
        .decode(public_key_b64url.trim_end_matches('='))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
    else {
        return false;
    };
    let Some(sig) = URL_SAFE_NO_PAD
        .decode(signature_b64url.trim_end_matches('='))
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    key.verify(payload.as_bytes(), &Signature::from_bytes(&sig))
        .is_ok()
}

/// The fields of the signed connect payload (§7.2). `Debug` redacts `token`.
#[derive(Clone, Copy)]
pub struct DeviceAuthFields<'a> {
    /// `device.id`.
    pub device_id: &'a str,
    /// `client.id` as sent.
    pub client_id: &'a str,
    /// `client.mode` as sent.
    pub client_mode: &'a str,
    /// `role` as sent (`operator` when defaulted).
    pub role: &'a str,
    /// `scopes` exactly as sent, in order.
    pub scopes: &'a [String],
    /// `device.signedAt`.
    pub signed_at_ms: u64,
    /// `auth.token ?? auth.deviceToken ?? auth.bootstrapToken`, or `""`. Never the password.
    pub token: &'a str,
    /// The challenge nonce (also sent as `device.nonce`).
    pub nonce: &'a str,
    /// `client.platform` (normalized when signed).
    pub platform: Option<&'a str>,
    /// `client.deviceFamily` (normalized when signed).
    pub device_family: Option<&'a str>,
}

impl fmt::Debug for DeviceAuthFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthFields")
            .field("device_id", &self.device_id)
            .field("client_id", &self.client_id)
            .field("client_mode", &self.client_mode)
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("signed_at_ms", &self.signed_at_ms)
            .field(
                "token",
                &if self.token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("nonce", &self.nonce)
            .field("platform", &self.platform)
            .field("device_family", &self.device_family)
            .finish()
    }
}

/// `norm(x)` of §7.2: missing gives `""`; otherwise trim surrounding
/// whitespace (as JS `trim`) and lowercase ASCII A–Z only.
pub fn normalize_device_metadata(value: Option<&str>) -> String {
    value
        .map(|v| {
            v.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// The v2 signed string:
/// `v2|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce`.
pub fn build_payload_v2(f: &DeviceAuthFields<'_>) -> String {
    format!(
        "v2|{}|{}|{}|{}|{}|{}|{}|{}",
        f.device_id,
        f.client_id,
        f.client_mode,
        f.role,
        f.scopes.join(","),
        f.signed_at_ms,
        f.token,
        f.nonce
    )
}

/// The v3 signed string (preferred):
/// `v3|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce|norm(platform)|norm(deviceFamily)`.
pub fn build_payload_v3(f: &DeviceAuthFields<'_>) -> String {
    format!(
        "v3|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        f.device_id,
        f.client_id,
        f.client_mode,
        f.role,
        f.scopes.join(","),
        f.signed_at_ms,
        f.token,
        f.nonce,
        normalize_device_metadata(f.platform),
        normalize_device_metadata(f.device_family)
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gateway::secure_file::test_dir::TestDir;

    pub(crate) const VECTOR_SEED: [u8; 32] = {
        let mut s = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            s[i] = i as u8;
            i += 1;
        }
        s
    };
    pub(crate) const VECTOR_PUBLIC_KEY: &str = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg";
    pub(crate) const VECTOR_DEVICE_ID: &str =
        "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c";
    pub(crate) const VECTOR_PAYLOAD: &str = "v3|56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c|gateway-client|backend|operator|operator.read,operator.write|1795392994842|secret-token|0b9e2d8e-5b7a-4c1e-9a57-3f0f7d5c2a11|linux|";
    pub(crate) const VECTOR_SIGNATURE: &str =
        "8J5_pY3KjqrgVXFFqkj7DJw0S_jxpU9x8v2fnWWL1KJ5ZwJf1IUwTBapYc85105Q2Jqj04Pi37H4PdKUVpicAA";
    pub(crate) const VECTOR_NONCE: &str = "0b9e2d8e-5b7a-4c1e-9a57-3f0f7d5c2a11";
    pub(crate) const VECTOR_TS: u64 = 1795392994842;

    fn vector_fields<'a>(scopes: &'a [String]) -> DeviceAuthFields<'a> {
        DeviceAuthFields {
            device_id: VECTOR_DEVICE_ID,
            client_id: "gateway-client",
            client_mode: "backend",
            role: "operator",
            scopes,
            signed_at_ms: VECTOR_TS,
            token: "secret-token",
            nonce: VECTOR_NONCE,
            platform: Some("linux"),
            device_family: None,
        }
    }

    #[test]
    fn reproduces_test_vector_7_4() {
        let id = DeviceIdentity::from_seed(VECTOR_SEED);
        assert_eq!(
            id.public_key_raw()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
        );
        assert_eq!(id.public_key_b64url(), VECTOR_PUBLIC_KEY);
        assert_eq!(id.device_id(), VECTOR_DEVICE_ID);
        let scopes = vec!["operator.read".to_owned(), "operator.write".to_owned()];
        let payload = build_payload_v3(&vector_fields(&scopes));
        assert_eq!(payload, VECTOR_PAYLOAD);
        assert_eq!(id.sign(&payload), VECTOR_SIGNATURE);
        assert!(verify_signature(
            VECTOR_PUBLIC_KEY,
            VECTOR_PAYLOAD,
            VECTOR_SIGNATURE
        ));
        assert!(!verify_signature(
            VECTOR_PUBLIC_KEY,
            "v3|x",
            VECTOR_SIGNATURE
        ));
    }

    #[test]
    fn v2_payload_and_normalization() {
        let scopes: Vec<String> = vec![];
        let mut f = vector_fields(&scopes);
        assert_eq!(
            build_payload_v2(&f),
            format!(
                "v2|{VECTOR_DEVICE_ID}|gateway-client|backend|operator||{VECTOR_TS}|secret-token|{VECTOR_NONCE}"
            )
        );
        f.platform = Some("  Linux\t");
        f.device_family = Some(" ÉMac ");
        assert!(build_payload_v3(&f).ends_with("|linux|Émac"));
        assert_eq!(normalize_device_metadata(None), "");
        assert!(!format!("{f:?}").contains("secret-token"));
    }

    #[test]
    fn generated_keys_differ_and_sign() {
        let a = DeviceIdentity::generate().unwrap();
        let b = DeviceIdentity::generate().unwrap();
        assert_ne!(a.device_id(), b.device_id());
        assert_eq!(a.device_id().len(), 64);
        assert_eq!(a.public_key_b64url().len(), 43);
        let sig = a.sign("hello");
        assert_eq!(sig.len(), 86);
        assert!(verify_signature(a.public_key_b64url(), "hello", &sig));
    }

    #[test]
    fn debug_redacts_private_key() {
        let id = DeviceIdentity::from_seed(VECTOR_SEED);
        let dbg = format!("{id:?}");
        let seed_b64 = URL_SAFE_NO_PAD.encode(VECTOR_SEED);
        assert!(!dbg.contains(&seed_b64));
        assert!(dbg.contains("<redacted>") && dbg.contains(VECTOR_DEVICE_ID));
    }

    #[test]
    fn save_load_round_trip() {
        let dir = TestDir::new("identity");
        let path = dir.path().join("identity/device.json");
        let id = DeviceIdentity::from_seed(VECTOR_SEED);
        id.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["deviceId"], VECTOR_DEVICE_ID);
        assert_eq!(doc["publicKey"], VECTOR_PUBLIC_KEY);
        let loaded = DeviceIdentity::load(&path).unwrap();
        assert_eq!(loaded.device_id(), VECTOR_DEVICE_ID);
        assert_eq!(loaded.created_at_ms(), id.created_at_ms());
        assert_eq!(loaded.sign("x"), id.sign("x"));
    }

    #[test]
    fn load_or_create_creates_once() {
        let dir = TestDir::new("identity-loc");
        let path = dir.path().join("device.json");
        let a = DeviceIdentity::load_or_create(&path).unwrap();
        let b = DeviceIdentity::load_or_create(&path).unwrap();
        assert_eq!(a.device_id(), b.device_id());
    }

    fn write_doc(path: &Path, doc: Value) {
        write_private(path, doc.to_string().as_bytes()).unwrap();
    }

    #[test]
    fn load_errors_name_path_and_problem_without_key() {
        let dir = TestDir::new("identity-bad");
        let path = dir.path().join("device.json");
        let seed = URL_SAFE_NO_PAD.encode(VECTOR_SEED);
        let other = DeviceIdentity::from_seed([7u8; 32]);
        let cases = [
            (json!({"version": 2}), "unsupported version 2"),
            (json!({"deviceId": "x"}), "\"version\" is missing"),
            (
                json!({"version":1,"deviceId":VECTOR_DEVICE_ID,"publicKey":VECTOR_PUBLIC_KEY}),
                "\"privateKey\" is missing",
            ),
            (
                json!({"version":1,"deviceId":VECTOR_DEVICE_ID,"publicKey":VECTOR_PUBLIC_KEY,"privateKey":"abc"}),
                "not a base64url 32-byte",
            ),
            (
                json!({"version":1,"deviceId":VECTOR_DEVICE_ID,"publicKey":other.public_key_b64url(),"privateKey":seed}),
                "does not belong",
            ),
            (
                json!({"version":1,"deviceId":other.device_id(),"publicKey":VECTOR_PUBLIC_KEY,"privateKey":seed}),
                "does not match the key",
            ),
        ];
        for (doc, expected) in cases {
            write_doc(&path, doc);
            let err = DeviceIdentity::load(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(!err.contains(&seed), "{err}");
        }
        std::fs::write(&path, "{not json").unwrap();
        let err = DeviceIdentity::load(&path).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        let missing = DeviceIdentity::load(&dir.path().join("nope.json")).unwrap_err();
        assert!(missing.is_not_found());
        assert!(missing.to_string().contains("nope.json"));
    }

    #[cfg(unix)]
    #[test]
    fn load_refuses_world_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new("identity-mode");
        let path = dir.path().join("device.json");
        DeviceIdentity::from_seed(VECTOR_SEED).save(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = DeviceIdentity::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("mode 644") && err.contains("chmod 600"),
            "{err}"
        );
        // load_or_create must not overwrite it.
        assert!(DeviceIdentity::load_or_create(&path).is_err());
    }
}
