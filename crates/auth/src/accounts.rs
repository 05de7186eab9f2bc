//! Users and OAuth clients. Passwords and client secrets are kept only as Argon2id hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use serde::Deserialize;

/// Someone who signs in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login name (the token's `sub` and `preferred_username`).
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// `customer`, `booth`, `admin`.
    pub roles: Vec<String>,
    /// For customers: the customer id their reservations are made under.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// For booth staff: their booth.
    #[serde(default)]
    pub booth: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: String,
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

struct Demo {
    username: &'static str,
    hash: &'static str,
    roles: &'static [&'static str],
    customer_id: Option<&'static str>,
    booth: Option<&'static str>,
    name: &'static str,
}

/// The demo accounts of the embedded default (passwords in the README; only hashes here).
const DEMO: &[Demo] = &[
    Demo {
        username: "kim",
        hash: include_str!("demo/kim.hash"),
        roles: &["customer"],
        customer_id: Some("kim"),
        booth: None,
        name: "김민수 Kim Minsu",
    },
    Demo {
        username: "lee",
        hash: include_str!("demo/lee.hash"),
        roles: &["customer"],
        customer_id: Some("lee"),
        booth: None,
        name: "이서연 Lee Seoyeon",
    },
    Demo {
        username: "booth-icn-t1",
        hash: include_str!("demo/booth.hash"),
        roles: &["booth"],
        customer_id: None,
        booth: Some("ICN-T1"),
        name: "인천공항 T1 부스 ICN T1 booth",
    },
    Demo {
        username: "booth-icn-t2",
        hash: include_str!("demo/booth.hash"),
        roles: &["booth"],
        customer_id: None,
        booth: Some("ICN-T2"),
        name: "인천공항 T2 부스 ICN T2 booth",
    },
    Demo {
        username: "booth-gmp",
        hash: include_str!("demo/booth.hash"),
        roles: &["booth"],
        customer_id: None,
        booth: Some("GMP"),
        name: "김포공항 부스 GMP booth",
    },
    Demo {
        username: "booth-pus",
        hash: include_str!("demo/booth.hash"),
        roles: &["booth"],
        customer_id: None,
        booth: Some("PUS"),
        name: "김해공항 부스 PUS booth",
    },
    Demo {
        username: "admin",
        hash: include_str!("demo/admin.hash"),
        roles: &["admin"],
        customer_id: None,
        booth: None,
        name: "운영자 Operator",
    },
];

/// The demo accounts.
pub fn demo_users() -> Vec<User> {
    DEMO.iter()
        .map(|d| User {
            username: d.username.to_owned(),
            password_hash: d.hash.trim().to_owned(),
            roles: d.roles.iter().map(|r| (*r).to_owned()).collect(),
            customer_id: d.customer_id.map(str::to_owned),
            booth: d.booth.map(str::to_owned),
            name: d.name.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "battery staple"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn the_demo_accounts_match_the_documented_passwords() {
        let users = demo_users();
        let check = |name: &str, password: &str| {
            let user = users.iter().find(|u| u.username == name).unwrap();
            assert!(verify_password(&user.password_hash, password), "{name}");
        };
        check("kim", "kim-password");
        check("lee", "lee-password");
        check("booth-icn-t1", "booth-password");
        check("admin", "admin-password");
        assert!(!verify_password(decoy_hash(), ""));
    }
}
