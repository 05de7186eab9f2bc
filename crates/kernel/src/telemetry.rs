//! Logging: JSON lines through `tracing`, carrying the request id, trace id and correlation key of
//! the span they happen in.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide JSON logger once; later calls do nothing.
///
/// The level comes from `MSA_LOG` (then `RUST_LOG`), default `info`; `MSA_LOG_FORMAT=text`
/// switches to human-readable lines.
pub fn init() {
    let filter = std::env::var("MSA_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn,async_nats=warn".to_owned());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let text = std::env::var("MSA_LOG_FORMAT").is_ok_and(|f| f == "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if text {
        builder.with_ansi(false).try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
}
