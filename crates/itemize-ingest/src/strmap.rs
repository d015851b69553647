//! [`StrMap`]: a small map of text to text kept sorted by key, for a record's tags and extra columns.
//!
//! It reads like a `BTreeMap<String, String>` (same iteration order, same JSON), but it can be refilled row after
//! row without allocating: [`StrMap::clear`] keeps every key and value buffer, and the next row's entries are
//! written into them. A reader that fills one record per row in place (see
//! [`crate::source::CostRows`]) so spends no allocation on the tags and extra columns of a row once the first rows
//! have sized the buffers.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Text keys to text values, sorted by key, each key at most once.
#[derive(Clone, Default)]
pub struct StrMap {
    /// `entries[..len]` are the map; what lies beyond are buffers kept for reuse.
    entries: Vec<(String, String)>,
    len: usize,
}

impl StrMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the map, keeping its buffers for the next entries.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn live(&self) -> &[(String, String)] {
        &self.entries[..self.len]
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.live().binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns whether the key was new. Keys arriving in ascending order are appended
    /// without a search.
    pub fn insert_str(&mut self, key: &str, value: &str) -> bool {
        let at = match self.live().last() {
            Some((last, _)) if last.as_str() < key => self.len,
            None => 0,
            _ => match self.find(key) {
                Ok(i) => {
                    let v = &mut self.entries[i].1;
                    v.clear();
                    v.push_str(value);
                    return false;
                }
                Err(i) => i,
            },
        };
        self.put_at_len(key, value);
        // The new entry sits at `len`; move it to its place (it is there already when it sorts last).
        if at < self.len {
            self.entries[at..=self.len].rotate_right(1);
        }
        self.len += 1;
        true
    }

    /// Appends an entry whose key sorts after every key in the map, without comparing: for a reader whose
    /// columns' names it sorted once (see `focus::FocusLayout`). A key out of that order would break the map.
    pub(crate) fn push_greatest(&mut self, key: &str, value: &str) {
        debug_assert!(self.live().last().is_none_or(|(k, _)| k.as_str() < key), "{key:?} out of order");
        self.put_at_len(key, value);
        self.len += 1;
    }

    /// Writes an entry just past the live ones, into a kept buffer when there is one.
    fn put_at_len(&mut self, key: &str, value: &str) {
        if self.len == self.entries.len() {
            self.entries.push((key.to_string(), value.to_string()));
        } else {
            let (k, v) = &mut self.entries[self.len];
            k.clear();
            k.push_str(key);
            v.clear();
            v.push_str(value);
        }
    }

    /// Sets `key` to `value`, like `BTreeMap::insert` (without the old value).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        self.insert_str(key.as_ref(), value.as_ref());
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let v = self.entries[i].1.clone();
        self.entries[i..self.len].rotate_left(1);
        self.len -= 1;
        Some(v)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> + DoubleEndedIterator {
        self.live().iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> + DoubleEndedIterator {
        self.live().iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &String> + DoubleEndedIterator {
        self.live().iter().map(|(_, v)| v)
    }

    /// Writes the map as a JSON object (keys in order) onto `out`, as `serde_json` would.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.live().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_string(out, k);
            out.push(b':');
            json_string(out, v);
        }
        out.push(b'}');
    }
}

