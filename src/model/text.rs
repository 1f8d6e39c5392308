//! Text the cluster keeps must be text every front can carry.
//!
//! XML 1.0 has no way to write most control characters (not even as `&#1;`), so one value holding
//! `\x02` makes every ZAPI answer that lists it unreadable to strict readers (Go's `encoding/xml`,
//! expat) for every client of the cluster. ONTAP refuses such input; so does the model, once for
//! every string field: after each operation the records it wrote are scanned (see
//! [`Cluster::check_changed_text`]), and a saved state holding such text is refused naming the
//! record. Error texts show refused characters escaped (`\u{2}`), never raw.

use super::{Cluster, ModelError};
use serde::Serialize;
use std::fmt::Write as _;

/// A character XML 1.0 cannot carry (C0 controls other than tab, line feed and carriage return;
/// U+FFFE and U+FFFF). Surrogates cannot occur in a Rust string.
pub fn forbidden(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\u{fffe}' | '\u{ffff}')
}

/// A control character (any C0 character, DEL or a C1 control): refused in names and paths,
/// where not even a tab or a line end belongs.
pub fn control(c: char) -> bool {
    c.is_control() || forbidden(c)
}

/// `s` for an error text: every control character or character XML cannot carry shown as
/// `\u{..}`, so a message never echoes raw bytes.
pub fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if control(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Refuse a value holding a character XML cannot carry, naming the field.
pub fn check_field(field: &str, value: &str) -> Result<(), ModelError> {
    match value.chars().find(|c| forbidden(*c)) {
        None => Ok(()),
        Some(c) => Err(ModelError::InvalidInput(format!(
            "Invalid value specified for \"{field}\": \"{}\" holds the control character U+{:04X}, which is not allowed",
            shown(value),
            c as u32
        ))),
    }
}

/// Refuse a name or path holding any control character (tab and line ends included).
pub fn check_name(field: &str, value: &str) -> Result<(), ModelError> {
    match value.chars().find(|c| control(*c)) {
        None => Ok(()),
        Some(c) => Err(ModelError::InvalidInput(format!(
            "Invalid value specified for \"{field}\": \"{}\" holds the control character U+{:04X}, which is not allowed",
            shown(value),
            c as u32
        ))),
    }
}

/// The first string in `value` (at any depth, map keys included) holding a character XML cannot
/// carry: the field's path (`snapshots.s1.comment`) and the character. Scans the record's JSON
/// form as it is written, without building it; only a record that fails is walked again to name
/// the field.
pub fn first_forbidden<T: Serialize + ?Sized>(value: &T) -> Option<(String, char)> {
    let mut scan = Scan::default();
    if serde_json::to_writer(&mut scan, value).is_ok() && !scan.found {
        return None;
    }
    let tree = serde_json::to_value(value).ok()?;
    let mut path = Vec::new();
    find_in(&tree, &mut path).map(|c| (path.join("."), c))
}

fn find_in(v: &serde_json::Value, path: &mut Vec<String>) -> Option<char> {
    use serde_json::Value;
    match v {
        Value::String(s) => s.chars().find(|c| forbidden(*c)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            path.push(i.to_string());
            let hit = find_in(item, path);
            if hit.is_none() {
                path.pop();
            }
            hit
        }),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            path.push(shown(k).into_owned());
            if let Some(c) = k.chars().find(|c| forbidden(*c)) {
                return Some(c);
            }
            let hit = find_in(item, path);
            if hit.is_none() {
                path.pop();
            }
            hit
        }),
        _ => None,
    }
}

/// Scan raw JSON text (a saved record's line) for a string holding a character XML cannot
/// carry: an escape `\u00XX` of a forbidden control, `\b`, `\f`, or U+FFFE / U+FFFF. Linear,
/// with no allocation; false only when the text is clean.
pub fn json_has_forbidden(json: &[u8]) -> bool {
    let mut scan = Scan::default();
    scan.feed(json);
    scan.found
}

