//! Per-plane propagation delays: how long after a role assignment is created (or deleted)
//! each service starts (or stops) honouring it.
//!
//! Every plane keeps its own cache of RBAC data, so the same assignment becomes effective
//! at different times on ARM, the Log Analytics query API, custom metrics ingestion and
//! the Application Insights query API. Delays are read against the emulator's clock.

use std::ops::{Index, IndexMut};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A service that takes its own authorization decisions from role assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Plane {
    /// Azure Resource Manager (`management.azure.com`).
    Arm,
    /// Log Analytics query API (`api.loganalytics.io`).
    LogAnalytics,
    /// Azure Monitor custom metrics ingestion (`{region}.monitoring.azure.com`).
    Metrics,
    /// Application Insights query API (`api.applicationinsights.io`).
    AppInsights,
}

impl Plane {
    /// Every plane, in a fixed order (the order of a [`Planes`]' values).
    pub const ALL: [Plane; 4] = [
        Plane::Arm,
        Plane::LogAnalytics,
        Plane::Metrics,
        Plane::AppInsights,
    ];

    /// Position in [`Plane::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Name used in the control API and in flags.
    pub fn name(self) -> &'static str {
        match self {
            Plane::Arm => "arm",
            Plane::LogAnalytics => "logAnalytics",
            Plane::Metrics => "metrics",
            Plane::AppInsights => "appInsights",
        }
    }
}

/// One value per [`Plane`] (a delay, a time), read and written by plane.
///
/// Serialized as the array of its values in [`Plane::ALL`] order, as state files hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Planes<T>([T; 4]);

impl<T> Planes<T> {
    /// The value `f` gives for each plane.
    pub(crate) fn from_fn(f: impl FnMut(Plane) -> T) -> Self {
        Self(Plane::ALL.map(f))
    }

    /// Each plane's value passed through `f`.
    pub(crate) fn map<U>(self, f: impl FnMut(T) -> U) -> Planes<U> {
        Planes(self.0.map(f))
    }

    /// The values in [`Plane::ALL`] order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T: Copy> Planes<T> {
    /// `value` on every plane.
    pub(crate) const fn same(value: T) -> Self {
        Self([value; 4])
    }
}

impl<T> Index<Plane> for Planes<T> {
    type Output = T;

    fn index(&self, plane: Plane) -> &T {
        &self.0[plane.index()]
    }
}

impl<T> IndexMut<Plane> for Planes<T> {
    fn index_mut(&mut self, plane: Plane) -> &mut T {
        &mut self.0[plane.index()]
    }
}

/// The values in [`Plane::ALL`] order (the form `resources/` and `services/identities` take).
impl<T> From<[T; 4]> for Planes<T> {
    fn from(values: [T; 4]) -> Self {
        Self(values)
    }
}

impl<T> From<Planes<T>> for [T; 4] {
    fn from(planes: Planes<T>) -> Self {
        planes.0
    }
}

impl<T> IntoIterator for Planes<T> {
    type Item = T;
    type IntoIter = std::array::IntoIter<T, 4>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Random extra delay, drawn per assignment and plane from a seed so runs are repeatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jitter {
    /// Largest extra delay added to a plane's base delay.
    pub max: Duration,
    /// Seed of the draw; the same seed gives every assignment the same delays again.
    pub seed: u64,
}

/// Propagation delay of each plane.
///
/// The defaults are the upper bounds Microsoft documents where it documents one, so a
/// client sees the 403s it must be ready for; set them to zero to opt out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagation {
    /// ARM: the RBAC troubleshooting guide says changes can take up to 10 minutes.
    pub arm: Duration,
    /// Log Analytics query API: not documented; a guess equal to ARM's bound.
    pub log_analytics: Duration,
    /// Custom metrics ingestion: not documented; a guess equal to ARM's bound.
    pub metrics: Duration,
    /// Application Insights query API: its error reference says new permissions can take up
    /// to 60 minutes to be recognized.
    pub app_insights: Duration,
    /// Optional random extra delay.
    pub jitter: Option<Jitter>,
}

impl Default for Propagation {
    fn default() -> Self {
        Self {
            arm: Duration::from_secs(10 * 60),
            log_analytics: Duration::from_secs(10 * 60),
            metrics: Duration::from_secs(10 * 60),
            app_insights: Duration::from_secs(60 * 60),
            jitter: None,
        }
    }
}

impl Propagation {
    /// The same delay on every plane, without jitter.
    pub fn uniform(delay: Duration) -> Self {
        Self {
            arm: delay,
            log_analytics: delay,
            metrics: delay,
            app_insights: delay,
            jitter: None,
        }
    }

    /// No delay anywhere: changes take effect at once.
    pub fn immediate() -> Self {
        Self::uniform(Duration::ZERO)
    }

