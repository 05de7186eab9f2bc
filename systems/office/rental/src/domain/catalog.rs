//! Rental's replica of the product team's catalog: each product's name and daily rate, as the
//! product events told them. A rental's name and rate come from here, never from the client.

/// A product rental has heard of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogEntry {
    /// The product id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// KRW a day.
    pub daily_rate: i64,
    /// Events applied.
    pub version: u64,
}

/// What the catalog heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CatalogEvent {
    /// A product with its name and rate.
    Listed {
        /// Its name.
        name: String,
        /// KRW a day.
        daily_rate: i64,
    },
}

impl CatalogEntry {
    /// A product not heard of yet.
    pub(crate) fn unheard(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: String::new(),
            daily_rate: 0,
            version: 0,
        }
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &CatalogEvent) {
        let CatalogEvent::Listed { name, daily_rate } = event;
        self.name = name.clone();
        self.daily_rate = *daily_rate;
        self.version += 1;
    }
}
