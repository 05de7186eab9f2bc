//! Compiles the gRPC contract (see the `protobuild` crate).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protobuild::compile(
        &["proto/cafeteria/v1/cafeteria.proto"],
        "cafeteria_descriptor.bin",
    )
}