/// Appends `s` as a JSON string literal, escaped as `serde_json` escapes it.
pub fn json_string(out: &mut Vec<u8>, s: &str) {
    let mut rest = s.as_bytes();
    out.reserve(rest.len() + 2);
    out.push(b'"');
    // Runs with nothing to escape are copied whole; values holding JSON of their own escape a quote every few
    // bytes, so the next escape is found eight bytes at a time.
    while let Some(i) = next_escape(rest) {
        out.extend_from_slice(&rest[..i]);
        escape_byte(out, rest[i]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// The position of the first byte of `b` that JSON escapes (quote, backslash, control character).
fn next_escape(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let m = escape_mask(u64::from_le_bytes(eight(c)));
        if m != 0 {
            // The lowest flagged byte is exact (see `escape_mask`); the first in the text, little-endian.
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|&x| ESCAPE[x as usize]).map(|i| at + i)
}

fn eight(b: &[u8]) -> [u8; 8] {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    w
}

/// The bytes JSON escapes: quote, backslash and control characters.
static ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

fn escape_byte(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
    }
}

/// The high bit of each of eight bytes that is a quote, a backslash or a control character. A byte above a
/// flagged one may be flagged wrongly (a borrow carried into it), but the lowest flagged byte is always right,
/// and no flag means no such byte.
fn escape_mask(v: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below 0x20 (bytes of 0x80 and above are excluded by `!v`).
    let control = v.wrapping_sub(ONES * 0x20) & !v & HIGH;
    let zero_at = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    control | zero_at(v ^ (ONES * u64::from(b'"'))) | zero_at(v ^ (ONES * u64::from(b'\\')))
}

impl PartialEq for StrMap {
    fn eq(&self, other: &Self) -> bool {
        self.live() == other.live()
    }
}

impl Eq for StrMap {}

impl fmt::Debug for StrMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for StrMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = StrMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for StrMap {
    fn from(a: [(K, V); N]) -> Self {
        a.into_iter().collect()
    }
}

impl std::ops::Index<&str> for StrMap {
    type Output = String;
    fn index(&self, key: &str) -> &String {
        self.get(key).unwrap_or_else(|| panic!("no entry {key:?}"))
    }
}

impl<'a> IntoIterator for &'a StrMap {
    type Item = (&'a String, &'a String);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (String, String)>, fn(&'a (String, String)) -> Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        fn pair(e: &(String, String)) -> (&String, &String) {
            (&e.0, &e.1)
        }
        self.live().iter().map(pair as fn(&'a (String, String)) -> Self::Item)
    }
}

impl Serialize for StrMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for StrMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of text to text")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<StrMap, A::Error> {
                let mut m = StrMap::new();
                while let Some((k, v)) =
                    a.next_entry::<std::borrow::Cow<'de, str>, std::borrow::Cow<'de, str>>()?
                {
                    m.insert_str(&k, &v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Whatever the order of inserts, removals and clears, the map holds what a `BTreeMap` would, in the same
        /// order, and writes the same JSON.
        #[test]
        fn behaves_like_a_btreemap(ops in prop::collection::vec((0u8..8, "[a-e\"\\\\\u{1}é]{0,3}", "[a-z\"\n\u{7}\\\\é]{0,20}"), 0..60)) {
            let mut m = StrMap::new();
            let mut b: BTreeMap<String, String> = BTreeMap::new();
            for (op, k, v) in ops {
                match op {
                    0 => { m.clear(); b.clear(); }
                    1 => { prop_assert_eq!(m.remove(&k), b.remove(&k)); }
                    _ => { prop_assert_eq!(m.insert_str(&k, &v), b.insert(k.clone(), v.clone()).is_none()); }
                }
                let got: Vec<(&String, &String)> = m.iter().collect();
                let want: Vec<(&String, &String)> = b.iter().collect();
                prop_assert_eq!(got, want);
                prop_assert_eq!(m.len(), b.len());
                let mut json = Vec::new();
                m.write_json(&mut json);
                prop_assert_eq!(String::from_utf8(json).unwrap(), serde_json::to_string(&b).unwrap());
                prop_assert_eq!(serde_json::to_string(&m).unwrap(), serde_json::to_string(&b).unwrap());
            }
            let back: StrMap = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
            prop_assert_eq!(back, m);
        }

        /// Long text with escapes anywhere in its eight-byte words (every control character, quotes,
        /// backslashes, DEL and multi-byte characters among plain ones) is escaped as `serde_json` escapes it.
        #[test]
        fn escapes_like_serde_json(s in "([a-z0-9 ]{0,9}[\u{0}-\u{1f}\"\\\\\u{7f}é€😀]?){0,24}") {
            let mut out = b"x".to_vec();
            json_string(&mut out, &s);
            prop_assert_eq!(&out[..1], b"x");
            prop_assert_eq!(String::from_utf8(out[1..].to_vec()).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn refilling_reuses_the_buffers() {
        let mut m = StrMap::from([("b", "2"), ("a", "1")]);
        assert_eq!(m.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let before = m.entries[0].0.as_ptr();
        m.clear();
        assert!(m.is_empty() && m.get("a").is_none());
        m.insert("a", "x");
        assert_eq!(m.entries[0].0.as_ptr(), before, "the key's buffer is reused");
        assert_eq!(m["a"], "x");
    }
}
