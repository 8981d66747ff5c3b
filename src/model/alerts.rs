//! Alerting: rules over the fleet model and the notices they produce when they start or stop
//! firing. Pure data and logic; delivery lives in the engine.

pub mod notice;
pub mod target;

pub use notice::{Notice, NoticeState, Severity};
pub use target::{NotifyTarget, TargetKind};
