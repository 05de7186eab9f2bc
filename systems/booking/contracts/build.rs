//! Compiles the gRPC contract (see the `protobuild` crate).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protobuild::compile(
        &["proto/booking/v1/booking.proto"],
        "booking_descriptor.bin",
    )
}
