//! OLPC canonical JSON, the form TUF signs `signed` in (securesystemslib's
//! `encode_canonical`): object keys sorted by their UTF-8 bytes, no
//! whitespace, strings escaping only `"` and `\`, and integers only.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotCanonical(pub String);

/// Encodes `value` canonically.
pub fn encode(value: &Value) -> Result<Vec<u8>, NotCanonical> {
    let mut out = Vec::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), NotCanonical> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(NotCanonical(format!(
                    "{n} is not an integer, and canonical JSON has only integers"
                )));
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                if let Some(item) = map.get(key) {
                    write(item, out)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for byte in s.bytes() {
        if byte == b'"' || byte == b'\\' {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> Result<String, NotCanonical> {
        let value: Value = serde_json::from_str(text).map_err(|e| NotCanonical(e.to_string()))?;
        encode(&value).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(
            canonical(r#"{ "b": [1, true, null], "a": {"d": -2, "c": "x"} }"#),
            Ok(r#"{"a":{"c":"x","d":-2},"b":[1,true,null]}"#.to_owned())
        );
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        assert_eq!(
            canonical(r#"{"k": "a\"b\\c\nd\u00e9"}"#),
            Ok("{\"k\":\"a\\\"b\\\\c\nd\u{e9}\"}".to_owned())
        );
    }

    #[test]
    fn refuses_floats() {
        assert!(canonical(r#"{"version": 1.5}"#).is_err());
    }
}
