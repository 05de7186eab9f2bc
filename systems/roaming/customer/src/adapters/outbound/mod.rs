//! Outbound adapters: how the kernel keeps a view (on SQLite embedded, Redis in production).

pub mod stored;