/// A byte sink that follows JSON escapes across writes and notes a forbidden character.
#[derive(Default)]
struct Scan {
    found: bool,
    /// Bytes of an escape seen so far (after the backslash), up to `\uXXXX`.
    escape: Option<([u8; 5], usize)>,
    /// The first bytes of U+FFFE / U+FFFF (EF BF) seen at the end of the last write.
    utf8: usize,
}

impl Scan {
    fn feed(&mut self, buf: &[u8]) {
        for &b in buf {
            if self.found {
                return;
            }
            // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
            self.utf8 = match (self.utf8, b) {
                (_, 0xEF) => 1,
                (1, 0xBF) => 2,
                (2, 0xBE | 0xBF) => {
                    self.found = true;
                    0
                }
                _ => 0,
            };
            if let Some((mut esc, n)) = self.escape.take() {
                esc[n] = b;
                let n = n + 1;
                match esc[0] {
                    b'b' | b'f' => self.found = true,
                    b'u' if n < 5 => self.escape = Some((esc, n)),
                    b'u' => {
                        let code = std::str::from_utf8(&esc[1..5])
                            .ok()
                            .and_then(|h| u32::from_str_radix(h, 16).ok());
                        if let Some(code) = code {
                            self.found = code == 0xFFFE
                                || code == 0xFFFF
                                || char::from_u32(code).is_some_and(forbidden);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if b == b'\\' {
                self.escape = Some(([0; 5], 0));
            } else if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
                // Raw in a JSON string is not valid JSON either; noted all the same.
                self.found = true;
            }
        }
    }
}

impl std::io::Write for Scan {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.feed(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The refusal for a record holding a forbidden character: names the record and the field.
pub fn record_error(record: &str, field: &str, c: char) -> ModelError {
    ModelError::InvalidInput(format!(
        "Invalid value specified for \"{field}\" of {record}: the control character U+{:04X} is not allowed",
        c as u32
    ))
}

/// An object in words, for messages (`volume "vol1" in Vserver "svm1"`), its names shown
/// escaped: the operation check here and the saved-state check in `store` say the same.
pub trait Described {
    fn described(&self) -> String;
}

impl Described for super::identity::Identity {
    fn described(&self) -> String {
        format!("the identity of cluster \"{}\"", shown(&self.name))
    }
}

impl Described for super::license::License {
    fn described(&self) -> String {
        format!("license \"{}\"", shown(&self.package))
    }
}

impl Described for super::Svm {
    fn described(&self) -> String {
        format!("Vserver \"{}\"", shown(&self.name))
    }
}

impl Described for super::Volume {
    fn described(&self) -> String {
        format!(
            "volume \"{}\" in Vserver \"{}\"",
            shown(&self.name),
            shown(&self.svm)
        )
    }
}

impl Described for super::ExportPolicy {
    fn described(&self) -> String {
        format!(
            "export policy \"{}\" in Vserver \"{}\"",
            shown(&self.name),
            shown(&self.svm)
        )
    }
}

impl Described for super::Qtree {
    fn described(&self) -> String {
        format!(
            "qtree \"{}\" of volume \"{}\" in Vserver \"{}\"",
            shown(&self.name),
            shown(&self.volume),
            shown(&self.svm)
        )
    }
}

impl Described for super::Job {
    fn described(&self) -> String {
        format!("job {}", self.id)
    }
}

impl Described for super::RecoveryEntry {
    fn described(&self) -> String {
        format!(
            "recovery-queue entry \"{}\" in Vserver \"{}\"",
            shown(&self.name),
            shown(&self.svm)
        )
    }
}

impl Described for super::QuotaRule {
    fn described(&self) -> String {
        format!(
            "quota rule for \"{}\" on volume \"{}\" in Vserver \"{}\"",
            shown(&self.target),
            shown(&self.volume),
            shown(&self.svm)
        )
    }
}

impl Described for super::User {
    fn described(&self) -> String {
        match &self.scope {
            super::Scope::Cluster => format!("user \"{}\"", shown(&self.name)),
            super::Scope::Svm(s) => {
                format!("user \"{}\" in Vserver \"{}\"", shown(&self.name), shown(s))
            }
        }
    }
}

impl Described for super::Role {
    fn described(&self) -> String {
        match &self.scope {
            super::Scope::Cluster => format!("role \"{}\"", shown(&self.name)),
            super::Scope::Svm(s) => {
                format!("role \"{}\" in Vserver \"{}\"", shown(&self.name), shown(s))
            }
        }
    }
}

impl Cluster {
    /// Refuse the operation in progress when a record it wrote holds text XML cannot carry. One
    /// check behind every operation covers every string field of every object, present and to
    /// come; the operations' own checks give the more specific messages first.
    pub fn check_changed_text(&self) -> Result<(), ModelError> {
        fn table<K: Ord + Clone, V: Clone + Serialize + Described>(
            t: &super::table::Table<K, V>,
        ) -> Result<(), ModelError> {
            for (_, v) in t.changed() {
                if let Some(v) = v {
                    if let Some((field, c)) = first_forbidden(v) {
                        return Err(record_error(&v.described(), &field, c));
                    }
                }
            }
            Ok(())
        }
        table(&self.svms)?;
        table(&self.identity)?;
        table(&self.licenses)?;
        table(&self.volumes)?;
        table(&self.export_policies)?;
        table(&self.qtrees)?;
        table(&self.jobs)?;
        table(&self.recovery_queue)?;
        table(&self.quota_rules)?;
        table(&self.roles)?;
        for (_, u) in self.users.changed() {
            if let Some(u) = u {
                if let Some((field, c)) = first_forbidden(&**u) {
                    return Err(record_error(&u.described(), &field, c));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_is_what_xml_1_0_refuses() {
        for c in [
            '\0', '\x01', '\x08', '\x0b', '\x0c', '\x0e', '\x1b', '\x1f', '\u{fffe}', '\u{ffff}',
        ] {
            assert!(forbidden(c), "{c:?}");
        }
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            'a',
            '\x7f',
            '\u{85}',
            'é',
            '\u{fffd}',
            '\u{10000}',
        ] {
            assert!(!forbidden(c), "{c:?}");
        }
        assert!(control('\t') && control('\x7f') && !control('a'));
    }

    #[test]
    fn shown_escapes_controls() {
        assert_eq!(shown("a\x02b\x7f"), "a\\u{2}b\\u{7f}");
        assert_eq!(shown("/vol1"), "/vol1");
    }

    #[test]
    fn json_scan_finds_escaped_controls_only_in_strings() {
        let clean = serde_json::json!({"a": "x\ty\nz\\u0001", "b": ["\u{7f}", "é"], "c": 1});
        assert!(!json_has_forbidden(clean.to_string().as_bytes()));
        for bad in [
            "a\u{0}b", "\x02", "x\x08", "\x0c", "\u{fffe}", "\u{ffff}", "\x1b[0m",
        ] {
            let doc = serde_json::json!({"k": [1, {"v": bad}]}).to_string();
            assert!(json_has_forbidden(doc.as_bytes()), "{doc}");
            assert_eq!(
                first_forbidden(&serde_json::json!({"k": [1, {"v": bad}]})),
                Some((
                    "k.1.v".to_string(),
                    bad.chars().find(|c| forbidden(*c)).unwrap()
                ))
            );
        }
        // Written by hand rather than by serde_json.
        assert!(json_has_forbidden(br#"{"k":"\u001B"}"#));
        assert!(json_has_forbidden(br#"{"k":"\uFFFF"}"#));
        assert!(!json_has_forbidden(br#"{"k":"\\u001B"}"#));
    }
}
