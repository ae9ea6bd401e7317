//! Group keys and the fast hasher that `summarize` and `distinct` group them with.

use std::sync::Arc;

use crate::kql::eval::{CExpr, Func};
use crate::kql::table::ColumnData;
use crate::kql::value::{DOTNET_EPOCH_OFFSET_TICKS, Value, datetime_in_range};

/// A fast hasher for group keys: folded 64×64→128-bit multiplies, seeded
/// per process from the standard library's random state so that key
/// collisions cannot be precomputed (the same approach as foldhash; SipHash
/// cost about a quarter of `summarize` time).
#[derive(Clone, Copy)]
pub(in crate::kql) struct FastHashState {
    seed: u64,
}

impl Default for FastHashState {
    fn default() -> Self {
        use std::hash::BuildHasher;
        use std::sync::OnceLock;
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed = *SEED
            .get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64));
        FastHashState { seed }
    }
}

impl std::hash::BuildHasher for FastHashState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher { h: self.seed }
    }
}

pub(in crate::kql) struct FastHasher {
    h: u64,
}

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.h = folded_multiply(self.h ^ i, MIX);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        folded_multiply(self.h, MIX ^ 0xA076_1D64_78BD_642F)
    }
}

/// Reads a 64-bit group key straight from column data for the common key
/// shapes (`col` and `bin(col, constant)` on long/datetime/timespan
/// columns), without building a `Value` per row. Results match the
/// general evaluator.
pub(super) enum FastKey<'a> {
    Col(&'a [Option<i64>]),
    BinDateTime(&'a [Option<i64>], i64),
    Bin(&'a [Option<i64>], i64),
}

impl<'a> FastKey<'a> {
    pub(super) fn new(e: &CExpr, cols: &'a [Arc<ColumnData>]) -> Option<FastKey<'a>> {
        let ticks = |c: &usize| match cols.get(*c).map(|d| d.as_ref()) {
            Some(ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v)) => {
                Some(v.as_slice())
            }
            _ => None,
        };
        match e {
            CExpr::Col(c) => ticks(c).map(FastKey::Col),
            CExpr::Call {
                f: Func::Bin, args, ..
            } => match args.as_slice() {
                [CExpr::Col(c), CExpr::Const(Value::TimeSpan(s))] if *s > 0 => {
                    match cols.get(*c).map(|d| d.as_ref()) {
                        Some(ColumnData::DateTime(v)) => Some(FastKey::BinDateTime(v, *s)),
                        Some(ColumnData::TimeSpan(v)) => Some(FastKey::Bin(v, *s)),
                        _ => None,
                    }
                }
                [CExpr::Col(c), CExpr::Const(Value::Long(s))] if *s > 0 => {
                    match cols.get(*c).map(|d| d.as_ref()) {
                        Some(ColumnData::Long(v)) => Some(FastKey::Bin(v, *s)),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        }
    }

    #[inline]
    pub(super) fn get(&self, r: usize) -> Option<i64> {
        match self {
            FastKey::Col(v) => v.get(r).copied().flatten(),
            FastKey::Bin(v, s) => v
                .get(r)
                .copied()
                .flatten()
                .and_then(|t| t.div_euclid(*s).checked_mul(*s)),
            FastKey::BinDateTime(v, s) => {
                let t = v.get(r).copied().flatten()?;
                let b = t
                    .checked_add(DOTNET_EPOCH_OFFSET_TICKS)?
                    .div_euclid(*s)
                    .checked_mul(*s)?
                    - DOTNET_EPOCH_OFFSET_TICKS;
                datetime_in_range(b).then_some(b)
            }
        }
    }
}

/// Hashable form of a value used as a group key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum GroupKey {
    Null,
    Bool(bool),
    I(i64),
    F(u64),
    S(Arc<str>),
    G(u128),
    D(String),
}

/// Bytes a stored group key takes (the entry, and the text of a dynamic key).
pub(super) fn group_key_bytes(k: &GroupKey) -> usize {
    let text = match k {
        GroupKey::D(s) => s.len(),
        _ => 0,
    };
    // The key and the hash table's slot and control byte.
    2 * std::mem::size_of::<GroupKey>() + text
}

pub(super) fn group_key(v: &Value) -> GroupKey {
    match v {
        Value::Null => GroupKey::Null,
        Value::Bool(b) => GroupKey::Bool(*b),
        Value::Int(i) => GroupKey::I(i64::from(*i)),
        Value::Long(i) | Value::DateTime(i) | Value::TimeSpan(i) => GroupKey::I(*i),
        Value::Real(r) => {
            let r = if *r == 0.0 { 0.0 } else { *r };
            GroupKey::F(if r.is_nan() {
                f64::NAN.to_bits()
            } else {
                r.to_bits()
            })
        }
        Value::String(s) => GroupKey::S(s.clone()),
        Value::Guid(g) => GroupKey::G(g.as_u128()),
        Value::Dynamic(d) => GroupKey::D(d.to_string()),
    }
}
