//! What every profile's orders share — a reservation, a booking, a drink order, a rental, a
//! mission: the ledger of what the load made, moving one along by a command, and the checks
//! of an order-like aggregate (kept as acknowledged, one per command, paid exactly while live,
//! shown on my page).

use super::{Check, Ctx, Ledger, payment_agrees};
use serde_json::{Value, json};

/// The status of an order whose last command was not acknowledged: it is checked by the other
/// invariants only.
const UNSURE: &str = "?";

/// An aggregate the load made, with the status its last acknowledged command leads to.
#[derive(Debug, Clone)]
pub(crate) struct Made {
    pub id: String,
    pub customer: String,
    pub status: String,
}

/// How a profile's orders are reached and judged.
pub(crate) struct Orders {
    /// The collection, e.g. `/api/bookings` (`<base>/{id}` is one).
    pub base: &'static str,
    /// The my-page document of one, e.g. `/api/mypage/bookings` (`<view>/{id}`).
    pub view: &'static str,
    /// The my-page field that shows the order's status.
    pub view_field: &'static str,
    /// Statuses in which the order holds an approved payment; `None`: not a paid order.
    pub paid_while: Option<&'static [&'static str]>,
    /// Statuses that must not remain once the system is quiet (a saga or payment unsettled).
    pub transient: &'static [&'static str],
    /// The status of an attempt that failed without effect (payment unavailable or declined):
    /// a retry with the same key makes a fresh attempt, so such attempts are not counted as
    /// orders made twice (`paid_while` checks they hold no payment).
    pub failed: Option<&'static str>,
    /// Whether the status an order has now reflects the one its last acknowledged command led
    /// to (a request ends in its outcome).
    pub reflects: fn(recorded: &str, now: &str) -> bool,
}

/// A command that moves an order of the ledger.
pub(crate) struct Move<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// The command's path under the order: `<base>/{id}/<action>`, or under `under`.
    pub action: &'a str,
    /// Another collection's path for the same id (a booth's rental, a delivery).
    pub under: Option<&'a str>,
    /// As the operator rather than as the customer.
    pub staff: bool,
    pub body: Value,
}

impl Orders {
    /// Records the answer of the command that made an order.
    pub(crate) fn made(&self, ledger: &Ledger<Made>, customer: &str, answer: &super::Answer) {
        if answer.ok() {
            ledger.push(Made {
                id: answer.text("id"),
                customer: customer.to_owned(),
                status: answer.text("status"),
            });
        }
    }

    /// Takes an order in `from` and makes the command: acknowledged, it is `to`; otherwise it
    /// is unsure from now on.
    pub(crate) async fn advance(&self, ctx: &Ctx, ledger: &Ledger<Made>, command: Move<'_>) {
        let Some(mut order) = ledger.take(|o| o.status == command.from) else {
            return;
        };
        let token = if command.staff {
            ctx.admin.clone()
        } else {
            ctx.customer_named(&order.customer).token.clone()
        };
        let base = command.under.unwrap_or(self.base);
        let path = format!("{base}/{}/{}", order.id, command.action);
        let answer = ctx
            .client
            .command(&token, &path, &ctx.key(command.action), command.body)
            .await;
        order.status = if answer.ok() {
            command.to.to_owned()
        } else {
            // Refused, or unanswered after the client's retries: a repeated command may have been
            // done before, and a read now may lag another service's acknowledged command (the
            // delivery team delivered, the rental not told yet). Its other invariants check it.
            UNSURE.to_owned()
        };
        ledger.push(order);
    }

    /// Every order of the run's customers, as they list them.
    pub(crate) async fn listed(&self, ctx: &Ctx) -> Vec<Value> {
        let mut listed = Vec::new();
        for customer in &ctx.customers {
            let mine = ctx.client.list(&customer.token, self.base).await;
            listed.extend(mine.unwrap_or_default());
        }
        listed
    }

    /// The checks every order-like aggregate passes, over the ledger and `listed`.
    pub(crate) async fn checks(
        &self,
        ctx: &Ctx,
        ledger: &Ledger<Made>,
        listed: &[Value],
    ) -> Vec<Check> {
        let mut kept = Check::new("every acknowledged command kept (nothing lost)");
        for order in ledger.all().into_iter().filter(|o| o.status != UNSURE) {
            let now = ctx
                .client
                .read(&ctx.admin, &format!("{}/{}", self.base, order.id))
                .await;
            let is = now.text("status");
            kept.expect((self.reflects)(&order.status, &is), || {
                format!("{} is {} {is} after {}", order.id, now.status, order.status)
            });
        }
        let mut once = Check::new("one order per command (no effect twice)");
        let sent = ctx.client.sent(self.base);
        let made = listed
            .iter()
            .filter(|o| self.failed.is_none_or(|failed| o["status"] != failed))
            .count();
        once.expect(made as u64 <= sent, || {
            format!("{made} orders for {sent} commands")
        });
        let mut settled = Check::new("no order left unsettled");
        let mut paid = Check::new("payment approved iff the order is live");
        let mut page = Check::new("my page shows every order's status");
        for order in listed {
            let id = order["id"].as_str().unwrap_or_default();
            let status = order["status"].as_str().unwrap_or_default();
            settled.expect(!self.transient.contains(&status), || {
                format!("{id} is still {status}")
            });
            if let Some(live) = self.paid_while {
                payment_agrees(ctx, &mut paid, id, live.contains(&status)).await;
            }
            let view = ctx
                .client
                .read(&ctx.admin, &format!("{}/{id}", self.view))
                .await;
            page.expect(view.body[self.view_field] == status, || {
                let shown = &view.body[self.view_field];
                format!("{id}: my page says {shown}, the order {status}")
            });
        }
        let mut checks = vec![kept, once, settled];
        if self.paid_while.is_some() {
            checks.push(paid);
        }
        checks.push(page);
        checks
    }

    /// A sample of the ledger's my-page documents, for the replay check.
    pub(crate) fn documents(&self, ctx: &Ctx, ledger: &Ledger<Made>) -> Vec<(String, String)> {
        let sample = ledger.all().into_iter().take(40);
        sample
            .map(|o| (ctx.admin.clone(), format!("{}/{}", self.view, o.id)))
            .collect()
    }
}

/// A command's body with nothing in it.
pub(crate) fn empty() -> Value {
    json!({})
}
