//! The `fleetdeck` binary. Everything is in the library ([`fleetdeck::launch`]), so its
//! generic code is compiled once, there.

fn main() -> std::process::ExitCode {
    fleetdeck::launch::main()
}
