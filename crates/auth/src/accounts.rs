//! Users and OAuth clients. Passwords and client secrets are kept only as Argon2id hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use serde::Deserialize;

/// Someone who signs in.
#[derive(Clone, Debug, Deserialize)]
pub struct User {
    /// Login name (the token's `sub` and `preferred_username`).
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Roles, as the system's access rules name them.
    pub roles: Vec<String>,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Further token claims, e.g. `customer_id` or `booth` (any other field of a users file
    /// entry; a `null` one is left out, and the token's own claims cannot be overridden).
    #[serde(flatten, deserialize_with = "claims")]
    pub claims: std::collections::BTreeMap<String, String>,
}

/// Claims a user entry may not set: the token's own.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "azp",
    "scope",
    "roles",
    "name",
    "preferred_username",
    "nonce",
];

fn claims<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    use serde::de::Error as _;
    let raw: std::collections::BTreeMap<String, Option<String>> =
        Deserialize::deserialize(deserializer)?;
    let mut claims = std::collections::BTreeMap::new();
    for (name, value) in raw {
        if RESERVED.contains(&name.as_str()) {
            return Err(D::Error::custom(format!(
                "a user may not set the token claim {name:?}"
            )));
        }
        if let Some(value) = value {
            claims.insert(name, value);
        }
    }
    Ok(claims)
}

/// An application that asks for tokens.
#[derive(Clone, Debug)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Argon2id hash of the secret; `None` for a public client (a browser app, which must use PKCE).
    pub secret_hash: Option<String>,
    /// Where the authorization code may be sent.
    pub redirect_uris: Vec<String>,
    /// Roles of tokens issued to the client itself (client credentials).
    pub roles: Vec<String>,
}

/// Hashes a password (or client secret) with Argon2id and a random salt.
pub fn hash_password(password: &str) -> String {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the system has randomness");
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with default parameters succeeds")
        .to_string()
}

/// Checks a password against an Argon2 PHC string.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a random password, verified against when the user does not exist so that unknown
/// and known names take the same time.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&uuid::Uuid::now_v7().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_file_entries_keep_string_claims_drop_nulls_and_refuse_reserved_names() {
        let user: User = serde_json::from_value(serde_json::json!({
            "username": "staff", "password_hash": "x", "roles": ["booth"],
            "booth": "GMP", "customer_id": null
        }))
        .unwrap();
        assert_eq!(user.claims.get("booth").map(String::as_str), Some("GMP"));
        assert!(!user.claims.contains_key("customer_id"));
        let refused = serde_json::from_value::<User>(serde_json::json!({
            "username": "x", "password_hash": "x", "roles": [], "exp": "9"
        }));
        assert!(refused.is_err());
    }

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "battery staple"));
        assert!(!verify_password("not a hash", "x"));
    }
}
