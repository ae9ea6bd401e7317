//! HTTPS: a local CA and a server certificate generated at start, or one read from files.
//!
//! Real clients (MSAL, azure-identity, the Azure CLI) refuse authorities that are not
//! HTTPS, so the binary serves TLS by default. The generated CA is a proper CA
//! (basicConstraints CA:TRUE) that issues a separate leaf: verifiers such as webpki and
//! OpenSSL in strict mode reject a CA certificate presented as the server's own.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("could not generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be read or parsed.
    #[error("could not read {path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A `--tls-san` value is neither an IP address nor a DNS name.
    #[error("--tls-san '{0}' is neither an IP address nor a DNS name")]
    InvalidSan(String),
    /// rustls refused the certificate/key pair.
    #[error("invalid certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A server TLS configuration plus the PEM of the certificate clients should trust.
pub(crate) struct TlsSetup {
    /// The rustls configuration for the listener.
    pub(crate) config: Arc<ServerConfig>,
    /// PEM of the CA (generated mode) or of the given certificate chain.
    pub(crate) trust_pem: String,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup").finish_non_exhaustive()
    }
}

/// Generates a CA and a server certificate for localhost, 127.0.0.1, ::1 and `extra_sans`.
pub(crate) fn self_signed(extra_sans: &[String]) -> Result<TlsSetup, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Entra Emulator Local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = time::OffsetDateTime::now_utc();
    ca_params.not_before = now - time::Duration::days(1);
    ca_params.not_after = now + time::Duration::days(825);
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(extra_sans.iter().cloned());
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) if is_dns_name(n) => Ok(SanType::DnsName(n.as_str().try_into()?)),
            Err(_) => Err(TlsError::InvalidSan(n.clone())),
        })
        .collect::<Result<_, TlsError>>()?;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = ca_params.not_before;
    leaf.not_after = ca_params.not_after;
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate()?;
    let issuer = Issuer::new(ca_params, &ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

    let chain = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    Ok(TlsSetup {
        config: server_config(chain, key)?,
        trust_pem: ca_cert.pem(),
    })
}

/// A DNS name for a certificate: dot-separated labels of letters, digits and hyphens, with
/// an optional leading wildcard label.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Reads a certificate chain and key from PEM files.
pub(crate) fn from_files(cert: &Path, key: &Path) -> Result<TlsSetup, TlsError> {
    let pem_err = |path: &Path, reason: String| TlsError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let cert_pem = std::fs::read_to_string(cert).map_err(|e| pem_err(cert, e.to_string()))?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_err(cert, "no CERTIFICATE block".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e.to_string()))?;
    Ok(TlsSetup {
        config: server_config(chain, key_der)?,
        trust_pem: cert_pem,
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ca_is_pem_and_extra_names_are_accepted() {
        let setup = self_signed(&["emulator.test".into(), "10.1.2.3".into()]).expect("tls");
        assert!(setup.trust_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn invalid_dns_name_is_an_error_not_a_panic() {
        let err = self_signed(&["bad name\u{0}".into()]).expect_err("must fail");
        assert!(matches!(err, TlsError::InvalidSan(_)), "{err}");
        assert!(self_signed(&["*.emulator.test".into(), "host-1".into()]).is_ok());
    }

    #[test]
    fn missing_files_name_the_path() {
        let err = from_files(
            Path::new("/nonexistent/cert.pem"),
            Path::new("/nonexistent/key.pem"),
        )
        .expect_err("must fail");
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    }
}
