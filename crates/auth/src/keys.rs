//! Signing keys: Ed25519 (EdDSA) keys in PKCS#8 PEM files, generated on first run when the
//! embedded default has none, published as a JWKS with the previous keys kept for rotation.

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::path::Path;

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// One Ed25519 key.
struct Key {
    kid: String,
    public: Vec<u8>,
    pkcs8: Vec<u8>,
}

impl Key {
    fn from_pkcs8(pkcs8: Vec<u8>) -> anyhow::Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 key: {e}"))?;
        let public = pair.public_key().as_ref().to_vec();
        // RFC 7638 thumbprint: SHA-256 of the canonical JWK members.
        let canonical = format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(&public)
        );
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Ok(Self { kid, public, pkcs8 })
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "use": "sig",
            "alg": "EdDSA",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public),
        })
    }
}

fn read_pem(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read signing key {}", path.display()))?;
    let body: String = text
        .lines()
        .skip_while(|l| l.trim() != PEM_BEGIN)
        .skip(1)
        .take_while(|l| l.trim() != PEM_END)
        .collect();
    STANDARD
        .decode(body.trim())
        .with_context(|| format!("{} is not a PEM private key", path.display()))
}

/// Creates `path` (mode 0600) holding `contents`, unless it exists; returns whether it did.
///
/// Replicas starting together on one data directory (a key or secret generated on first run)
/// must all end up with the same file: it is written aside and linked into place in one step,
/// so the loser of the race reads the winner's complete file instead of writing its own.
pub(crate) fn create_once(path: &Path, contents: &[u8]) -> anyhow::Result<bool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let aside = path.with_extension(format!("new-{}", uuid::Uuid::now_v7()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&aside)
        .and_then(|mut file| std::io::Write::write_all(&mut file, contents))
        .and_then(|()| std::fs::hard_link(&aside, path));
    let _ = std::fs::remove_file(&aside);
    match written {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Writes a new key to `path` unless another process just did; false when it did.
fn write_pem(path: &Path, der: &[u8]) -> anyhow::Result<bool> {
    let encoded = STANDARD.encode(der);
    let mut pem = format!("{PEM_BEGIN}\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str(PEM_END);
    pem.push('\n');
    create_once(path, pem.as_bytes()).context("cannot write the signing key")
}

/// The current signing key and the previous ones (still in the JWKS so that tokens they signed
/// stay valid until they expire).
pub struct SigningKeys {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.current.kid)
            .finish()
    }
}

impl SigningKeys {
    /// Loads the key at `path`, generating it first when `generate` is set and it is missing;
    /// loads `previous` keys for verification only.
    pub fn load(path: &Path, generate: bool, previous: &[String]) -> anyhow::Result<Self> {
        if !path.exists() {
            anyhow::ensure!(
                generate,
                "signing key {} does not exist (mount it from a Secret, or enable generation)",
                path.display()
            );
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| anyhow::anyhow!("cannot generate a signing key"))?;
            if write_pem(path, pkcs8.as_ref())? {
                tracing::info!(path = %path.display(), "generated a new signing key");
            }
        }
        let current = Key::from_pkcs8(read_pem(path)?)?;
        let previous = previous
            .iter()
            .map(|p| Key::from_pkcs8(read_pem(Path::new(p))?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { current, previous })
    }

    /// The key id tokens are signed with now.
    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    /// The JSON Web Key Set.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = std::iter::once(&self.current)
            .chain(&self.previous)
            .map(Key::jwk)
            .collect();
        json!({ "keys": keys })
    }

    /// Signs `claims` as a JWT with the current key.
    pub fn sign<C: Serialize>(&self, claims: &C) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_ed_der(&self.current.pkcs8),
        )
        .context("cannot sign a token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_saved_reloaded_and_published() {
        let dir = std::env::temp_dir().join(format!("msa-auth-keys-{}", uuid::Uuid::now_v7()));
        let path = dir.join("signing-key.pem");
        let first = SigningKeys::load(&path, true, &[]).unwrap();
        let again = SigningKeys::load(&path, false, &[]).unwrap();
        assert_eq!(first.kid(), again.kid(), "the same key comes back");
        let jwks = again.jwks();
        assert_eq!(jwks["keys"][0]["kid"], first.kid());
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        let token = again.sign(&json!({ "sub": "x" })).unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert!(SigningKeys::load(&dir.join("missing.pem"), false, &[]).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn replicas_generating_a_key_at_once_all_load_the_same_one() {
        let dir = std::env::temp_dir().join(format!("msa-auth-keys-{}", uuid::Uuid::now_v7()));
        let path = dir.join("signing-key.pem");
        let kids: Vec<String> = std::thread::scope(|scope| {
            let loads: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| SigningKeys::load(&path, true, &[]).unwrap()))
                .collect();
            loads
                .into_iter()
                .map(|load| load.join().unwrap().kid().to_owned())
                .collect()
        });
        assert!(kids.iter().all(|kid| *kid == kids[0]), "{kids:?}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "nothing left aside"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
