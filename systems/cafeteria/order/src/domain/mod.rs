//! The order domain: the menu and the drink order aggregate.

pub mod menu;
pub mod order;
