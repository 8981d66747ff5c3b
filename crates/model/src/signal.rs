//! Signal names and numbers as Docker takes them, checked before a request is sent (`kill`,
//! a spec's `stop_signal`).

const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
];

/// A signal for `kill`, as Docker takes it: `SIGTERM`, `term` and `15` are all accepted and
/// named `SIGTERM` / `15`; anything else is refused here, before a request is sent.
pub fn parse_signal(text: &str) -> Result<String, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u8>() {
        if (1..=64).contains(&n) {
            return Ok(n.to_string());
        }
    } else {
        let upper = t.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        let realtime = bare
            .strip_prefix("RTMIN+")
            .or_else(|| bare.strip_prefix("RTMAX-"))
            .is_some_and(|n| n.parse::<u8>().is_ok_and(|n| n <= 30));
        if SIGNALS.contains(&bare) || matches!(bare, "RTMIN" | "RTMAX") || realtime {
            return Ok(format!("SIG{bare}"));
        }
    }
    Err(format!(
        "unknown signal \"{text}\"; use a name like SIGTERM, TERM, HUP, KILL, USR1 or a number 1-64"
    ))
}
