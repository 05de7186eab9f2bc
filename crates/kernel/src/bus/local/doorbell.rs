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
    peers: std::sync::Mutex<Peers>,
}

/// The other bus instances' sockets as last listed.
#[derive(Default)]
struct Peers {
    paths: Vec<std::path::PathBuf>,
    listed: Option<std::time::Instant>,
}

/// How long a listing of the peers' sockets is trusted: a bus instance that starts meanwhile
/// learns of new events by its periodic look until then.
const PEERS_TTL: std::time::Duration = std::time::Duration::from_millis(250);

/// A datagram: the stream's name, a newline, then (partition u32, position i64) pairs, little
/// endian. A bus file may hold several streams; each instance listens to its own.
const PAIR: usize = 12;

fn encode(stream: &str, positions: &[(u32, i64)]) -> Vec<u8> {
    let mut datagram = Vec::with_capacity(stream.len() + 1 + positions.len() * PAIR);
    datagram.extend_from_slice(stream.as_bytes());
    datagram.push(b'\n');
    for (partition, position) in positions {
        datagram.extend_from_slice(&partition.to_le_bytes());
        datagram.extend_from_slice(&position.to_le_bytes());
    }
    datagram
}

/// What a datagram said to the instance of `stream`.
#[derive(Debug, PartialEq, Eq)]
enum Heard {
    /// The heads a publish to this stream committed.
    Heads(Vec<(u32, i64)>),
    /// A publish to another stream of the file.
    Elsewhere,
    /// Not understood: the log is worth a look.
    Unknown,
}

fn decode(stream: &str, datagram: &[u8]) -> Heard {
    let Some(newline) = datagram.iter().position(|byte| *byte == b'\n') else {
        return Heard::Unknown;
    };
    let (name, pairs) = (&datagram[..newline], &datagram[newline + 1..]);
    if name != stream.as_bytes() {
        return Heard::Elsewhere;
    }
    if pairs.is_empty() || !pairs.len().is_multiple_of(PAIR) {
        return Heard::Unknown;
    }
    let heads: Option<Vec<(u32, i64)>> = pairs
        .chunks_exact(PAIR)
        .map(|pair| {
            let partition = u32::from_le_bytes(pair[..4].try_into().ok()?);
            let position = i64::from_le_bytes(pair[4..].try_into().ok()?);
            Some((partition, position))
        })
        .collect();
    heads.map_or(Heard::Unknown, Heard::Heads)
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
                    let mut buffer = vec![0u8; 64 * 1024];
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            received = socket.recv(&mut buffer) => {
                                let Ok(length) = received else { break };
                                match decode(&heads.stream, &buffer[..length]) {
                                    Heard::Heads(positions) => heads.tell(&positions),
                                    Heard::Elsewhere => {}
                                    // Not a list of heads: look at the log.
                                    Heard::Unknown => heads.poke.notify_one(),
                                }
                            }
                        }
                    }
                    let _ = std::fs::remove_file(path);
                });
                Self {
                    dir,
                    own: Some(own),
                    sender: Some(sender),
                    peers: std::sync::Mutex::new(Peers::default()),
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
                    peers: std::sync::Mutex::new(Peers::default()),
                }
            }
        }
    }

    /// Tells every other bus instance of this file the heads a publish committed.
    pub(super) fn ring(&self, stream: &str, positions: &[(u32, i64)]) {
        let Some(sender) = &self.sender else { return };
        let datagram = encode(stream, positions);
        let mut peers = self.peers.lock().expect("doorbell peers");
        if peers
            .listed
            .is_none_or(|listed| listed.elapsed() >= PEERS_TTL)
        {
            let Ok(entries) = std::fs::read_dir(&self.dir) else {
                return;
            };
            peers.paths = entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| Some(path) != self.own.as_ref())
                .collect();
            peers.listed = Some(std::time::Instant::now());
        }
        peers
            .paths
            .retain(|path| match sender.send_to(&datagram, path) {
                // Nobody listens there any more (a process that was killed): forget it.
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                    ) =>
                {
                    let _ = std::fs::remove_file(path);
                    false
                }
                _ => true,
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_travel_as_pairs_of_their_stream_and_anything_else_is_not_heads() {
        let heads = vec![(0, 1), (7, i64::MAX), (u32::MAX, 42)];
        assert_eq!(
            decode("roaming", &encode("roaming", &heads)),
            Heard::Heads(heads.clone())
        );
        assert_eq!(
            decode("roaming", &encode("booking", &heads)),
            Heard::Elsewhere
        );
        assert_eq!(decode("roaming", b"!"), Heard::Unknown);
        assert_eq!(decode("roaming", b""), Heard::Unknown);
        assert_eq!(decode("roaming", b"roaming\n"), Heard::Unknown);
        let mut torn = encode("roaming", &heads);
        torn.pop();
        assert_eq!(decode("roaming", &torn), Heard::Unknown);
    }
}
