//! Roaming's chaos profile. Customers reserve (one in ten with a declined card) and cancel; the
//! booth hands devices out, customers return them and the booth collects them; devices never
//! run out, so the load sustains itself. Invariants, beyond every order's (`orders.rs`): the
//! booth's rental (one per reservation, keyed by it) is in step with the reservation.

use super::orders::{Made, Move, Orders, empty};
use super::{ChaosProfile, Check, Ctx, Ledger, pick};
use serde_json::json;

const APPROVED: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";

const ORDERS: Orders = Orders {
    base: "/api/reservations",
    view: "/api/mypage/reservations",
    view_field: "reservationStatus",
    paid_while: Some(&["Reserved", "HandedOut", "Returned", "Completed"]),
    transient: &["PaymentPending", "CancelRequested"],
    failed: Some("ReserveFailed"),
    reflects: |recorded, now| match recorded {
        "CancelRequested" => now == "Canceled",
        recorded => now == recorded,
    },
};

#[derive(Debug, Clone, Copy)]
enum Action {
    Reserve,
    Cancel,
    HandOut,
    Return,
    Collect,
}

/// The roaming profile.
#[derive(Debug, Default)]
pub(crate) struct Roaming {
    trips: Ledger<Made>,
}

/// The rental status that goes with a settled reservation status.
fn rental_of(status: &str) -> Option<&'static str> {
    Some(match status {
        "Reserved" => "Accepted",
        "HandedOut" => "HandedOut",
        "Returned" => "Returned",
        "Completed" => "Collected",
        "Canceled" => "Canceled",
        _ => return None,
    })
}

impl Roaming {
    async fn reserve(&self, ctx: &Ctx) {
        let customer = ctx.customer();
        let card = if fastrand::u8(0..10) == 0 {
            DECLINED
        } else {
            APPROVED
        };
        let model = ["galaxy-s24", "iphone-15"][fastrand::usize(0..2)];
        let body = json!({
            "deviceModel": model, "country": "JP", "rentalDate": "2030-06-01",
            "returnDate": "2030-06-05", "booth": "ICN-T1", "cardNumber": card,
        });
        let key = ctx.key("reserve");
        let answer = ctx
            .client
            .command(&customer.token, ORDERS.base, &key, body)
            .await;
        ORDERS.made(&self.trips, &customer.name, &answer);
    }

    async fn rental_in_step(&self, ctx: &Ctx, check: &mut Check, id: &str, status: &str) {
        let rental = ctx
            .client
            .read(&ctx.admin, &format!("/api/rentals/{id}"))
            .await;
        match rental_of(status) {
            Some(expected) => check.expect(rental.text("status") == expected, || {
                format!(
                    "{id} is {status}, its rental {} {}",
                    rental.status,
                    rental.text("status")
                )
            }),
            None => check.expect(rental.status == 404, || {
                format!("{id} is {status} but has a rental: {}", rental.body)
            }),
        }
    }
}

#[async_trait::async_trait]
impl ChaosProfile for Roaming {
    fn view(&self) -> &'static str {
        "customer"
    }

    async fn setup(&self, _ctx: &Ctx) -> anyhow::Result<()> {
        Ok(())
    }

    async fn step(&self, ctx: &Ctx) {
        let action = pick(&[
            (6, Action::Reserve),
            (2, Action::Cancel),
            (2, Action::HandOut),
            (1, Action::Return),
            (1, Action::Collect),
        ]);
        let (from, to, action, under, staff, body) = match action {
            Action::Reserve => return self.reserve(ctx).await,
            Action::Cancel => (
                "Reserved",
                "CancelRequested",
                "cancel",
                None,
                false,
                empty(),
            ),
            Action::HandOut => {
                let serial = json!({ "deviceSerial": format!("SN-{}", fastrand::u32(..)) });
                (
                    "Reserved",
                    "HandedOut",
                    "handout",
                    Some("/api/rentals"),
                    true,
                    serial,
                )
            }
            Action::Return => ("HandedOut", "Returned", "return", None, false, empty()),
            Action::Collect => (
                "Returned",
                "Completed",
                "collect",
                Some("/api/rentals"),
                true,
                empty(),
            ),
        };
        let command = Move {
            from,
            to,
            action,
            under,
            staff,
            body,
        };
        ORDERS.advance(ctx, &self.trips, command).await;
    }

    async fn invariants(&self, ctx: &Ctx) -> Vec<Check> {
        let listed = ORDERS.listed(ctx).await;
        let mut checks = ORDERS.checks(ctx, &self.trips, &listed).await;
        let mut rental = Check::new("one rental per reservation, in step");
        for reservation in &listed {
            let id = reservation["id"].as_str().unwrap_or_default();
            let status = reservation["status"].as_str().unwrap_or_default();
            self.rental_in_step(ctx, &mut rental, id, status).await;
        }
        checks.push(rental);
        checks
    }

    fn documents(&self, ctx: &Ctx) -> Vec<(String, String)> {
        ORDERS.documents(ctx, &self.trips)
    }
}
