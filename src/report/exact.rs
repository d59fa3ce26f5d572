//! Exact integers through `serde_json::Value`: the report reads each command's JSON into a
//! `Value`, and `whatif --all` counts beyond 64 bits (32 nodes: about 4.2e29 scenarios),
//! which a plain `Value` would turn into an `f64` (rounded, and shown as 0 by the page).
//!
//! Owns [`parse`], which keeps every integer literal too large for `u64`/`i64` as a string
//! with a private marker, [`integer`], which reads such a number (or a plain one) back
//! exactly, and [`serialize`], which writes the marked strings as JSON integers again, so
//! that the report's `--format json` holds the command's numbers digit for digit. It must
//! not change any other value (strings, floats and small integers pass as they are).
//! (serde_json's `arbitrary_precision` feature would do this for every `Value` in the
//! workspace, and it breaks internally tagged enums elsewhere, e.g. the apply journal.)

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The prefix of a string that stands for an integer literal too large for `Value`'s
/// numbers (a private-use character: no command prints it in a string).
const MARKER: char = '\u{F8FF}';

/// Parses `bytes` as JSON, keeping integers beyond 64 bits exact (as marked strings).
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let text = String::from_utf8_lossy(bytes);
    serde_json::from_str(&mark_large_integers(&text))
}

/// `text` with every integer literal outside strings that does not fit `u64` or `i64`
/// quoted and marked.
fn mark_large_integers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut in_string = false;
    let mut escaped = false;
    while let Some((start, char)) = chars.next() {
        if in_string {
            out.push(char);
            match (escaped, char) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if char == '"' {
            in_string = true;
            out.push(char);
            // A string that itself starts with the marker gets a second one (`Exact`
            // removes it), so that it is never read as a number.
            if chars.peek().is_some_and(|(_, next)| *next == MARKER) {
                out.push(MARKER);
            }
            continue;
        }
        if char != '-' && !char.is_ascii_digit() {
            out.push(char);
            continue;
        }
        let mut end = start + char.len_utf8();
        while let Some((index, next)) = chars.peek() {
            if next.is_ascii_digit() || matches!(next, '.' | 'e' | 'E' | '+' | '-') {
                end = index + next.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let token = &text[start..end];
        let integer = token.bytes().all(|byte| byte == b'-' || byte.is_ascii_digit());
        let fits = token.parse::<u64>().is_ok() || token.parse::<i64>().is_ok();
        if integer && !fits && (token.parse::<u128>().is_ok() || token.parse::<i128>().is_ok()) {
            out.push('"');
            out.push(MARKER);
            out.push_str(token);
            out.push('"');
        } else {
            out.push_str(token);
        }
    }
    out
}

/// The exact value of a JSON integer `value` read by [`parse`] (plain or marked); `None` for
/// anything else (absent, negative, a float, text).
pub fn integer(value: Option<&Value>) -> Option<u128> {
    match value? {
        Value::Number(number) => number.as_u64().map(u128::from),
        Value::String(text) => text.strip_prefix(MARKER)?.parse().ok(),
        _ => None,
    }
}

/// The value [`parse`] read, as the command printed it: marked strings written as integers.
struct Exact<'a>(&'a Value);

impl Serialize for Exact<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::String(text) => match text.strip_prefix(MARKER) {
                Some(escaped) if escaped.starts_with(MARKER) => serializer.serialize_str(escaped),
                Some(digits) => match (digits.parse::<u128>(), digits.parse::<i128>()) {
                    (Ok(unsigned), _) => serializer.serialize_u128(unsigned),
                    (_, Ok(signed)) => serializer.serialize_i128(signed),
                    _ => serializer.serialize_str(text),
                },
                None => serializer.serialize_str(text),
            },
            Value::Array(values) => {
                let mut seq = serializer.serialize_seq(Some(values.len()))?;
                for value in values {
                    seq.serialize_element(&Exact(value))?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut object = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    object.serialize_entry(key, &Exact(value))?;
                }
                object.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// `serialize_with` for a `Value` read by [`parse`].
pub fn serialize<S: Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    Exact(value).serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_integers_survive_a_round_trip_and_nothing_else_changes() {
        let text = r#"{"total": 415546952675731939725005677485, "small": 18446744073709551615, "negative": -170141183460469231731687303715884105728, "float": 1.5e3, "text": "a \"1234567890123456789012345\" b", "list": [1, 340282366920938463463374607431768211455]}"#;
        let value = parse(text.as_bytes()).unwrap();
        assert_eq!(
            integer(value.get("total")),
            Some(415_546_952_675_731_939_725_005_677_485)
        );
        assert_eq!(integer(value.get("small")), Some(u128::from(u64::MAX)));
        assert_eq!(integer(value.pointer("/list/1")), Some(u128::MAX));
        assert_eq!(integer(value.get("float")), None);
        assert_eq!(
            value.get("text").and_then(Value::as_str),
            Some("a \"1234567890123456789012345\" b")
        );
        struct Wrapped<'a>(&'a Value);
        impl Serialize for Wrapped<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                super::serialize(self.0, serializer)
            }
        }
        let written = serde_json::to_string(&Wrapped(&value)).unwrap();
        assert!(
            written.contains("\"total\":415546952675731939725005677485"),
            "{written}"
        );
        assert!(written.contains("\"negative\":-170141183460469231731687303715884105728"));
        assert!(written.contains("340282366920938463463374607431768211455]"));
        assert!(written.contains("\"float\":1500.0"), "{written}");
        assert!(written.contains(r#""text":"a \"1234567890123456789012345\" b""#));
        assert!(!written.contains(MARKER));
        // A string that starts with the marker stays that string.
        let odd = format!("{{\"name\": \"{MARKER}12345678901234567890123\"}}");
        let value = parse(odd.as_bytes()).unwrap();
        assert_eq!(integer(value.get("name")), None);
        assert_eq!(
            serde_json::to_string(&Wrapped(&value)).unwrap(),
            odd.replace(' ', "")
        );
    }
}
