//! `distinct`: the unique rows of some columns.

use std::collections::HashSet;

use super::grouping::{FastHashState, GroupKey, group_key, group_key_bytes};
use super::{ID_BYTES, View};
use crate::kql::error::KqlError;
use crate::kql::eval::SEM_UNRESOLVED;
use crate::kql::limits::Governor;

pub(super) fn distinct(
    view: View,
    cols: Option<&[String]>,
    kw: &str,
    gov: &Governor,
) -> Result<View, KqlError> {
    let idx: Vec<usize> = match cols {
        None => (0..view.columns.len()).collect(),
        Some(names) => {
            let mut v = Vec::new();
            for n in names {
                match view.columns.iter().position(|c| &c.name == n) {
                    Some(i) => v.push(i),
                    None => {
                        return Err(KqlError::semantic(
                            SEM_UNRESOLVED,
                            format!(
                                "'{kw}' operator: Failed to resolve column or scalar expression named '{n}'"
                            ),
                        ));
                    }
                }
            }
            v
        }
    };
    let mut seen: HashSet<Vec<GroupKey>, FastHashState> = HashSet::default();
    let mut keep: Vec<usize> = Vec::new();
    view.try_for_each_id(gov, kw, |r| {
        let key: Vec<GroupKey> = idx
            .iter()
            .map(|&i| group_key(&view.data[i].get(r)))
            .collect();
        if !seen.contains(&key) {
            let bytes = key.iter().map(group_key_bytes).sum::<usize>()
                + std::mem::size_of::<Vec<GroupKey>>()
                + ID_BYTES;
            if gov.charge(bytes) {
                seen.insert(key);
                keep.push(r);
            }
        }
    })?;
    Ok(View {
        columns: idx.iter().map(|&i| view.columns[i].clone()).collect(),
        data: idx.iter().map(|&i| view.data[i].clone()).collect(),
        base_len: view.base_len,
        sel: Some(keep),
    })
}
