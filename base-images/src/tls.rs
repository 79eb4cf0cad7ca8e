//! The process's one TLS crypto provider: ring, installed before any TLS
//! client is made (bollard's to the engine, the registry client's). rustls
//! cannot pick a provider itself when none is built in, and panics.

/// Installs ring as the process's TLS provider unless one is installed.
pub(crate) fn install_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer leaves that one, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
