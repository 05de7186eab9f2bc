//! A product of the catalog (상품): registered by the product team with a name, a daily rate and
//! its first stock quantity (재고수량, 10 unless given), restocked later. The stock itself is
//! delivery's ledger; the catalog counts what was ever registered.

use time::OffsetDateTime;

/// Longest product name.
pub(crate) const MAX_NAME: usize = 100;
/// Highest daily rate in KRW.
pub(crate) const MAX_RATE: i64 = 10_000_000;
/// Most units registered or restocked at once.
pub(crate) const MAX_QTY: u32 = 10_000;
/// Units a product starts with unless the team says otherwise (the seed's `@ColumnDefault("10")`).
pub(crate) const DEFAULT_QTY: u32 = 10;

/// A product command the rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(clippy::enum_variant_names)] // invalid_name, invalid_daily_rate: the API's own codes
pub(crate) enum ProductError {
    /// No name, or too long a one.
    #[error("name must be 1 to {MAX_NAME} characters")]
    InvalidName,
    /// A daily rate out of range.
    #[error("dailyRate must be 1 to {MAX_RATE} KRW")]
    InvalidRate,
    /// A quantity out of range.
    #[error("quantity must be 0 to {MAX_QTY} (a restock at least 1)")]
    InvalidQty,
}

/// Something that happened to a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProductEvent {
    /// Registered with its first stock.
    Registered,
    /// `quantity` more units.
    Restocked {
        /// Units added.
        quantity: u32,
    },
}

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Product {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// KRW a day.
    pub daily_rate: i64,
    /// Units ever registered (first stock and restocks).
    pub qty: u32,
    /// Events applied.
    pub version: u64,
    /// Registered at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Product {
    /// Registers a product (`qty` defaults to ten).
    pub(crate) fn register(
        id: String,
        name: &str,
        daily_rate: i64,
        qty: Option<u32>,
        now: OffsetDateTime,
    ) -> Result<(Self, Vec<ProductEvent>), ProductError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(ProductError::InvalidName);
        }
        if !(1..=MAX_RATE).contains(&daily_rate) {
            return Err(ProductError::InvalidRate);
        }
        let qty = qty.unwrap_or(DEFAULT_QTY);
        if qty > MAX_QTY {
            return Err(ProductError::InvalidQty);
        }
        let mut product = Self {
            id,
            name: name.to_owned(),
            daily_rate,
            qty,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![ProductEvent::Registered];
        product.apply(&events[0], now);
        Ok((product, events))
    }

    /// Adds `quantity` units.
    pub(crate) fn restock(&self, quantity: u32) -> Result<Vec<ProductEvent>, ProductError> {
        if !(1..=MAX_QTY).contains(&quantity) {
            return Err(ProductError::InvalidQty);
        }
        Ok(vec![ProductEvent::Restocked { quantity }])
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &ProductEvent, at: OffsetDateTime) {
        match event {
            ProductEvent::Registered => {}
            ProductEvent::Restocked { quantity } => self.qty += quantity,
        }
        self.version += 1;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn a_product_starts_with_ten_units_unless_told() {
        let (product, _) = Product::register("p".into(), " computer ", 5_000, None, now()).unwrap();
        assert_eq!((product.name.as_str(), product.qty), ("computer", 10));
        let (product, _) = Product::register("p".into(), "monitor", 3_000, Some(9), now()).unwrap();
        assert_eq!(product.qty, 9);
    }

    #[test]
    fn bad_products_and_restocks_are_refused() {
        let register =
            |name: &str, rate, qty| Product::register("p".into(), name, rate, qty, now());
        assert_eq!(
            register("", 1, None).unwrap_err(),
            ProductError::InvalidName
        );
        assert_eq!(
            register("x", 0, None).unwrap_err(),
            ProductError::InvalidRate
        );
        assert_eq!(
            register("x", 1, Some(MAX_QTY + 1)).unwrap_err(),
            ProductError::InvalidQty
        );
        let (product, _) = register("x", 1, None).unwrap();
        assert_eq!(product.restock(0).unwrap_err(), ProductError::InvalidQty);
    }
}
