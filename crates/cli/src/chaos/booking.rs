//! Booking's chaos profile. Customers book one or two seats of a grade picked at random among
//! every performance still to come — the small halls' grades sell out within seconds (`409
//! sold_out` from then on, until a cancel gives seats back), the arena's sustain the load — and
//! cancel. Invariants, beyond every order's (`orders.rs`): the seats taken of each grade are
//! exactly the seats of its live bookings (none oversold, none lost).

use super::orders::{Made, Move, Orders, empty};
use super::{ChaosProfile, Check, Ctx, Ledger, pick};
use serde_json::{Value, json};
use std::collections::HashMap;

const ORDERS: Orders = Orders {
    base: "/api/bookings",
    view: "/api/mypage/bookings",
    view_field: "bookingStatus",
    paid_while: Some(&["Booked"]),
    transient: &["PaymentPending", "CancelRequested"],
    failed: Some("BookFailed"),
    reflects: |recorded, now| match recorded {
        "CancelRequested" => now == "Canceled",
        recorded => now == recorded,
    },
};

/// A grade of a performance: (musical, performance, grade).
type Pick = (String, String, String);

/// The booking profile.
#[derive(Debug, Default)]
pub(crate) struct Booking {
    bookings: Ledger<Made>,
    grades: std::sync::Mutex<Vec<Pick>>,
}

/// Every grade of a performance that has not started, from the public catalog.
fn grades(musicals: &Value) -> Vec<Pick> {
    let now = time::OffsetDateTime::now_utc();
    let mut picks = Vec::new();
    for musical in musicals.as_array().into_iter().flatten() {
        let id = musical["id"].as_str().unwrap_or_default();
        for performance in musical["performances"].as_array().into_iter().flatten() {
            let starts = performance["startsAt"].as_str().unwrap_or_default();
            let starts =
                time::OffsetDateTime::parse(starts, &time::format_description::well_known::Rfc3339);
            if !starts.is_ok_and(|s| s > now + time::Duration::days(1)) {
                continue;
            }
            let performance_id = performance["id"].as_str().unwrap_or_default();
            for grade in performance["grades"].as_array().into_iter().flatten() {
                let grade = grade["grade"].as_str().unwrap_or_default();
                picks.push((id.to_owned(), performance_id.to_owned(), grade.to_owned()));
            }
        }
    }
    picks
}

impl Booking {
    async fn book(&self, ctx: &Ctx) {
        let Some((musical, performance, grade)) = ({
            let grades = self.grades.lock().expect("grades lock");
            grades.get(fastrand::usize(0..grades.len().max(1))).cloned()
        }) else {
            return;
        };
        let customer = ctx.customer();
        let body = json!({
            "musicalId": musical, "performanceId": performance, "grade": grade,
            "quantity": fastrand::u32(1..3), "deliveryAddress": "서울시 종로구 1",
            "phone": "010-1234-5678", "cardNumber": "4242424242424242",
        });
        let answer = ctx
            .client
            .command(&customer.token, ORDERS.base, &ctx.key("book"), body)
            .await;
        ORDERS.made(&self.bookings, &customer.name, &answer);
    }
}

#[async_trait::async_trait]
impl ChaosProfile for Booking {
    fn view(&self) -> &'static str {
        "mypage"
    }

    async fn setup(&self, ctx: &Ctx) -> anyhow::Result<()> {
        let musicals = ctx.client.read(&ctx.admin, "/api/musicals").await;
        let picks = grades(&musicals.body);
        anyhow::ensure!(
            !picks.is_empty(),
            "no performance to book: {}",
            musicals.body
        );
        *self.grades.lock().expect("grades lock") = picks;
        Ok(())
    }

    async fn step(&self, ctx: &Ctx) {
        if pick(&[(3, true), (1, false)]) {
            return self.book(ctx).await;
        }
        let cancel = Move {
            from: "Booked",
            to: "CancelRequested",
            action: "cancel",
            under: None,
            staff: false,
            body: empty(),
        };
        ORDERS.advance(ctx, &self.bookings, cancel).await;
    }

    async fn invariants(&self, ctx: &Ctx) -> Vec<Check> {
        let listed = ORDERS.listed(ctx).await;
        let mut checks = ORDERS.checks(ctx, &self.bookings, &listed).await;
        let mut held: HashMap<(String, String), u64> = HashMap::new();
        for booking in listed.iter().filter(|b| b["status"] == "Booked") {
            let performance = booking["performanceId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let grade = booking["grade"].as_str().unwrap_or_default().to_owned();
            *held.entry((performance, grade)).or_default() +=
                booking["quantity"].as_u64().unwrap_or(0);
        }
        let mut seats = Check::new("seats taken = seats of live bookings (none oversold)");
        let musicals = ctx.client.read(&ctx.admin, "/api/musicals").await;
        for musical in musicals.body.as_array().into_iter().flatten() {
            for performance in musical["performances"].as_array().into_iter().flatten() {
                let id = performance["id"].as_str().unwrap_or_default().to_owned();
                for grade in performance["grades"].as_array().into_iter().flatten() {
                    let name = grade["grade"].as_str().unwrap_or_default().to_owned();
                    let capacity = grade["capacity"].as_i64().unwrap_or(0);
                    let available = grade["available"].as_i64().unwrap_or(-1);
                    let live = held.get(&(id.clone(), name.clone())).copied().unwrap_or(0);
                    seats.expect(
                        available >= 0 && (capacity - available) as u64 == live,
                        || {
                            format!(
                                "{id} {name}: {} taken of {capacity}, {live} booked",
                                capacity - available
                            )
                        },
                    );
                }
            }
        }
        checks.push(seats);
        checks
    }

    fn documents(&self, ctx: &Ctx) -> Vec<(String, String)> {
        ORDERS.documents(ctx, &self.bookings)
    }
}
