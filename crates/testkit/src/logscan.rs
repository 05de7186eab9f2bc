//! What must never be in a log: card numbers, passwords, bearer tokens, client secrets, signing
//! keys, and the phone numbers and addresses the tests send. [`assert_clean`] reads every log a
//! test's processes wrote (`*.log` under its data directory) and fails the test on the first line
//! that shows one; [`TestSystem::cleanup`](crate::system::TestSystem::cleanup) calls it, so every
//! system test checks its own logs.

use std::path::{Path, PathBuf};

/// The card numbers, phone numbers and addresses the tests send (besides any number that passes
/// the Luhn check, which [`findings`] finds by its shape).
pub const TEST_DATA: &[(&str, &str)] = &[
    ("4242424242424242", "a card number"),
    ("4242424242424241", "a card number"),
    ("4111111111111111", "a card number"),
    ("4000000000000002", "a card number"),
    ("4000000000009995", "a card number"),
    ("010-1234-5678", "a phone number"),
    ("010-5555-1234", "a phone number"),
    ("010-9876-5432", "a phone number"),
    ("세종대로", "an address"),
    ("종로구", "an address"),
    ("을지로", "an address"),
    ("해운대구", "an address"),
];

/// Texts a log must not contain, each with what it is (for the failure message).
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    texts: Vec<(String, String)>,
    /// Whether a Luhn-valid digit run counts only when it is one of the texts (fuzzed input).
    known_cards_only: bool,
}

impl Secrets {
    /// The tests' card numbers, phone numbers and addresses ([`TEST_DATA`]).
    pub fn test_data() -> Self {
        let mut secrets = Self::default();
        for (text, what) in TEST_DATA {
            secrets = secrets.with(text, what);
        }
        secrets
    }

    /// These, with card numbers found only among the texts: for logs of a system fed random
    /// input, whose digit runs pass the Luhn check one time in ten.
    pub fn known_cards_only(mut self) -> Self {
        self.known_cards_only = true;
        self
    }

    /// These and `text` (ignored when empty), which is `what`.
    pub fn with(mut self, text: &str, what: &str) -> Self {
        if !text.is_empty() {
            self.texts.push((text.to_owned(), what.to_owned()));
        }
        self
    }
}

/// One line of a log that shows something it must not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The log file.
    pub file: PathBuf,
    /// The line number, from 1.
    pub line: usize,
    /// What the line shows (`a card number`, `a bearer token`).
    pub what: String,
}

/// What `text` (one log's contents) shows that it must not: one finding per line and kind.
pub fn findings(file: &Path, text: &str, secrets: &Secrets) -> Vec<Finding> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut kinds: Vec<String> = secrets
            .texts
            .iter()
            .filter(|(secret, _)| line.contains(secret.as_str()))
            .map(|(_, what)| what.clone())
            .collect();
        kinds.extend(
            shapes(line, !secrets.known_cards_only)
                .into_iter()
                .map(str::to_owned),
        );
        kinds.sort();
        kinds.dedup();
        found.extend(kinds.into_iter().map(|what| Finding {
            file: file.to_owned(),
            line: number + 1,
            what,
        }));
    }
    found
}

/// What a line shows by its shape alone, whatever the test sent.
fn shapes(line: &str, cards: bool) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if cards && has_card_number(line) {
        kinds.push("a card number");
    }
    if has_bearer_token(line) {
        kinds.push("a bearer token");
    }
    if has_jwt(line) {
        kinds.push("a signed token (JWT)");
    }
    if line.contains("-----BEGIN") {
        kinds.push("key material (PEM)");
    }
    kinds
}

/// A run of 13 to 19 digits standing alone (nothing beside it that [`joins`] it to a longer
/// number or identifier: not the fraction of a float, not part of a hex trace id or a UUID, not
/// the whole part of a float), starting as payment cards do (2 to 6; millisecond and nanosecond timestamps start
/// with 1) and passing the Luhn check.
fn has_card_number(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_digit() {
            start += 1;
            continue;
        }
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        let alone = (start == 0 || !joins(bytes[start - 1]))
            && (end == bytes.len()
                || !(joins(bytes[end])
                    || (bytes[end] == b'.' && bytes.get(end + 1).is_some_and(u8::is_ascii_digit))));
        let run = &line[start..end];
        if alone
            && (13..=19).contains(&run.len())
            && (b'2'..=b'6').contains(&bytes[start])
            && luhn(run)
        {
            return true;
        }
        start = end;
    }
    false
}

/// Whether a byte next to a digit run makes it part of something longer: a letter or digit (hex,
/// base64), `_` or `-` (an identifier, a UUID), or `.` before it (the fraction of a float such as
/// `"elapsed_ms":2.6929499999999997`, a version, an address).
fn joins(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

/// The Luhn check of a string of digits.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
}

/// `Bearer ` (any case) followed by a token of 16 characters or more.
fn has_bearer_token(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.match_indices("bearer ").any(|(at, found)| {
        line[at + found.len()..]
            .chars()
            .take_while(|c| token_char(*c))
            .count()
            >= 16
    })
}

