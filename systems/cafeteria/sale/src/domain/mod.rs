//! The sale domain: a customer's sales of a month, a ledger with its running total.

pub(crate) mod sales;
