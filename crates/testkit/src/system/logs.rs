//! What a test system's logs must not show: besides the tests' data ([`Secrets::test_data`]),
//! its ops client secret and token, its demo accounts' passwords and its signing keys.

use super::TestSystem;
use crate::logscan::{Finding, Secrets, assert_clean, scan};

impl TestSystem {
    /// What this system's logs must not show.
    pub fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::test_data()
            .with(&self.ops_secret, "the ops client secret")
            .with(&self.admin_token, "the ops client's token");
        // The demo accounts' passwords follow one rule (`kim-password`; booth staff share
        // `booth-password`): the README lists them.
        for user in &self.manifest.demo_users {
            let names = std::iter::once(&user.username).chain(&user.roles);
            for name in names {
                secrets = secrets.with(&format!("{name}-password"), "a demo account's password");
            }
        }
        for line in signing_keys(self.dir.path()) {
            secrets = secrets.with(&line, "signing-key material");
        }
        if self.fuzzed {
            secrets = secrets.known_cards_only();
        }
        secrets
    }

    /// Fails the test if any process's log shows one of [`Self::secrets`], a card number, a
    /// bearer token or key material ([`crate::logscan`]).
    pub fn assert_logs_clean(&self) {
        assert_clean(self.dir.path(), &self.secrets());
    }

    /// What the processes' logs show that they must not (what [`Self::assert_logs_clean`] fails on).
    pub fn log_leaks(&self) -> Vec<Finding> {
        scan(self.dir.path(), &self.secrets())
    }
}

/// The base64 lines of the PEM files in `dir` (the embedded issuer's signing keys).
fn signing_keys(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .filter(|text| text.starts_with("-----BEGIN"))
        .flat_map(|text| {
            text.lines()
                .filter(|line| !line.starts_with("-----") && line.len() >= 16)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}
