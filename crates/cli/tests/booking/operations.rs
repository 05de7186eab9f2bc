//! Operations through `msa up`, the supervisor: my page frozen is replaced and catches up; every
//! service and the gateway rolled out under a steady load of bookings (arena seats, each paid
//! through payment) fails no booking, and every booking reaches my page.

use crate::flows::{MANIFEST, MSA};
use serde_json::json;
use testkit::system::{Drill, TestSystem};

#[tokio::test]
async fn a_frozen_service_is_replaced_and_a_rollout_of_everything_under_load_fails_no_booking() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let kim = system.user_token("kim", "kim-password").await;
    let arena = json!({
        "musicalId": "elisabeth",
        "performanceId": "elisabeth-2030-05-01",
        "grade": "S",
        "quantity": 1,
        "deliveryAddress": "서울시 종로구 세종대로 1",
        "phone": "010-1234-5678",
        "cardNumber": "4242424242424242",
    });
    let drill = Drill {
        command: system.poster(&kim, "/api/bookings", "booking", arena),
        token: kim,
        view_service: "mypage",
        view: |booking| format!("/api/mypage/bookings/{}", booking["id"].as_str().unwrap()),
        settled: |v| v["bookingStatus"] == "Booked" && v["paymentStatus"] == "Approved",
    };
    system.heal_and_roll(drill, 15).await;
}
