//! The drink domain: a paid order's drink in the barista's queue.

pub(crate) mod drink;
