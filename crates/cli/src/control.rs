//! The supervisor's control socket: `msa up` listens on `<data>/<system>/supervisor.sock`, and
//! `msa scale` / `msa rollout` send it one request (a JSON line) and print the progress lines it
//! answers with until the last one, `done` or `error: …`. A Unix socket in the data directory:
//! only who may write there may steer the system, and nothing listens on the network.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

/// The socket's file name in a system's data directory.
const SOCKET: &str = "supervisor.sock";
/// What the supervisor writes of its processes, in a system's data directory.
pub(crate) const STATE: &str = "supervisor.json";
/// The last line of a request that succeeded.
const DONE: &str = "done";
/// How the last line of a request that failed begins.
const ERROR: &str = "error: ";

/// What the supervisor is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "command", rename_all = "lowercase")]
pub(crate) enum Operation {
    /// Run exactly `replicas` processes of `service`.
    Scale { service: String, replicas: usize },
    /// Replace every process of `service` one by one.
    Rollout { service: String },
}

/// A request as the supervisor's loop receives it.
#[derive(Debug)]
pub(crate) struct Request {
    /// The system whose socket it came through.
    pub system: String,
    pub operation: Operation,
    /// Progress lines for the caller.
    pub progress: mpsc::UnboundedSender<String>,
}

impl Request {
    /// Tells the caller how it is going.
    pub(crate) fn say(&self, line: impl Into<String>) {
        let line = line.into();
        println!("{line}");
        let _ = self.progress.send(line);
    }

    /// Ends the request.
    pub(crate) fn finish(&self, outcome: anyhow::Result<()>) {
        match outcome {
            Ok(()) => {
                let _ = self.progress.send(DONE.to_owned());
            }
            Err(error) => {
                eprintln!("{error:#}");
                let _ = self.progress.send(format!("{ERROR}{error:#}"));
            }
        }
    }
}

/// The socket of the system whose data directory is `system_data`; removed when dropped.
#[derive(Debug)]
pub(crate) struct Socket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens on `system`'s control socket and passes each request to `requests`.
pub(crate) fn listen(
    system_data: &str,
    system: &str,
    requests: mpsc::Sender<Request>,
) -> anyhow::Result<Socket> {
    let path = PathBuf::from(system_data).join(SOCKET);
    // A socket file left by a supervisor that was killed: nobody answers on it any more.
    if path.exists() && std::os::unix::net::UnixStream::connect(&path).is_err() {
        let _ = std::fs::remove_file(&path);
    }
    let listener = UnixListener::bind(&path).with_context(|| {
        format!(
            "cannot listen on {}: is another `msa up` running this system?",
            path.display()
        )
    })?;
    let system = system.to_owned();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(answer(stream, system.clone(), requests.clone()));
        }
    });
    Ok(Socket { path, task })
}

async fn answer(stream: UnixStream, system: String, requests: mpsc::Sender<Request>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    if BufReader::new(read).read_line(&mut line).await.is_err() {
        return;
    }
    let (progress, mut lines) = mpsc::unbounded_channel();
    match serde_json::from_str::<Operation>(&line) {
        Ok(operation) => {
            let request = Request {
                system,
                operation,
                progress,
            };
            if requests.send(request).await.is_err() {
                return;
            }
        }
        Err(error) => {
            let _ = progress.send(format!("{ERROR}not a request: {error}"));
        }
    }
    while let Some(line) = lines.recv().await {
        let last = line == DONE || line.starts_with(ERROR);
        if write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
            || last
        {
            break;
        }
    }
}

/// Sends `operation` to the supervisor of `system` running from `data`, prints its progress, and
/// fails when it fails.
pub(crate) async fn send(data: &str, system: &str, operation: &Operation) -> anyhow::Result<()> {
    let path = PathBuf::from(crate::systems::system_data(data, system)).join(SOCKET);
    let mut stream = UnixStream::connect(&path).await.with_context(|| {
        format!(
            "no `msa up` runs {system} from {data} (nothing listens on {})",
            path.display()
        )
    })?;
    let request = serde_json::to_string(operation).context("cannot write the request")?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .await
        .context("cannot send the request")?;
    let mut lines = BufReader::new(stream).lines();
    while let Some(line) = lines.next_line().await.context("lost the supervisor")? {
        if line == DONE {
            return Ok(());
        }
        if let Some(error) = line.strip_prefix(ERROR) {
            anyhow::bail!("{error}");
        }
        println!("{line}");
    }
    anyhow::bail!("the supervisor stopped before it finished (was `msa up` stopped?)")
}

/// Parses `<system>/<service>` or `<system>/<service>=N`.
pub(crate) fn parse_target(value: &str) -> anyhow::Result<(String, String, Option<usize>)> {
    let (target, count) = match value.split_once('=') {
        Some((target, count)) => {
            let count: usize = count
                .parse()
                .with_context(|| format!("the replica count in {value:?} must be a number"))?;
            (target, Some(count))
        }
        None => (value, None),
    };
    let (system, service) = target
        .split_once('/')
        .filter(|(system, service)| !system.is_empty() && !service.is_empty())
        .with_context(|| format!("expected <system>/<service>, got {target:?}"))?;
    Ok((system.to_owned(), service.to_owned(), count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_a_system_and_a_service_and_maybe_a_count() {
        assert_eq!(
            parse_target("roaming/rental=3").unwrap(),
            ("roaming".to_owned(), "rental".to_owned(), Some(3))
        );
        assert_eq!(
            parse_target("roaming/payment").unwrap(),
            ("roaming".to_owned(), "payment".to_owned(), None)
        );
        assert!(parse_target("rental=3").is_err());
        assert!(parse_target("roaming/rental=x").is_err());
        assert!(parse_target("/rental").is_err());
    }

    #[test]
    fn requests_are_one_json_line() {
        let scale = Operation::Scale {
            service: "rental".to_owned(),
            replicas: 2,
        };
        let line = serde_json::to_string(&scale).unwrap();
        assert_eq!(
            line,
            r#"{"command":"scale","service":"rental","replicas":2}"#
        );
        assert_eq!(serde_json::from_str::<Operation>(&line).unwrap(), scale);
    }
}
