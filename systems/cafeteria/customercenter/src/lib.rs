//! The customer center of the cafeteria system: my page, a read model (CQRS) of each order's
//! drink, amount, order, payment and drink status with a timeline, folded from events only (the
//! kernel's document views); and the notifications (카톡 알림) of every order status change, one
//! per event and customer (`GET /api/notifications`, or a webhook when configured).
//! `msa replay cafeteria/customercenter` rebuilds my page and tells no one again.

use cafeteria_contracts as cafe;
use kernel::notify::Notice;
use kernel::policy::Policies;
use kernel::view::{Fold, FoldTable as _, ReadModel, ViewService, Views};
use payment_contracts::view::PaymentFolds as _;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "cafeteria/customercenter";

/// The notifications, Korean and English (`{drink}` is the drink's Korean name).
pub const NOTICES: &[(&str, &str, &str)] = &[
    (
        "ordered",
        "{drink} {qty}잔 주문이 접수 대기 중입니다 ({amount}원 결제 완료).",
        "Your order of {qty} × {drink} is paid (₩{amount}) and waits for the barista.",
    ),
    (
        "receipted",
        "바리스타가 {drink} 주문을 접수했습니다.",
        "The barista accepted your {drink} order.",
    ),
    (
        "made",
        "{drink} 제조가 완료되었습니다. 찾아가 주세요!",
        "Your {drink} is ready. Come and take it, please!",
    ),
    (
        "canceled",
        "주문이 취소되고 결제가 환불되었습니다.",
        "Your order was canceled and the payment refunded.",
    ),
    (
        "cancel_refused",
        "{drink} 제조가 이미 시작되어 주문을 취소할 수 없습니다.",
        "Your order is already being made ({drink}). You cannot cancel it.",
    ),
];

/// `11000` as `11,000`.
fn thousands(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

/// My page: order documents owned by customers, served at `/api/mypage`, with notifications.
pub struct OrderPages;

impl ReadModel for OrderPages {
    const VIEW: ViewService =
        ViewService::new(NAME, "order", "customer", "/api/mypage", projection).notifying(NOTICES);
}

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::view::service::<OrderPages>("customercenter");

/// The projection: what each event says about its order's page, and whom it tells.
pub fn projection(views: Arc<Views>) -> Policies<Views> {
    Policies::new(views)
        .fold(|e: cafe::Ordered| {
            let notice = Notice::new(&e.customer_id, "ordered")
                .with("drink", &e.drink_name)
                .with("qty", e.qty)
                .with("amount", thousands(e.amount));
            Fold::owned_by(&e.customer_id)
                .set("drinkId", e.drink_id)
                .set("drinkName", e.drink_name)
                .set("drinkNameEn", e.drink_name_en)
                .set("qty", e.qty)
                .set("amount", e.amount)
                .set("paidAt", e.paid_at)
                .set("orderStatus", "Ordered")
                .notify(notice)
        })
        .fold(|e: cafe::OrderFailed| {
            Fold::owned_by(&e.customer_id)
                .set("orderStatus", "OrderFailed")
                .set("failureReason", e.reason)
        })
        .fold(|e: cafe::CancelRequested| {
            Fold::owned_by(&e.customer_id).set("orderStatus", "CancelRequested")
        })
        .fold(|e: cafe::OrderRestored| {
            Fold::owned_by(&e.customer_id)
                .set("orderStatus", "Ordered")
                .note("cancel refused: already being made")
        })
        .fold(|e: cafe::OrderCanceled| {
            let notice = Notice::new(&e.customer_id, "canceled");
            Fold::owned_by(&e.customer_id)
                .set("orderStatus", "Canceled")
                .notify(notice)
        })
        .payment_folds()
        .fold(|e: cafe::DrinkQueued| Fold::owned_by(&e.customer_id).set("drinkStatus", "Queued"))
        .fold(|e: cafe::DrinkReceipted| {
            let notice = Notice::new(&e.customer_id, "receipted").with("drink", &e.drink_name);
            Fold::owned_by(&e.customer_id)
                .set("drinkStatus", "Receipted")
                .notify(notice)
        })
        .fold(|e: cafe::DrinkMade| {
            let notice = Notice::new(&e.customer_id, "made").with("drink", &e.drink_name);
            Fold::owned_by(&e.customer_id)
                .set("drinkStatus", "Made")
                .notify(notice)
        })
        .fold(|e: cafe::DrinkCanceled| {
            Fold::owned_by(&e.customer_id).set("drinkStatus", "Canceled")
        })
        .fold(|e: cafe::CancelRefused| {
            let notice = Notice::new(&e.customer_id, "cancel_refused").with("drink", &e.drink_name);
            Fold::owned_by(&e.customer_id)
                .note(format!("cancel refused: {}", e.status))
                .notify(notice)
        })
}
