//! A customer's sales of one month (월별 누적 금액): every approved payment adds its amount once,
//! every refund subtracts it from the month the payment was made in, and the sales page is the
//! ledger of both, each row with the running total; rows are appended, never edited.

use time::OffsetDateTime;

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A payment was approved.
    Payment,
    /// A payment was refunded.
    Refund,
}

impl Entry {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Refund => "refund",
        }
    }

    /// Parses a stored name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        [Self::Payment, Self::Refund]
            .into_iter()
            .find(|e| e.as_str() == value)
    }
}

/// A row of the sales page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The order paid for.
    pub order_id: String,
    /// Payment or refund.
    pub entry: Entry,
    /// KRW: positive for a payment, negative for a refund.
    pub amount: i64,
    /// The month's total after this row.
    pub total: i64,
    /// When it happened (the payment or the refund).
    pub at: OffsetDateTime,
}

/// Something that happened to a month's sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SalesEvent {
    /// A payment of `amount` counted.
    Counted {
        /// The order.
        order_id: String,
        /// KRW.
        amount: i64,
        /// When it was paid.
        at: OffsetDateTime,
    },
    /// A counted payment refunded.
    Refunded {
        /// The order.
        order_id: String,
        /// KRW.
        amount: i64,
        /// When it was refunded.
        at: OffsetDateTime,
    },
}

/// The aggregate: one customer's month (id `<customer>/<YYYY-MM>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MonthlySales {
    /// `<customer>/<YYYY-MM>`.
    pub id: String,
    /// Whose.
    pub customer_id: String,
    /// `YYYY-MM` in Asia/Seoul.
    pub month: String,
    /// The cumulative amount (KRW).
    pub total: i64,
    /// The sales page.
    pub rows: Vec<Row>,
    /// Events applied.
    pub version: u64,
}

impl MonthlySales {
    /// The id of `customer_id`'s sales of `month`.
    pub(crate) fn id_of(customer_id: &str, month: &str) -> String {
        format!("{customer_id}/{month}")
    }

    /// No sales yet for `customer_id` in `month`.
    pub(crate) fn open(customer_id: &str, month: &str) -> Self {
        Self {
            id: Self::id_of(customer_id, month),
            customer_id: customer_id.to_owned(),
            month: month.to_owned(),
            total: 0,
            rows: Vec::new(),
            version: 0,
        }
    }

    fn has(&self, order_id: &str, entry: Entry) -> bool {
        self.rows
            .iter()
            .any(|r| r.order_id == order_id && r.entry == entry)
    }

    /// An approved payment: counted once, however often it is told.
    pub(crate) fn count(&self, order_id: &str, amount: i64, at: OffsetDateTime) -> Vec<SalesEvent> {
        if self.has(order_id, Entry::Payment) {
            return vec![];
        }
        let order_id = order_id.to_owned();
        vec![SalesEvent::Counted {
            order_id,
            amount,
            at,
        }]
    }

    /// A refund of a payment counted in this month: subtracted once; a payment never counted
    /// here is not subtracted.
    pub(crate) fn refund(
        &self,
        order_id: &str,
        amount: i64,
        at: OffsetDateTime,
    ) -> Vec<SalesEvent> {
        if !self.has(order_id, Entry::Payment) || self.has(order_id, Entry::Refund) {
            return vec![];
        }
        let order_id = order_id.to_owned();
        vec![SalesEvent::Refunded {
            order_id,
            amount,
            at,
        }]
    }

    /// Moves the state: the total and a new row.
    pub(crate) fn apply(&mut self, event: &SalesEvent) {
        let (order_id, entry, amount, at) = match event {
            SalesEvent::Counted {
                order_id,
                amount,
                at,
            } => (order_id, Entry::Payment, *amount, *at),
            SalesEvent::Refunded {
                order_id,
                amount,
                at,
            } => (order_id, Entry::Refund, -*amount, *at),
        };
        self.total += amount;
        self.rows.push(Row {
            order_id: order_id.clone(),
            entry,
            amount,
            total: self.total,
            at,
        });
        self.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn payments_count_once_and_refunds_append_a_correcting_row() {
        let at = datetime!(2026-11-23 09:00 +09:00);
        let mut month = MonthlySales::open("kim", "2026-11");
        for (order, amount) in [("o-1", 7_000), ("o-2", 7_000), ("o-1", 7_000)] {
            for event in month.count(order, amount, at) {
                month.apply(&event);
            }
        }
        assert_eq!(month.total, 14_000, "o-1 counted once");
        for _ in 0..2 {
            for event in month.refund("o-1", 7_000, at) {
                month.apply(&event);
            }
        }
        assert!(
            month.refund("o-9", 5_000, at).is_empty(),
            "never counted here"
        );
        let totals: Vec<i64> = month.rows.iter().map(|r| r.total).collect();
        assert_eq!(totals, vec![7_000, 14_000, 7_000]);
        assert_eq!(month.rows[2].amount, -7_000);
    }
}
