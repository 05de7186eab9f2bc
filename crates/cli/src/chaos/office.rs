//! Office's chaos profile. The product team registers two products at the start: one with stock
//! for the whole run, one with three units that run out (`out_of_stock` cancels the rental) and
//! come back with every cancel and collect. Customers rent and cancel; the delivery team
//! delivers, customers return, the delivery team collects. Invariants, beyond every order's
//! (`orders.rs`): each product's stock is exactly its registered units less those of its live
//! rentals (never negative, nothing moved twice).

use super::orders::{Made, Move, Orders, empty};
use super::{ChaosProfile, Check, Ctx, Ledger, pick};
use serde_json::json;
use std::collections::HashMap;

/// Rentals hold stock from scheduled until collected.
const HOLDING: &[&str] = &["Scheduled", "Delivered", "ReturnRequested"];

const ORDERS: Orders = Orders {
    base: "/api/rentals",
    view: "/api/myorders/rentals",
    view_field: "rentalStatus",
    paid_while: None,
    transient: &["Ordered"],
    failed: None,
    reflects: |recorded, now| match recorded {
        // Out of stock cancels an order; delivery schedules the rest.
        "Ordered" => now == "Scheduled" || now == "Canceled",
        recorded => now == recorded,
    },
};

#[derive(Debug, Clone, Copy)]
enum Action {
    Rent,
    Cancel,
    Deliver,
    Return,
    Collect,
}

/// The office profile.
#[derive(Debug, Default)]
pub(crate) struct Office {
    rentals: Ledger<Made>,
    /// (product id, units registered).
    products: std::sync::Mutex<Vec<(String, i64)>>,
}

impl Office {
    async fn rent(&self, ctx: &Ctx) {
        let product = {
            let products = self.products.lock().expect("products lock");
            products
                .get(fastrand::usize(0..products.len().max(1)))
                .cloned()
        };
        let Some((product, _)) = product else { return };
        let customer = ctx.customer();
        let body = json!({"productId": product, "qty": fastrand::u32(1..3), "from": "2030-01-01", "to": "2030-01-02"});
        let answer = ctx
            .client
            .command(&customer.token, ORDERS.base, &ctx.key("rent"), body)
            .await;
        ORDERS.made(&self.rentals, &customer.name, &answer);
    }
}

#[async_trait::async_trait]
impl ChaosProfile for Office {
    fn view(&self) -> &'static str {
        "information"
    }

    async fn setup(&self, ctx: &Ctx) -> anyhow::Result<()> {
        for (name, qty) in [("chaos-desk", 10_000), ("chaos-projector", 3)] {
            let body = json!({"name": name, "dailyRate": 5000, "qty": qty});
            let answer = ctx
                .client
                .command(&ctx.admin, "/api/products", &ctx.key("product"), body)
                .await;
            anyhow::ensure!(
                answer.ok(),
                "cannot register {name}: {} {}",
                answer.status,
                answer.body
            );
            self.products
                .lock()
                .expect("products lock")
                .push((answer.text("id"), qty));
        }
        // Rental's catalog replica and delivery's stock ledger hear of the products by events.
        for _ in 0..120 {
            let stock = ctx.client.read(&ctx.admin, "/api/stock").await;
            if stock.body.as_array().is_some_and(|s| s.len() >= 2) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        anyhow::bail!("delivery did not hear of the products")
    }

    async fn step(&self, ctx: &Ctx) {
        let action = pick(&[
            (5, Action::Rent),
            (1, Action::Cancel),
            (2, Action::Deliver),
            (1, Action::Return),
            (1, Action::Collect),
        ]);
        let deliveries = Some("/api/deliveries");
        let (from, to, action, under, staff) = match action {
            Action::Rent => return self.rent(ctx).await,
            Action::Cancel => ("Ordered", "Canceled", "cancel", None, false),
            Action::Deliver => ("Ordered", "Delivered", "deliver", deliveries, true),
            Action::Return => ("Delivered", "ReturnRequested", "return", None, false),
            Action::Collect => ("ReturnRequested", "Completed", "collect", deliveries, true),
        };
        let command = Move {
            from,
            to,
            action,
            under,
            staff,
            body: empty(),
        };
        ORDERS.advance(ctx, &self.rentals, command).await;
    }

    async fn invariants(&self, ctx: &Ctx) -> Vec<Check> {
        let listed = ORDERS.listed(ctx).await;
        let mut checks = ORDERS.checks(ctx, &self.rentals, &listed).await;
        let mut held: HashMap<&str, i64> = HashMap::new();
        for rental in &listed {
            if HOLDING.contains(&rental["status"].as_str().unwrap_or_default()) {
                let product = rental["productId"].as_str().unwrap_or_default();
                *held.entry(product).or_default() += rental["qty"].as_i64().unwrap_or(0);
            }
        }
        let mut exact = Check::new("stock exact (registered less live rentals)");
        let stock = ctx.client.read(&ctx.admin, "/api/stock").await;
        let products = self.products.lock().expect("products lock").clone();
        for (product, registered) in products {
            let found = stock
                .body
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["productId"] == product.as_str());
            let left = found.and_then(|s| s["stock"].as_i64()).unwrap_or(-1);
            let expected = registered - held.get(product.as_str()).copied().unwrap_or(0);
            exact.expect(left == expected, || {
                format!("{product}: {left} left, expected {expected}")
            });
        }
        checks.push(exact);
        checks
    }

    fn documents(&self, ctx: &Ctx) -> Vec<(String, String)> {
        ORDERS.documents(ctx, &self.rentals)
    }
}
