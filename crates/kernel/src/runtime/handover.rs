//! The hand-over of a listening socket: `msa up` keeps a gateway's socket and passes it to each
//! gateway process it starts as standard input; a process that stops lets go of it at once, so
//! the connections that arrive meanwhile wait in the socket's queue for its successor.

use anyhow::Context as _;
use axum::Router;
use axum::serve::ListenerExt as _;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The listening socket the supervisor hands over, taken from standard input.
pub(super) fn inherited_listener() -> anyhow::Result<TcpListener> {
    use std::os::fd::AsFd as _;
    let fd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .context("cannot take the listener from standard input")?;
    let listener = std::net::TcpListener::from(fd);
    listener.local_addr().context(
        "http.inherit_stdin is set but standard input is not a listening socket (msa up passes one)",
    )?;
    listener
        .set_nonblocking(true)
        .context("cannot make the inherited listener non-blocking")?;
    TcpListener::from_std(listener).context("cannot use the inherited listener")
}

/// A listener shared with the process that replaces this one: it stops taking connections once
/// `stop` is cancelled, so that they wait for the successor instead of being closed with us.
struct HandOver {
    listener: TcpListener,
    stop: CancellationToken,
}

impl axum::serve::Listener for HandOver {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => std::future::pending::<()>().await,
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => return accepted,
                    // Out of file descriptors and the like: wait a little, as axum does.
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// Serves `router` on the shared `listener` until `http_stop`, taking no new connection once
/// `stop` is cancelled.
pub(super) fn serve(
    listener: TcpListener,
    router: Router,
    stop: &CancellationToken,
    http_stop: &CancellationToken,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let http_stop = http_stop.clone();
    let listener = HandOver {
        listener,
        stop: stop.clone(),
    }
    .tap_io(|_| ());
    let serve = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { http_stop.cancelled().await });
    tokio::spawn(async move { serve.await })
}
