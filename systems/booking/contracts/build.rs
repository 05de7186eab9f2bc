//! Compiles the .proto contract with protox (no protoc needed) and generates the tonic code and
//! the descriptor set that gRPC reflection serves.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/booking/v1/booking.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("booking_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
