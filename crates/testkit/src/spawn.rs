//! Running a built service in the test process, on port 0.

use kernel::Application;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A service running inside the test.
#[derive(Debug)]
pub struct SpawnedApp {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its port.
    pub port: u16,
    stop: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Runs `app` on the current runtime and returns where it listens.
pub fn spawn(app: Application) -> SpawnedApp {
    let port = app.port();
    let stop = app.stop_token();
    let handle = tokio::spawn(app.run_until_stopped());
    SpawnedApp {
        url: format!("http://127.0.0.1:{port}"),
        port,
        stop,
        handle: Some(handle),
    }
}

impl SpawnedApp {
    /// Stops it gracefully and waits until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        match self.handle.take() {
            Some(handle) => handle.await?,
            None => Ok(()),
        }
    }
}

impl Drop for SpawnedApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
