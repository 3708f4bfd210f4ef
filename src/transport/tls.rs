//! The rustls client configuration.
//!
//! Default roots are the webpki (Mozilla) roots plus the operating system's
//! store, plus every certificate in `NODE_EXTRA_CA_CERTS`, because Node users
//! expect that variable to work and a native TLS stack would otherwise ignore
//! it silently. A caller's `tls.ca` replaces the default roots, as in Node.
//!
//! A SHA-256 pin of the leaf certificate (`TlsOptions::pin_sha256`, the
//! gateway's `tlsFingerprint`) replaces CA and name verification: the one
//! certificate whose DER hashes to the pin is accepted (its handshake
//! signatures are still checked), any other is rejected before the upgrade
//! request, and so before any header or token, is sent.

use std::fmt;
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use super::options::TlsOptions;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|e| format!("it is not valid PEM ({e})"))?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// Certificates from `NODE_EXTRA_CA_CERTS`, read once. Problems are
/// reported once on stderr, as Node does, and never stop a connection.
static EXTRA_CA: Lazy<Vec<CertificateDer<'static>>> = Lazy::new(|| {
    let Some(path) = std::env::var_os("NODE_EXTRA_CA_CERTS").filter(|p| !p.is_empty()) else {
        return Vec::new();
    };
    let shown = path.to_string_lossy().into_owned();
    match std::fs::read(&path) {
        Ok(bytes) => match parse_pem_certs(&bytes) {
            Ok(certs) => certs,
            Err(why) => {
                eprintln!("clawsock: NODE_EXTRA_CA_CERTS={shown} was ignored: {why}");
                Vec::new()
            }
        },
        Err(e) => {
            eprintln!("clawsock: NODE_EXTRA_CA_CERTS={shown} was ignored: cannot read it ({e})");
            Vec::new()
        }
    }
});

static DEFAULT_ROOTS: Lazy<Arc<RootCertStore>> = Lazy::new(|| {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    roots.add_parsable_certificates(EXTRA_CA.iter().cloned());
    Arc::new(roots)
});

static DEFAULT_CONFIG: Lazy<Arc<ClientConfig>> =
    Lazy::new(|| Arc::new(build_config((*DEFAULT_ROOTS).as_ref().clone())));

fn build_config(roots: RootCertStore) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The client configuration for `opts`. The common case (no options) is
/// built once and shared.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, String> {
    if opts.pin_sha256.is_some() || !opts.reject_unauthorized {
        let mut verifier = AcceptAnyCertificate::new(false);
        verifier.pin = opts.pin_sha256;
        let mut config = build_config(RootCertStore::empty());
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(verifier));
        return Ok(Arc::new(config));
    }
    if opts.ca.is_empty() {
        return Ok(DEFAULT_CONFIG.clone());
    }
    let mut roots = RootCertStore::empty();
    for (i, pem) in opts.ca.iter().enumerate() {
        let certs = parse_pem_certs(pem.as_bytes())
            .map_err(|why| format!("tls.ca[{i}] cannot be used: {why}"))?;
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!(
                "tls.ca[{i}] cannot be used: no certificate in it is a valid CA certificate"
            ));
        }
    }
    Ok(Arc::new(build_config(roots)))
}

/// A configuration that accepts any certificate and records the chain the
/// server presents, for diagnostics that show a refused certificate.
pub fn recording_config() -> (Arc<ClientConfig>, Arc<AcceptAnyCertificate>) {
    let recorder = Arc::new(AcceptAnyCertificate::new(true));
    let mut config = build_config(RootCertStore::empty());
    config
        .dangerous()
        .set_certificate_verifier(recorder.clone());
    (Arc::new(config), recorder)
}

