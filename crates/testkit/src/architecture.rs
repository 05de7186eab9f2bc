//! Architecture checks: a service's domain stays pure Rust.

use std::path::{Path, PathBuf};

/// Crates and derives a domain module must not use: I/O, frameworks, wire formats, the kernel.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "reqwest",
    "hyper",
    "tonic",
    "prost",
    "redis",
    "async_nats",
    "serde_json",
    "kernel",
    "Serialize",
    "Deserialize",
    "crate::adapters",
    "crate::app",
    "crate::ports",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Fails if any file under `<crate>/src/domain` mentions a forbidden crate or derive outside
/// comments. Call it from a test with `env!("CARGO_MANIFEST_DIR")`.
pub fn assert_domain_is_pure(crate_dir: &str) {
    let domain = Path::new(crate_dir).join("src").join("domain");
    let mut files = Vec::new();
    rust_files(&domain, &mut files);
    assert!(
        !files.is_empty(),
        "{} has no domain module",
        domain.display()
    );
    let mut violations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                let found = code.match_indices(word).any(|(at, _)| {
                    let before = code[..at].chars().next_back();
                    let after = code[at + word.len()..].chars().next();
                    let boundary =
                        |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                    boundary(before) && boundary(after)
                });
                if found {
                    violations.push(format!(
                        "{}:{}: uses {word}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the domain must stay pure:\n{}",
        violations.join("\n")
    );
}
