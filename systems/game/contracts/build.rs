//! Compiles the gRPC contract (see the `protobuild` crate).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protobuild::compile(&["proto/game/v1/game.proto"], "game_descriptor.bin")
}
