//! SHA-256 as the tool writes it everywhere: `sha256:<64 lowercase hex>`,
//! the form OCI descriptors, image ids, recipe digests and fetched inputs
//! share. The one place bytes become a digest text.

use sha2::{Digest as _, Sha256};

/// The digest of `bytes` as `sha256:<hex>`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex_of(bytes))
}

/// The digest of everything `state` was fed, as `sha256:<hex>` (for
/// bytes hashed as they stream by).
pub(crate) fn finish(state: Sha256) -> String {
    format!("sha256:{:x}", state.finalize())
}

/// The 64 lowercase hex digits of the SHA-256 of `bytes`.
pub(crate) fn hex_of(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A reader that hashes and counts what goes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R> HashingReader<R> {
    /// Hashes what is read of `inner`.
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The digest of what was read so far, as `sha256:<hex>`.
    pub(crate) fn digest(&self) -> String {
        finish(self.hasher.clone())
    }

    /// How many bytes were read so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_the_digest_of_the_bytes_in_lowercase_hex() {
        assert_eq!(
            super::digest_of(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(super::hex_of(b"").len(), 64);
    }
}
