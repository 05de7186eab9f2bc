//! The order domain: the menu and the drink order aggregate.

pub(crate) mod menu;
pub(crate) mod order;
