//! The container image's `/bin/sh`, which is `msa` under another name and no shell: it runs only
//! the health checks `podman kube play` makes of a pod's HTTP liveness probes.
//!
//! Podman 4.3 turns `livenessProbe.httpGet` into `/bin/sh -c "curl -f http://localhost:<port>
//! <path> || exit 1"` and restarts the container when that fails. The image has neither a shell
//! nor curl, so every check would fail and every container would be restarted; instead the image
//! links `/bin/sh` to `msa`, which under that name understands exactly this one command line
//! and refuses anything else. On a Kubernetes cluster the kubelet probes over HTTP itself and
//! never runs it.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a check waits to connect and for the answer: the probes' `timeoutSeconds`.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Exit status for a command line this is not a shell for (the shell's "command not found").
const NOT_A_SHELL: u8 = 127;

/// Whether `msa` was started under the name `sh`.
pub(crate) fn invoked_as_shell(argv0: &str) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .is_some_and(|name| name == "sh")
}

/// Runs `sh <args>` (`args` without the program name): 0 when the probed URL answers below 400,
/// 1 when it does not answer in time or answers an error, 127 for any other command line.
pub(crate) fn run(args: &[String]) -> u8 {
    let Some(url) = parse(args) else {
        eprintln!(
            "sh: this image has no shell; /bin/sh only runs podman's health checks \
             (-c \"curl -f http://localhost:<port>/<path> || exit 1\")"
        );
        return NOT_A_SHELL;
    };
    match probe(&url) {
        Ok(status) if status < 400 => 0,
        Ok(status) => {
            eprintln!("{}:{}{} answered {status}", url.host, url.port, url.path);
            1
        }
        Err(error) => {
            eprintln!("{}:{}{}: {error}", url.host, url.port, url.path);
            1
        }
    }
}

/// A plain HTTP URL on this host.
#[derive(Debug, PartialEq, Eq)]
struct LocalUrl {
    host: String,
    port: u16,
    path: String,
}

/// The URL of `-c "curl -f http://<host>:<port><path> || exit 1"`, the only command line podman
/// 4.3 makes of an HTTP probe; `None` for anything else.
fn parse(args: &[String]) -> Option<LocalUrl> {
    let [flag, line] = args else { return None };
    if flag != "-c" {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let ["curl", "-f", url, "||", "exit", "1"] = words.as_slice() else {
        return None;
    };
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority.rsplit_once(':')?;
    if !["localhost", "127.0.0.1"].contains(&host) {
        return None;
    }
    Some(LocalUrl {
        host: host.to_owned(),
        port: port.parse().ok()?,
        path: if path.is_empty() { "/" } else { path }.to_owned(),
    })
}

/// `GET url` over HTTP/1.0; the answer's status code.
fn probe(url: &LocalUrl) -> std::io::Result<u16> {
    // The pod's containers share one network namespace: the service listens on 127.0.0.1.
    let address = SocketAddr::from(([127, 0, 0, 1], url.port));
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    // One write: a request sent in pieces may meet a server that answered and closed after the
    // first piece.
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}:{}\r\nUser-Agent: msa-healthcheck\r\n\r\n",
        url.path, url.host, url.port
    );
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        let n = stream.read(&mut head[read..])?;
        if n == 0 {
            break;
        }
        read += n;
    }
    std::str::from_utf8(&head[..read])
        .ok()
        .and_then(|line| line.strip_prefix("HTTP/1."))
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn args(line: &str) -> Vec<String> {
        vec!["-c".to_owned(), line.to_owned()]
    }

    /// Serves one connection with `answer` on a free port of 127.0.0.1.
    fn answering(answer: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 512];
            while !request.ends_with(b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(answer.as_bytes());
        });
        port
    }

    #[test]
    fn only_the_command_line_podman_makes_of_an_http_probe_is_understood() {
        assert_eq!(
            parse(&args("curl -f http://localhost:8081/health/live || exit 1")),
            Some(LocalUrl {
                host: "localhost".to_owned(),
                port: 8081,
                path: "/health/live".to_owned(),
            })
        );
        for line in [
            "echo hello",
            "curl -f http://localhost:8081/health/live; rm -rf /data",
            "curl -f http://example.com:80/ || exit 1",
            "nc -z -v localhost 8081 || exit 1",
        ] {
            assert_eq!(parse(&args(line)), None, "{line}");
            assert_eq!(run(&args(line)), NOT_A_SHELL, "{line}");
        }
        assert_eq!(run(&["-i".to_owned()]), NOT_A_SHELL);
        assert!(invoked_as_shell("/bin/sh") && !invoked_as_shell("/usr/local/bin/msa"));
    }

    #[test]
    fn a_check_passes_on_a_success_and_fails_on_an_error_or_silence() {
        let ok = answering("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        let line = |port: u16| {
            args(&format!(
                "curl -f http://localhost:{port}/health/live || exit 1"
            ))
        };
        assert_eq!(run(&line(ok)), 0);
        let failing = answering("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(run(&line(failing)), 1);
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        assert_eq!(run(&line(port)), 1, "nothing listens");
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        assert_eq!(run(&line(port)), 1, "a hung service never answers");
        drop(silent);
    }
}
