//! Inbound adapters: the REST API (the catalog, restock, the wallet's exchange command).

pub(crate) mod http;
