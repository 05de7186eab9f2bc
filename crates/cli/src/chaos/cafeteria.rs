//! Cafeteria's chaos profile. Customers order drinks from the menu and cancel; the barista
//! accepts some (a cancel after that is refused and the order stays); the menu never runs out.
//! Invariants, beyond every order's (`orders.rs`): each customer's total of this month (sale)
//! is exactly the sum of their live orders.

use super::orders::{Made, Move, Orders, empty};
use super::{ChaosProfile, Check, Ctx, Ledger, pick};
use serde_json::json;
use std::collections::HashMap;

const ORDERS: Orders = Orders {
    base: "/api/orders",
    view: "/api/mypage/orders",
    view_field: "orderStatus",
    paid_while: Some(&["Ordered"]),
    transient: &["PaymentPending", "CancelRequested"],
    failed: Some("OrderFailed"),
    reflects: |recorded, now| match recorded {
        "CancelRequested" => now == "Canceled",
        "Accepted" => now == "Ordered",
        recorded => now == recorded,
    },
};

#[derive(Debug, Clone, Copy)]
enum Action {
    Order,
    Cancel,
    Accept,
}

/// The cafeteria profile.
#[derive(Debug, Default)]
pub(crate) struct Cafeteria {
    orders: Ledger<Made>,
}

/// This month in Asia/Seoul, as sale counts it (`2026-11`).
fn this_month() -> String {
    let seoul = time::UtcOffset::from_hms(9, 0, 0).expect("a valid offset");
    let today = time::OffsetDateTime::now_utc().to_offset(seoul);
    format!("{}-{:02}", today.year(), u8::from(today.month()))
}

#[async_trait::async_trait]
impl ChaosProfile for Cafeteria {
    fn view(&self) -> &'static str {
        "customercenter"
    }

    async fn setup(&self, _ctx: &Ctx) -> anyhow::Result<()> {
        Ok(())
    }

    async fn step(&self, ctx: &Ctx) {
        let command = match pick(&[(5, Action::Order), (2, Action::Cancel), (1, Action::Accept)]) {
            Action::Order => {
                let customer = ctx.customer();
                let drink = ["americano", "cafe-latte"][fastrand::usize(0..2)];
                let body = json!({"drinkId": drink, "qty": fastrand::u32(1..3), "cardNumber": "4242424242424242"});
                let answer = ctx
                    .client
                    .command(&customer.token, ORDERS.base, &ctx.key("order"), body)
                    .await;
                return ORDERS.made(&self.orders, &customer.name, &answer);
            }
            Action::Cancel => Move {
                from: "Ordered",
                to: "CancelRequested",
                action: "cancel",
                under: None,
                staff: false,
                body: empty(),
            },
            Action::Accept => Move {
                from: "Ordered",
                to: "Accepted",
                action: "accept",
                under: Some("/api/drinks"),
                staff: true,
                body: empty(),
            },
        };
        ORDERS.advance(ctx, &self.orders, command).await;
    }

    async fn invariants(&self, ctx: &Ctx) -> Vec<Check> {
        let listed = ORDERS.listed(ctx).await;
        let mut checks = ORDERS.checks(ctx, &self.orders, &listed).await;
        let mut owed: HashMap<&str, i64> = HashMap::new();
        for order in listed.iter().filter(|o| o["status"] == "Ordered") {
            let customer = order["customerId"].as_str().unwrap_or_default();
            *owed.entry(customer).or_default() += order["amount"].as_i64().unwrap_or(0);
        }
        let mut totals = Check::new("monthly totals exact (sale)");
        let month = this_month();
        for customer in &ctx.customers {
            let sales = ctx
                .client
                .read(&customer.token, &format!("/api/sales?month={month}"))
                .await;
            let expected = owed.get(customer.name.as_str()).copied().unwrap_or(0);
            let total = sales.body["total"].as_i64().unwrap_or(-1);
            totals.expect(total == expected, || {
                format!(
                    "{}: {month} total {total}, live orders {expected}",
                    customer.name
                )
            });
        }
        checks.push(totals);
        checks
    }

    fn documents(&self, ctx: &Ctx) -> Vec<(String, String)> {
        ORDERS.documents(ctx, &self.orders)
    }
}
