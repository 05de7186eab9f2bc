//! The doorbell of the local bus: a Unix datagram per bus instance that wakes idle readers in
//! other processes the moment a publisher commits.

use super::Heads;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Wakes readers in other processes the moment events are appended: each bus instance binds a
/// Unix datagram socket in `<bus file>.wake/`, and a publisher rings all of them after its commit.
/// Polling the head (`poll_ms`) remains as the fallback when no socket can be bound.
pub(super) struct Doorbell {
    dir: std::path::PathBuf,
    own: Option<std::path::PathBuf>,
    sender: Option<std::os::unix::net::UnixDatagram>,
}

impl Doorbell {
    pub(super) async fn open(bus_path: &str, heads: Arc<Heads>, stop: CancellationToken) -> Self {
        let dir = std::path::PathBuf::from(format!("{bus_path}.wake"));
        let own = dir.join(format!("{}-{:08x}", std::process::id(), fastrand::u32(..)));
        let bound =
            std::fs::create_dir_all(&dir).and_then(|()| tokio::net::UnixDatagram::bind(&own));
        let sender = std::os::unix::net::UnixDatagram::unbound().and_then(|s| {
            s.set_nonblocking(true)?;
            Ok(s)
        });
        match (bound, sender) {
            (Ok(socket), Ok(sender)) => {
                let path = own.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 16];
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            received = socket.recv(&mut buffer) => {
                                if received.is_err() {
                                    break;
                                }
                                heads.poke.notify_one();
                            }
                        }
                    }
                    let _ = std::fs::remove_file(path);
                });
                Self {
                    dir,
                    own: Some(own),
                    sender: Some(sender),
                }
            }
            (bound, sender) => {
                let error = bound
                    .err()
                    .or(sender.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                tracing::debug!(%error, "no doorbell for the local bus; readers poll instead");
                Self {
                    dir,
                    own: None,
                    sender: None,
                }
            }
        }
    }

    /// Wakes every other bus instance of this file.
    pub(super) fn ring(&self) {
        let Some(sender) = &self.sender else { return };
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if Some(&path) == self.own.as_ref() {
                continue;
            }
            if let Err(error) = sender.send_to(b"!", &path) {
                // Nobody listens there any more (a process that was killed): forget it.
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                ) {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}
