//! A TCP proxy between a service and a server, which a test can cut and restore to take the
//! connection path away without stopping the (shared) server.

use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Default)]
struct State {
    cut: bool,
    connections: Vec<JoinHandle<()>>,
}

/// A running proxy.
#[derive(Debug)]
pub struct TcpProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("cut", &self.cut).finish()
    }
}

impl TcpProxy {
    /// Forwards a fresh local port to `target` (`host:port`).
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a proxy port");
        let port = listener.local_addr().expect("an address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let target = target.to_owned();
        let accept = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if state.lock().expect("proxy lock").cut {
                        drop(inbound);
                        continue;
                    }
                    let target = target.clone();
                    let connection = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    let mut state = state.lock().expect("proxy lock");
                    state.connections.retain(|c| !c.is_finished());
                    state.connections.push(connection);
                }
            })
        };
        Self {
            port,
            state,
            accept,
        }
    }

    /// The local port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every connection and refuses new ones, as a network failure would.
    pub fn cut(&self) {
        let mut state = self.state.lock().expect("proxy lock");
        state.cut = true;
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.state.lock().expect("proxy lock").cut = false;
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
