//! Compiles the gRPC contract (see the `protobuild` crate).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protobuild::compile(&["proto/office/v1/office.proto"], "office_descriptor.bin")
}
