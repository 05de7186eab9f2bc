//! The my-page read model (CQRS): no aggregates, only views folded from facts that other
//! services published.

pub mod view;
