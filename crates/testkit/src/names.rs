//! Unique names and throw-away directories, so that test runs never collide.

use std::path::{Path, PathBuf};

/// A name no other test run uses: `<prefix>_<time><random>`, lower-case letters, digits and `_`.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{:x}{:06x}",
        (nanos / 1_000_000) as u64 & 0xffff_ffff,
        fastrand::u32(..0x100_0000)
    )
}

/// A directory removed when dropped (unless `MSA_KEEP_TEST_DIRS` is set, for post-mortems).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh directory under the system temp dir.
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir()
            .join("msa-tests")
            .join(unique_name(prefix));
        std::fs::create_dir_all(&path).expect("cannot create a test directory");
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A `sqlite://` URL for a database file in this directory.
    pub fn sqlite_url(&self, file: &str) -> String {
        format!("sqlite://{}", self.path.join(file).display())
    }

    /// A `local://` bus URL for a bus file in this directory.
    pub fn local_bus_url(&self, file: &str) -> String {
        format!("local://{}", self.path.join(file).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("MSA_KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