/// Explains a rustls error in words, with what to do about it.
pub fn explain_tls_error(err: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(C::Other(OtherError(e)))
            if e.downcast_ref::<PinMismatch>().is_some() =>
        {
            e.to_string()
        }
        rustls::Error::InvalidCertificate(cert) => {
            let why = match cert {
                C::UnknownIssuer => {
                    "it is not signed by a trusted certificate authority (unknown issuer)"
                        .to_string()
                }
                C::Expired | C::ExpiredContext { .. } => "it has expired".to_string(),
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "it is not valid yet (check the clock)".to_string()
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "it is not valid for this host name (the name is not in its subjectAltName)"
                        .to_string()
                }
                C::Revoked => "it has been revoked".to_string(),
                C::BadSignature => "its signature is invalid".to_string(),
                // webpki's error for a certificate with CA:TRUE presented as
                // the server's own: what `openssl req -x509` makes.
                other if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                    "it is a CA certificate presented as the server's own (usually a self-signed \
                     certificate made with `openssl req -x509`): serve a certificate signed by that CA"
                        .to_string()
                }
                other => format!("{other:?}"),
            };
            format!(
                "TLS certificate invalid: {why}. To trust a private CA pass tls.ca or set NODE_EXTRA_CA_CERTS to its PEM file"
            )
        }
        rustls::Error::AlertReceived(alert) => {
            format!("TLS handshake failed: the server sent the alert {alert:?}")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// The leaf certificate does not match the pin.
#[derive(Debug)]
pub struct PinMismatch {
    /// The pin.
    pub expected: [u8; 32],
    /// The SHA-256 of the certificate the server presented.
    pub got: [u8; 32],
}

fn hex_colon(b: &[u8; 32]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gateway tls fingerprint mismatch: the server's certificate has SHA-256 {}, but \
             tlsFingerprint pins {}",
            hex_colon(&self.got),
            hex_colon(&self.expected)
        )
    }
}

impl std::error::Error for PinMismatch {}

/// The SHA-256 of a certificate's DER, as pinned.
pub fn sha256(cert: &[u8]) -> [u8; 32] {
    Sha256::digest(cert).into()
}

/// A verifier that accepts any certificate, or with a pin only the one that
/// matches it (handshake signatures are checked either way), and, if asked
/// to, remembers the chain it was shown.
#[derive(Debug)]
pub struct AcceptAnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
    seen: Option<Mutex<Vec<CertificateDer<'static>>>>,
    pin: Option<[u8; 32]>,
}

impl AcceptAnyCertificate {
    fn new(record: bool) -> Self {
        AcceptAnyCertificate {
            provider: provider(),
            seen: record.then(|| Mutex::new(Vec::new())),
            pin: None,
        }
    }

    /// The chain presented so far: leaf first, then the intermediates
    /// (empty if this verifier does not record).
    pub fn seen(&self) -> Vec<CertificateDer<'static>> {
        self.seen
            .as_ref()
            .map(|s| s.lock().unwrap().clone())
            .unwrap_or_default()
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(seen) = &self.seen {
            let mut seen = seen.lock().unwrap();
            seen.push(end_entity.clone().into_owned());
            seen.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        if let Some(expected) = self.pin {
            let got = sha256(end_entity);
            if got != expected {
                return Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Other(OtherError(Arc::new(PinMismatch {
                        expected,
                        got,
                    }))),
                ));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_is_explained() {
        let opts = TlsOptions {
            ca: vec!["not a pem".into()],
            reject_unauthorized: true,
            servername: None,
            pin_sha256: None,
        };
        let err = client_config(&opts).unwrap_err();
        assert!(err.contains("tls.ca[0]"), "{err}");
        assert!(err.contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn a_pin_accepts_only_its_certificate() {
        let der = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        let mut v = AcceptAnyCertificate::new(false);
        v.pin = Some(sha256(&der));
        let name = ServerName::try_from("gateway.test").unwrap();
        let now = UnixTime::now();
        assert!(v.verify_server_cert(&der, &[], &name, &[], now).is_ok());
        v.pin = Some([0xab; 32]);
        let err = v
            .verify_server_cert(&der, &[], &name, &[], now)
            .unwrap_err();
        let msg = explain_tls_error(&err);
        assert!(msg.starts_with("gateway tls fingerprint mismatch"), "{msg}");
        assert!(msg.contains("pins AB:AB:"), "{msg}");
        assert!(!msg.contains("tls.ca"), "{msg}");
    }

    #[test]
    fn unknown_issuer_says_what_to_do() {
        let msg = explain_tls_error(&rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert!(msg.contains("unknown issuer"));
        assert!(msg.contains("NODE_EXTRA_CA_CERTS"));
    }
}