    /// The configured delay of `plane`, before jitter.
    pub fn base(&self, plane: Plane) -> Duration {
        match plane {
            Plane::Arm => self.arm,
            Plane::LogAnalytics => self.log_analytics,
            Plane::Metrics => self.metrics,
            Plane::AppInsights => self.app_insights,
        }
    }

    /// Sets the delay of `plane`.
    pub fn set(&mut self, plane: Plane, delay: Duration) {
        match plane {
            Plane::Arm => self.arm = delay,
            Plane::LogAnalytics => self.log_analytics = delay,
            Plane::Metrics => self.metrics = delay,
            Plane::AppInsights => self.app_insights = delay,
        }
    }

    /// The delay of each plane for the change identified by `key` (e.g. an assignment's
    /// name): base delay plus the jitter drawn for that key.
    pub(crate) fn planes(&self, key: u128) -> Planes<Duration> {
        Planes::from_fn(|plane| self.base(plane) + self.jitter_for(key, plane))
    }

    /// [`Propagation::planes`] as an array in [`Plane::ALL`] order.
    pub fn delays(&self, key: u128) -> [Duration; 4] {
        self.planes(key).into()
    }

    fn jitter_for(&self, key: u128, plane: Plane) -> Duration {
        let Some(jitter) = self.jitter else {
            return Duration::ZERO;
        };
        let span = u64::try_from(jitter.max.as_millis()).unwrap_or(u64::MAX);
        if span == 0 {
            return Duration::ZERO;
        }
        // Truncations below only fold the key's halves into the hash input.
        let mixed = splitmix64(
            jitter.seed
                ^ splitmix64(key as u64)
                ^ splitmix64((key >> 64) as u64).rotate_left(17)
                ^ (plane.index() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        Duration::from_millis(mixed % span.saturating_add(1))
    }
}

/// SplitMix64's finalizer: a cheap, well-spread 64-bit mix (no dependency needed).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_non_zero_and_app_insights_is_slowest() {
        let p = Propagation::default();
        for plane in Plane::ALL {
            assert!(p.base(plane) > Duration::ZERO, "{plane:?}");
        }
        assert_eq!(p.arm, Duration::from_secs(600));
        assert_eq!(p.app_insights, Duration::from_secs(3600));
        assert_eq!(p.planes(42), Planes::from_fn(|plane| p.base(plane)));
        assert_eq!(p.delays(42), <[Duration; 4]>::from(p.planes(42)));
    }

    #[test]
    fn uniform_and_set_cover_every_plane() {
        let mut p = Propagation::uniform(Duration::from_secs(5));
        assert!(
            Plane::ALL
                .iter()
                .all(|&x| p.base(x) == Duration::from_secs(5))
        );
        p.set(Plane::Metrics, Duration::from_secs(9));
        assert_eq!(p.planes(1)[Plane::Metrics], Duration::from_secs(9));
        assert_eq!(p.delays(1)[Plane::Metrics.index()], Duration::from_secs(9));
        assert_eq!(
            Propagation::immediate().planes(7),
            Planes::same(Duration::ZERO)
        );
    }

    #[test]
    fn planes_serialize_as_the_array_state_files_hold() {
        let planes = Planes::from([1, 2, 3, 4]);
        assert_eq!(serde_json::to_string(&planes).expect("json"), "[1,2,3,4]");
        let back: Planes<u8> = serde_json::from_str("[1,2,3,4]").expect("parse");
        assert_eq!(back, planes);
        assert_eq!(back[Plane::Metrics], 3);
        assert!(serde_json::from_str::<Planes<u8>>("[1,2,3]").is_err());
    }

    #[test]
    fn jitter_is_bounded_repeatable_and_varies() {
        let mut p = Propagation::uniform(Duration::from_secs(60));
        p.jitter = Some(Jitter {
            max: Duration::from_secs(30),
            seed: 7,
        });
        let mut seen = std::collections::HashSet::new();
        for key in 0..200u128 {
            let d = p.planes(key << 70 | key);
            assert_eq!(d, p.planes(key << 70 | key), "same key, same delays");
            for x in d {
                assert!(x >= Duration::from_secs(60) && x <= Duration::from_secs(90));
                seen.insert(x);
            }
        }
        assert!(seen.len() > 100, "draws should spread: {}", seen.len());
        let other_seed = Propagation {
            jitter: Some(Jitter {
                max: Duration::from_secs(30),
                seed: 8,
            }),
            ..p
        };
        assert_ne!(p.planes(5), other_seed.planes(5));
        p.jitter = Some(Jitter {
            max: Duration::ZERO,
            seed: 1,
        });
        assert_eq!(p.planes(3), Planes::same(Duration::from_secs(60)));
    }
}