/// A JSON Web Token: a base64url JSON header (`eyJ`), a dot, a base64url JSON payload (`eyJ`).
fn has_jwt(line: &str) -> bool {
    line.match_indices("eyJ").any(|(at, _)| {
        let rest = &line[at..];
        let header = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .count();
        header >= 10 && rest[header..].starts_with(".eyJ")
    })
}

/// Every `*.log` file under `dir` (the processes' own logs and `msa up`'s).
fn logs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "log") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What the logs under `dir` show that they must not.
pub fn scan(dir: &Path, secrets: &Secrets) -> Vec<Finding> {
    let mut found = Vec::new();
    for file in logs(dir) {
        let text = std::fs::read(&file).unwrap_or_default();
        found.extend(findings(&file, &String::from_utf8_lossy(&text), secrets));
    }
    found
}

/// Fails (panics) if any log under `dir` shows a secret, a card number, a token, key material or
/// the tests' personal data; the message names file, line and kind, never the text itself.
pub fn assert_clean(dir: &Path, secrets: &Secrets) {
    assert_none(&scan(dir, secrets));
}

/// Fails (panics) on any finding of a [`scan`].
pub fn assert_none(found: &[Finding]) {
    let report: Vec<String> = found
        .iter()
        .map(|f| format!("{}:{} shows {}", f.file.display(), f.line, f.what))
        .collect();
    assert!(
        found.is_empty(),
        "the logs show what they must not (MSA_KEEP_TEST_DIRS=1 keeps them):\n{}",
        report.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str, secrets: &Secrets) -> Vec<String> {
        findings(Path::new("x.log"), line, secrets)
            .into_iter()
            .map(|f| f.what)
            .collect()
    }

    #[test]
    fn a_line_with_a_card_number_is_found_even_one_no_test_sent() {
        let none = Secrets::default();
        let line = r#"{"level":"INFO","fields":{"card":"5555555555554444"}}"#;
        assert_eq!(kinds(line, &none), ["a card number"]);
        let line = r#"{"msg":"charging 4242424242424242."}"#;
        assert_eq!(kinds(line, &Secrets::test_data()), ["a card number"]);
    }

    #[test]
    fn timestamps_trace_ids_and_numbers_failing_luhn_are_not_card_numbers() {
        let none = Secrets::default();
        for line in [
            r#"{"time":1718000000000,"at":1718000000000000000}"#,
            r#"{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span":"00f067aa0ba902b7"}"#,
            r#"{"trace_id":"a4242424242424242b"}"#,
            r#"{"amount":4242424242424243}"#,
            r#"{"elapsed_ms":2.6929499999999997,"took":5555555555554444.5}"#,
            r#"{"id":"018f7c2e-5555-7000-8000-555555555554444","run":"x_5555555555554444"}"#,
            r#"{"order":"order-5555555555554444","v":"1.5555555555554444"}"#,
        ] {
            assert!(kinds(line, &none).is_empty(), "{line}");
        }
    }

    #[test]
    fn fuzzed_logs_are_scanned_for_the_known_cards_only() {
        let secrets = Secrets::test_data().known_cards_only();
        assert!(kinds(r#"{"id":"5555555555554444"}"#, &secrets).is_empty());
        assert_eq!(kinds("card 4111111111111111", &secrets), ["a card number"]);
    }

    #[test]
    fn tokens_keys_secrets_and_personal_data_are_found() {
        let secrets = Secrets::test_data()
            .with("ops-secret_1f2e", "the ops client secret")
            .with("kim-password", "a password");
        let cases = [
            (
                "authorization: Bearer abcdefghijklmnop0123",
                "a bearer token",
            ),
            (
                "token=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJraW0ifQ.c2ln",
                "a signed token (JWT)",
            ),
            ("-----BEGIN PRIVATE KEY-----", "key material (PEM)"),
            ("secret ops-secret_1f2e", "the ops client secret"),
            ("password=kim-password", "a password"),
            (r#"{"phone":"010-1234-5678"}"#, "a phone number"),
            (r#"{"address":"서울시 종로구 세종대로 1"}"#, "an address"),
        ];
        for (line, what) in cases {
            assert_eq!(kinds(line, &secrets), [what], "{line}");
        }
        assert!(kinds("a bearer token is required", &secrets).is_empty());
    }

    #[test]
    fn a_log_directory_with_a_leak_fails_the_scan() {
        let dir = crate::TempDir::new("logscan");
        std::fs::write(dir.path().join("clean.log"), "{\"msg\":\"ready\"}\n").unwrap();
        std::fs::create_dir_all(dir.path().join("up")).unwrap();
        std::fs::write(dir.path().join("up/payment.log"), "card 4111111111111111\n").unwrap();
        let scan = std::panic::catch_unwind(|| assert_clean(dir.path(), &Secrets::default()));
        let message = *scan.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("payment.log:1 shows a card number"),
            "{message}"
        );
        assert!(
            !message.contains("4111111111111111"),
            "the report repeats no secret"
        );
    }
}
