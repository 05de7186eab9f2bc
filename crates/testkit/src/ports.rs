//! Ports for test processes. A port found free can be taken by another test between the moment
//! it is found and the moment a child process binds it; so every test takes its ports through
//! this allocator, which records each port it hands out in a lock file (with the owner's process
//! id) until the test releases it, and never hands out a port another live test holds. Ports come
//! from above the kernel's ephemeral range (61000–65535; Linux hands out 32768–60999 as source
//! ports of outgoing connections), so that no process's outgoing connection to NATS or a database
//! can sit on a port a test is about to start a service on.

use std::path::PathBuf;

fn registry() -> PathBuf {
    let dir = std::env::temp_dir().join("msa-test-ports");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn owner_alive(lock: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(lock) else {
        return false;
    };
    text.trim()
        .parse::<u32>()
        .is_ok_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// A port held for this test until dropped.
#[derive(Debug)]
pub struct Port {
    port: u16,
    lock: PathBuf,
}

impl Port {
    /// Takes a port that is free now and held by no other test.
    pub fn take() -> Self {
        for _ in 0..1_000 {
            let candidate = fastrand::u16(61_000..=65_535);
            if std::net::TcpListener::bind(("127.0.0.1", candidate)).is_err() {
                continue;
            }
            let lock = registry().join(candidate.to_string());
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock);
            match created {
                Ok(mut file) => {
                    use std::io::Write as _;
                    let _ = write!(file, "{}", std::process::id());
                    return Self {
                        port: candidate,
                        lock,
                    };
                }
                Err(_) if !owner_alive(&lock) => {
                    // Left behind by a test that died: take it over.
                    let _ = std::fs::write(&lock, std::process::id().to_string());
                    return Self {
                        port: candidate,
                        lock,
                    };
                }
                Err(_) => continue,
            }
        }
        panic!("no free port found");
    }

    /// A port chosen elsewhere (`msa up`'s manifest ports under a test's offset), held by no
    /// lock.
    pub fn fixed(port: u16) -> Self {
        Self {
            port,
            lock: PathBuf::new(),
        }
    }

    /// The port number.
    pub fn number(&self) -> u16 {
        self.port
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}
