//! Counts: how a range splits into reserved, used, claimed and free addresses.

use super::*;

/// The range arithmetic of a pool. Over the range, `used + claimed + reserved + free ==
/// range_size` always; `outside_range` is beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounts {
    pub range_size: u128,
    pub reserved: u128,
    pub used: u128,
    pub claimed: u128,
    pub free: u128,
    /// Distinct static addresses in the subnet but outside the range (allowed by Docker, and
    /// the usual place for fixed IPs); not part of the range arithmetic.
    pub outside_range: u128,
}

impl PoolCounts {
    /// Classifies every address of `ranges` (disjoint prefixes) as reserved, used, claimed or
    /// free, in that precedence, without enumerating the ranges.
    pub(super) fn tally(
        ranges: &[IpNet],
        reserved: &BTreeSet<IpAddr>,
        used: &BTreeSet<IpAddr>,
        claimed: &BTreeSet<IpAddr>,
    ) -> Self {
        let in_range = |ip: &&IpAddr| ranges.iter().any(|r| r.contains(*ip));
        let count = |n: usize| n as u128;
        let reserved_n = count(reserved.iter().filter(in_range).count());
        let used_n = count(
            used.iter()
                .filter(in_range)
                .filter(|ip| !reserved.contains(ip))
                .count(),
        );
        let claimed_n = count(
            claimed
                .iter()
                .filter(in_range)
                .filter(|ip| !reserved.contains(ip) && !used.contains(ip))
                .count(),
        );
        let outside_range = count(
            used.union(claimed)
                .filter(|ip| !ranges.iter().any(|r| r.contains(*ip)))
                .count(),
        );
        let range_size = ranges
            .iter()
            .map(prefix_size)
            .fold(0u128, u128::saturating_add);
        Self {
            range_size,
            reserved: reserved_n,
            used: used_n,
            claimed: claimed_n,
            free: range_size.saturating_sub(reserved_n + used_n + claimed_n),
            outside_range,
        }
    }

    /// Addresses of the range that cannot be handed out.
    pub fn taken(&self) -> u128 {
        self.reserved + self.used + self.claimed
    }

    /// `taken / range_size`, for gauges and sorting by fullness.
    pub fn utilisation(&self) -> f64 {
        if self.range_size == 0 {
            return 0.0;
        }
        self.taken() as f64 / self.range_size as f64
    }
}

/// A count as a person reads it: exact while short, `16.8M` for a /8, `≈2^64` for a /64.
pub fn human_count(n: u128) -> String {
    const SCALES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    if n < 100_000 {
        return n.to_string();
    }
    if n < 1_000_000_000_000_000 {
        let x = n as f64;
        for (scale, unit) in SCALES {
            if x >= scale {
                return format!("{:.1}{unit}", x / scale);
            }
        }
    }
    // Rounded to the nearest power of two: 2^64 - 3 free addresses read as ≈2^64.
    let floor = 127 - n.leading_zeros();
    let round_up = floor > 0 && (n >> (floor - 1)) & 1 == 1;
    format!("≈2^{}", floor + u32::from(round_up))
}
