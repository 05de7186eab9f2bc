//! The payment's events, and the one event it takes from its callers: a refund request.

kernel::contract! {
    /// A payment was approved.
    PaymentApproved = "payment.approved.v1" {
        payment_id: String,
        /// The order paid for (also the event subject).
        #[serde(alias = "reservationId")]
        order_id: String,
        customer_id: String,
        amount: i64,
        card_last4: String,
        /// When it was paid (RFC 3339; empty in events older than the field).
        #[serde(default)]
        paid_at: String,
    }
}

kernel::contract! {
    /// A payment was declined.
    PaymentDeclined = "payment.declined.v1" {
        payment_id: String,
        #[serde(alias = "reservationId")]
        order_id: String,
        customer_id: String,
        reason: String,
    }
}

kernel::contract! {
    /// An approved payment was refunded.
    PaymentCanceled = "payment.canceled.v1" {
        payment_id: String,
        #[serde(alias = "reservationId")]
        order_id: String,
        customer_id: String,
        amount: i64,
        /// When the refunded payment was made (RFC 3339; empty in events older than the field):
        /// a monthly total lowers the month it was paid in.
        #[serde(default)]
        paid_at: String,
    }
}

kernel::contract! {
    /// No payment will ever be taken for this order (its caller gave up on it, or it was
    /// refunded before it was ever paid).
    PaymentVoided = "payment.voided.v1" {
        #[serde(alias = "reservationId")]
        order_id: String,
    }
}

kernel::contract! {
    /// A caller asks for the order's payment to be refunded (its order was canceled). Published
    /// by the caller, in its own stream; payment refunds an approved payment once, however often
    /// the request comes, and makes sure an order never paid is never charged.
    RefundRequested = "payment.refund_requested.v1" {
        order_id: String,
        /// Why, for the record (`canceled`).
        reason: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::IntegrationEvent;
    use kernel::envelope::{EventType, type_in};

    #[test]
    fn every_type_is_generic_and_well_formed_in_a_system() {
        for name in [
            PaymentApproved::TYPE,
            PaymentDeclined::TYPE,
            PaymentCanceled::TYPE,
            PaymentVoided::TYPE,
            RefundRequested::TYPE,
        ] {
            let full = type_in("booking", name);
            let parsed = EventType::parse(&full).unwrap();
            assert_eq!((parsed.system, parsed.service), ("booking", "payment"));
        }
    }

    #[test]
    fn events_written_before_the_order_reference_still_decode() {
        let old = serde_json::json!({"reservationId": "r-1"});
        let voided: PaymentVoided = serde_json::from_value(old).unwrap();
        assert_eq!(voided.order_id, "r-1");
        let json = serde_json::to_value(&voided).unwrap();
        assert_eq!(json["orderId"], "r-1");
    }
}
