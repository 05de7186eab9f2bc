//! The sale use cases: the policies that count approved payments and subtract refunds, each in
//! the month (Asia/Seoul) the payment was made in, and the reads of the totals and the ledger.

use crate::adapters::outbound::stored::BY_MONTH;
use crate::domain::sales::{MonthlySales, SalesEvent};
use kernel::Cause;
use kernel::aggregate::{ChangeError, Repository};
use std::convert::Infallible;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};

/// At most this many customers are read for a month's shop total.
pub(crate) const MAX_CUSTOMERS: u32 = 1_000;

/// The month (`YYYY-MM`, Asia/Seoul) of `at`.
pub(crate) fn month_of(at: OffsetDateTime) -> String {
    at.to_offset(offset!(+9))
        .format(format_description!("[year]-[month]"))
        .unwrap_or_default()
}

/// When a payment was made: its `paid_at`, or for events older than that field the event's time.
pub(crate) fn paid_at(paid_at: &str, cause: &Cause) -> OffsetDateTime {
    OffsetDateTime::parse(paid_at, &Rfc3339).unwrap_or_else(|_| cause.time())
}

/// The use cases.
#[derive(Debug)]
pub(crate) struct SaleService {
    store: Repository<MonthlySales>,
}

impl SaleService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<MonthlySales>) -> Self {
        Self { store }
    }

    /// Policy: an approved payment adds its amount to its customer's month, once.
    pub(crate) async fn count(
        &self,
        customer: &str,
        amount: i64,
        paid_at: OffsetDateTime,
        cause: &Cause,
    ) -> Result<MonthlySales, ChangeError<Infallible>> {
        let count = |m: &MonthlySales, order: &str| m.count(order, amount, paid_at);
        self.record(customer, paid_at, cause, count).await
    }

    /// Policy: a refund subtracts the amount from the month the payment was made in, once.
    pub(crate) async fn refund(
        &self,
        customer: &str,
        amount: i64,
        paid_at: OffsetDateTime,
        cause: &Cause,
    ) -> Result<MonthlySales, ChangeError<Infallible>> {
        let at = cause.time();
        let refund = |m: &MonthlySales, order: &str| m.refund(order, amount, at);
        self.record(customer, paid_at, cause, refund).await
    }

    /// Records `cause` (about the order it is the subject of) in `customer`'s month of
    /// `paid_at` as `decide` says.
    async fn record(
        &self,
        customer: &str,
        paid_at: OffsetDateTime,
        cause: &Cause,
        decide: impl Fn(&MonthlySales, &str) -> Vec<SalesEvent>,
    ) -> Result<MonthlySales, ChangeError<Infallible>> {
        let month = month_of(paid_at);
        let init = || MonthlySales::open(customer, &month);
        let id = MonthlySales::id_of(customer, &month);
        let order = cause.subject();
        self.store
            .upsert(&id, Some(cause), init, |m| Ok(decide(m, order)))
            .await
    }

    /// A customer's month (empty when nothing was sold).
    pub(crate) async fn month(&self, customer: &str, month: &str) -> anyhow::Result<MonthlySales> {
        let found = self
            .store
            .get(&MonthlySales::id_of(customer, month))
            .await?;
        Ok(found.unwrap_or_else(|| MonthlySales::open(customer, month)))
    }

    /// Every customer's sales of a month, largest total first.
    pub(crate) async fn shop(&self, month: &str) -> anyhow::Result<Vec<MonthlySales>> {
        self.store.find(BY_MONTH, month, MAX_CUSTOMERS).await
    }
}

#[cfg(test)]
mod tests;
