//! The published language of the cafeteria system (seed 003, drink orders): versioned integration
//! events and the gRPC contract. Every event's CloudEvents `subject` is the order id, the
//! correlation key that links order, payment (its order reference), drink, sale and the customer
//! center. Event tokens drop the service's own name: the short name `ordered` is
//! `cafeteria.order.ordered.v1`, `drink_canceled` is `cafeteria.drink.canceled.v1`. Payment's
//! events are the generic payment's (`payment-contracts`), in cafeteria's stream as
//! `cafeteria.payment.<event>.v1`.

use kernel::contract;

/// The gRPC contract (`proto/cafeteria/v1/cafeteria.proto`), compiled with protox at build time.
pub mod grpc {
    /// `cafeteria.v1`.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("cafeteria.v1");
    }

    /// The encoded descriptor set of the .proto, for gRPC reflection.
    pub const DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/cafeteria_descriptor.bin"));
}

contract! {
    /// A paid order (emitted only after payment approved): the barista is to make the drink.
    Ordered = "cafeteria.order.ordered.v1" {
        order_id: String,
        customer_id: String,
        drink_id: String,
        /// Korean name.
        drink_name: String,
        /// English name.
        drink_name_en: String,
        qty: u32,
        /// KRW.
        amount: i64,
        /// When the payment was approved (RFC 3339).
        paid_at: String,
    }
}

contract! {
    /// The order did not come about (card declined, payment unavailable or voided).
    OrderFailed = "cafeteria.order.failed.v1" {
        order_id: String,
        customer_id: String,
        reason: String,
    }
}

contract! {
    /// The customer asked to cancel: the drink is to be canceled if the barista has not accepted
    /// it yet.
    CancelRequested = "cafeteria.order.cancel_requested.v1" {
        order_id: String,
        customer_id: String,
    }
}

contract! {
    /// The cancel was refused (the drink is already being made): the order is `Ordered` again.
    OrderRestored = "cafeteria.order.restored.v1" {
        order_id: String,
        customer_id: String,
    }
}

contract! {
    /// Canceled: the drink canceled and the payment refunded.
    OrderCanceled = "cafeteria.order.canceled.v1" {
        order_id: String,
        customer_id: String,
    }
}

contract! {
    /// The drink is in the barista's queue.
    DrinkQueued = "cafeteria.drink.queued.v1" {
        order_id: String,
        customer_id: String,
        drink_name: String,
        qty: u32,
    }
}

contract! {
    /// The barista accepted the order (접수): it can no longer be canceled.
    DrinkReceipted = "cafeteria.drink.receipted.v1" {
        order_id: String,
        customer_id: String,
        drink_name: String,
    }
}

contract! {
    /// The barista made the drink (제조): come and take it.
    DrinkMade = "cafeteria.drink.made.v1" {
        order_id: String,
        customer_id: String,
        drink_name: String,
    }
}

contract! {
    /// The drink was canceled before the barista accepted it: the payment is to be refunded.
    DrinkCanceled = "cafeteria.drink.canceled.v1" {
        order_id: String,
        customer_id: String,
    }
}

contract! {
    /// The cancel came too late: the barista had accepted the drink (`status` is where it is).
    CancelRefused = "cafeteria.drink.cancel_refused.v1" {
        order_id: String,
        customer_id: String,
        drink_name: String,
        status: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::IntegrationEvent;
    use kernel::envelope::EventType;

    #[test]
    fn every_contract_type_belongs_to_cafeteria() {
        for name in [
            Ordered::TYPE,
            OrderFailed::TYPE,
            CancelRequested::TYPE,
            OrderRestored::TYPE,
            OrderCanceled::TYPE,
            DrinkQueued::TYPE,
            DrinkReceipted::TYPE,
            DrinkMade::TYPE,
            DrinkCanceled::TYPE,
            CancelRefused::TYPE,
        ] {
            assert_eq!(EventType::parse(name).unwrap().system, "cafeteria");
        }
    }
}
