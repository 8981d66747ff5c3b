//! Link-time settings for the release build of the `fleetdeck` binary. Both are memory savings
//! (BENCHMARKS.md, "Build settings and resident code") and both are left out wherever they could fail: debug builds
//! (tests) get neither.

use std::path::Path;

fn main() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/hot-code.txt");
    for k in [
        "FLEETDECK_NO_CODE_ORDER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={k}");
    }
    if var("PROFILE") != "release"
        || var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
    {
        return;
    }
    // Packed relative relocations (DT_RELR): the dynamic loader reads every relocation at
    // start-up, and in the classic form they were a 520 KB table, resident for the life of the
    // process. Packed, they are 10 KB. The binary then needs glibc 2.36 or later: only when the
    // glibc built against is one.
    if glibc_has_relr() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if self_contained_lld() && var("FLEETDECK_NO_CODE_ORDER").is_empty() {
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

/// Whether the glibc this links against knows packed relocations (its `GLIBC_ABI_DT_RELR`
/// version, 2.36+).
fn glibc_has_relr() -> bool {
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/usr/lib64/libc.so.6",
        "/lib64/libc.so.6",
        "/usr/lib/libc.so.6",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok())
    .is_some_and(|libc| {
        libc.windows(b"GLIBC_ABI_DT_RELR".len())
            .any(|w| w == b"GLIBC_ABI_DT_RELR")
    })
}

/// Whether the binary is linked by rustc's own, bundled lld, which knows
/// `--symbol-ordering-file` (GNU ld does not): rustup's toolchains for x86_64 Linux from Rust
/// 1.90 on, which carry it as `gcc-ld/ld.lld` in the sysroot. A distribution's rustc without
/// it, or a linker chosen in the environment, gets no list.
fn self_contained_lld() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("TARGET") != "x86_64-unknown-linux-gnu"
        || !var("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
        || var("CARGO_ENCODED_RUSTFLAGS").contains("link")
        || var("CARGO_ENCODED_RUSTFLAGS").contains("fuse-ld")
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let ask = |arg: &str| {
        std::process::Command::new(&rustc)
            .arg(arg)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // "rustc 1.95.0 (…)"
    let minor = ask("--version").and_then(|v| {
        v.split_whitespace()
            .nth(1)
            .and_then(|v| v.split('.').nth(1))
            .and_then(|m| m.parse::<u32>().ok())
    });
    let bundled = ask("--print=sysroot").is_some_and(|root| {
        Path::new(&root)
            .join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld/ld.lld")
            .exists()
    });
    minor.is_some_and(|m| m >= 90) && bundled
}
