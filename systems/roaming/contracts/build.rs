//! Compiles the gRPC contracts (see the `protobuild` crate).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protobuild::compile(
        &[
            "proto/roaming/reservation/v1/reservation.proto",
            "proto/roaming/rental/v1/booth.proto",
        ],
        "roaming_descriptor.bin",
    )
}
