//! What every contracts crate's `build.rs` does with its `.proto` files: compile them with protox
//! (no protoc needed), generate the tonic server and client code, and write the encoded descriptor
//! set that gRPC reflection serves to `$OUT_DIR/<descriptor>`.

/// Compiles `protos` (paths below `proto/`) and writes the descriptor set as `descriptor`.
pub fn compile(protos: &[&str], descriptor: &str) -> Result<(), Box<dyn std::error::Error>> {
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join(descriptor),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
