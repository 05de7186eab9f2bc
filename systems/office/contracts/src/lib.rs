//! The published language of the office equipment rental system (seed 004): versioned integration
//! events and the gRPC contract. A rental's events carry the rental id as their CloudEvents
//! `subject`, the correlation key that links rental, delivery and my orders; a product's carry the
//! product id. Event tokens drop the service's own name: the short name `rental_ordered` is
//! `office.rental.ordered.v1`, `delivery_canceled` is `office.delivery.canceled.v1`.

use kernel::contract;

/// The gRPC contract (`proto/office/v1/office.proto`), compiled with protox at build time.
pub mod grpc {
    /// `office.v1`.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("office.v1");
    }

    /// The encoded descriptor set of the .proto, for gRPC reflection.
    pub const DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/office_descriptor.bin"));
}

contract! {
    /// The product team registered a product (상품 등록) with its first stock.
    ProductRegistered = "office.product.registered.v1" {
        product_id: String,
        name: String,
        /// KRW a day.
        daily_rate: i64,
        qty: u32,
    }
}

contract! {
    /// The product team added stock.
    ProductRestocked = "office.product.restocked.v1" {
        product_id: String,
        quantity: u32,
    }
}

contract! {
    /// A customer's rental order (렌탈 주문): delivery is to reserve the stock and schedule it.
    RentalOrdered = "office.rental.ordered.v1" {
        rental_id: String,
        customer_id: String,
        product_id: String,
        product_name: String,
        qty: u32,
        /// First day (YYYY-MM-DD).
        from: String,
        /// Last day, included.
        to: String,
        /// KRW.
        amount: i64,
    }
}

contract! {
    /// The rental is canceled (`reason`: `out_of_stock` or `customer`).
    RentalCanceled = "office.rental.canceled.v1" {
        rental_id: String,
        customer_id: String,
        reason: String,
    }
}

contract! {
    /// The customer gives the delivered products back: delivery is to collect them.
    ReturnRequested = "office.rental.return_requested.v1" {
        rental_id: String,
        customer_id: String,
    }
}

contract! {
    /// The products are back: the rental is over.
    RentalCompleted = "office.rental.completed.v1" {
        rental_id: String,
        customer_id: String,
    }
}

contract! {
    /// Delivery reserved the stock and scheduled the delivery.
    DeliveryScheduled = "office.delivery.scheduled.v1" {
        rental_id: String,
        customer_id: String,
        product_id: String,
        qty: u32,
    }
}

contract! {
    /// Too little stock (재고부족): the rental is to be canceled.
    OutOfStock = "office.delivery.out_of_stock.v1" {
        rental_id: String,
        customer_id: String,
        product_id: String,
        qty: u32,
    }
}

contract! {
    /// The delivery team delivered the products.
    Delivered = "office.delivery.delivered.v1" {
        rental_id: String,
        customer_id: String,
    }
}

contract! {
    /// The delivery was canceled (its stock restored): the rental is canceled.
    DeliveryCanceled = "office.delivery.canceled.v1" {
        rental_id: String,
        customer_id: String,
    }
}

contract! {
    /// The delivery team collected the returned products; the stock is restored.
    Collected = "office.delivery.collected.v1" {
        rental_id: String,
        customer_id: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::IntegrationEvent;
    use kernel::envelope::EventType;

    #[test]
    fn every_contract_type_belongs_to_office() {
        for name in [
            ProductRegistered::TYPE,
            ProductRestocked::TYPE,
            RentalOrdered::TYPE,
            RentalCanceled::TYPE,
            ReturnRequested::TYPE,
            RentalCompleted::TYPE,
            DeliveryScheduled::TYPE,
            OutOfStock::TYPE,
            Delivered::TYPE,
            DeliveryCanceled::TYPE,
            Collected::TYPE,
        ] {
            assert_eq!(EventType::parse(name).unwrap().system, "office");
        }
    }
}
