//! The embedded token issuer for `msa up`: a small OAuth 2.0 / OpenID Connect provider that
//! speaks the standard endpoints, so that Keycloak or any OIDC provider replaces it by
//! configuration alone.
//!
//! - discovery (`/.well-known/openid-configuration`) and keys (`/oauth2/jwks`, EdDSA);
//! - authorization code with PKCE (S256) for the browser (`/oauth2/authorize`, a login form);
//! - client credentials for machine clients and refresh tokens (rotated; a reused one revokes
//!   its whole family) at `/oauth2/token`; revocation at `/oauth2/revoke`;
//! - users and client secrets kept only as Argon2id hashes.
//!
//! Codes and refresh tokens live in memory by default: a restart signs everyone out, which is
//! what a single embedded demo issuer should do. Several replicas share them through a
//! [`GrantStore`] the gateway supplies (SQL or Redis). Tokens already issued stay valid until
//! they expire, because the signing key is kept on disk (or mounted from a Secret), the same
//! file for every replica.

mod accounts;
mod flows;
mod keys;

pub use accounts::{Client, User, hash_password, verify_password};
pub use flows::{
    CodeGrant, GrantStore, Issuer, IssuerSettings, MemoryGrantStore, RefreshGrant, Rotation,
    promises,
};
pub use keys::SigningKeys;
