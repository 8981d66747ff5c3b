//! `[keys]`: rebindings as written, with their lines; the keymap checks names and keys itself.

use std::collections::BTreeMap;

use toml::Spanned;

use super::KeyOverride;
use super::error::line_of;
use super::raw::RawKeys;

/// Each `[keys]` entry as a [`KeyOverride`]; nothing here can be wrong yet.
pub(super) fn resolve(raw: &BTreeMap<String, Spanned<RawKeys>>, text: &str) -> Vec<KeyOverride> {
    raw.iter()
        .map(|(name, v)| KeyOverride {
            name: name.clone(),
            keys: match v.get_ref() {
                RawKeys::One(k) => vec![k.clone()],
                RawKeys::Many(ks) => ks.clone(),
            },
            line: line_of(text, v.span().start),
        })
        .collect()
}
