//! Link-time settings for the `fleetdeck` binary.

use std::path::Path;

fn main() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/hot-code.txt");
    println!("cargo:rerun-if-env-changed=FLEETDECK_NO_CODE_ORDER");
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    // Packed relative relocations (DT_RELR, glibc 2.36+, GNU ld 2.38+ and lld): the dynamic
    // loader reads every relocation at start-up, and in the classic form they were a 520 KB
    // table, resident for the life of the process. Packed, they are 10 KB.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    if lld_by_default() && var("FLEETDECK_NO_CODE_ORDER").is_empty() {
        // The functions a dashboard session runs, placed together at the start of the code
        // (list made by bench/code-order.sh). The kernel maps code in 64 KB blocks around each
        // page first touched, so the 2.7 MB a session runs, scattered through 12 MB, made 8 MB
        // of it resident; gathered, about 3. A name the build no longer has is skipped: a
        // stale list costs memory, never correctness.
        let list = Path::new(&var("CARGO_MANIFEST_DIR")).join("build/hot-code.txt");
        if list.exists() {
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                list.display()
            );
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
}

/// Whether the binary is linked by rustc's own lld (x86_64 Linux from Rust 1.90 on), which
/// knows `--symbol-ordering-file`; GNU ld does not. A linker chosen in the environment is not
/// second-guessed.
fn lld_by_default() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("TARGET") != "x86_64-unknown-linux-gnu"
        || !var("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
        || var("CARGO_ENCODED_RUSTFLAGS").contains("link")
        || var("CARGO_ENCODED_RUSTFLAGS").contains("fuse-ld")
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (…)"
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
