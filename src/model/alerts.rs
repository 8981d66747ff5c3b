//! Alerting: rules over the fleet model and the notices they produce when they start or stop
//! firing. Pure data and logic; delivery lives in the engine.

pub mod notice;

pub use notice::{Notice, NoticeState, Severity};
