//! The breaker drill of any synchronous call ([`refused_fast_once_open`]) and the payment-outage
//! scenario every paying system passes (written once on it): with payment failing,
//! orders answer 503 `payment_busy`, fast once the breaker is open; reconciliation settles every
//! order whose outcome was unknown, so none is paid without its order and none is left pending;
//! once payment answers again (the breaker half-open, then closed) orders go through.

use crate::eventually;
use crate::system::{PATIENCE, TestSystem};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How a system takes paid orders.
#[derive(Debug, Clone)]
pub struct PaidOrders<'a> {
    /// The paying service (`booking`).
    pub service: &'a str,
    /// Where orders are made (`/api/bookings`).
    pub create: &'a str,
    /// An order request that payment approves.
    pub request: Value,
    /// The list of the caller's orders in the answer of `GET <create>?limit=100` (`bookings`).
    pub list: &'a str,
    /// The status of an order that was not paid (`BookFailed`).
    pub failed: &'a str,
    /// The status of a paid order (`Booked`).
    pub paid: &'a str,
}

/// Settings the scenario needs on the paying service, to set before it starts: reconcile soon
/// and often, and keep the breaker open briefly.
pub const SETTINGS: &[(&str, &str)] = &[
    ("MSA__RECONCILE__AFTER_MS", "300"),
    ("MSA__RECONCILE__EVERY_MS", "100"),
    ("MSA__PAYMENT__BREAKER__OPEN_MS", "1500"),
];

/// Runs the scenario as `token` on `system` (started with [`SETTINGS`] on the paying service).
pub async fn payment_outage(system: &TestSystem, token: &str, orders: &PaidOrders<'_>) {
    let order = || system.post_as(token, orders.create, orders.request.clone());
    let attempts =
        refused_fast_once_open(system, (orders.service, "payment"), "payment_busy", order).await;

    system.faults("payment", 0, 0.0).await;
    let list = format!("{}?limit=100", orders.create);
    let (_, mine) = system.get_as(token, &list).await;
    let ids: Vec<String> = mine[orders.list]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), attempts, "every attempt left one order behind");
    eventually(PATIENCE, "every unknown outcome settled", || async {
        let (_, mine) = system.get_as(token, &list).await;
        let all = mine[orders.list].as_array().unwrap().clone();
        all.iter()
            .all(|o| o["status"] == orders.failed)
            .then_some(())
    })
    .await;
    for id in &ids {
        let response = system
            .client
            .get(format!(
                "{}/api/payments/by-order/{id}",
                system.url("payment")
            ))
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 200 {
            let payment: Value = response.json().await.unwrap();
            assert_ne!(
                payment["status"], "Approved",
                "no payment without its order: {payment}"
            );
        }
    }
    let done = eventually(
        PATIENCE,
        "payment is back and the breaker closes",
        || async {
            let (status, done) = system
                .post_as(token, orders.create, orders.request.clone())
                .await;
            (status == 201).then_some(done)
        },
    )
    .await;
    assert_eq!(done["status"], orders.paid);
}

/// Settings that make `caller`'s breaker around `callee` quick to test: a 500 ms deadline and a
/// breaker open for 1.5 s (`MSA__<CALLEE>__BREAKER__…`), to set before the system starts.
pub fn quick_breaker(system: &mut TestSystem, caller: &str, callee: &str) {
    let prefix = format!("MSA__{}__BREAKER__", callee.to_uppercase());
    system.set_service_env(caller, &format!("{prefix}TIMEOUT_MS"), "500");
    system.set_service_env(caller, &format!("{prefix}OPEN_MS"), "1500");
}

/// With `callee` failing every command (the kit's run-time fault switch), `attempt` — a command
/// through `caller`, which calls `callee` synchronously — answers 503 with `code` every time, and
/// within a second once `caller`'s breaker is open. Leaves the fault switched on; returns how
/// many attempts it made.
pub async fn refused_fast_once_open<F, Fut>(
    system: &TestSystem,
    (caller, callee): (&str, &str),
    code: &str,
    attempt: F,
) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    system.faults(callee, 0, 1.0).await;
    const ATTEMPTS: usize = 8;
    let mut fast = None;
    for n in 0..ATTEMPTS {
        let started = Instant::now();
        let (status, answer) = attempt().await;
        let took = started.elapsed();
        assert_eq!(
            (status, answer["code"].as_str()),
            (503, Some(code)),
            "{n}: {answer}"
        );
        let status = system.admin_status(caller, None).await;
        if status["breakers"][0]["state"] == "open" {
            fast.get_or_insert(took);
        }
    }
    let fast = fast.expect("the breaker opened after repeated failures");
    assert!(
        fast < Duration::from_millis(1000),
        "refused fast once open ({fast:?})"
    );
    ATTEMPTS
}
