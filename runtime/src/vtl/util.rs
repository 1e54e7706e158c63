//! `$util.*`: the functions API Gateway's mapping templates offer.

use base64::Engine;
use serde_json::Value;

use super::RenderError;

/// Calls `$util.name(args)`.
pub(super) fn call(name: &str, args: &[Value]) -> Result<Value, RenderError> {
    let text = |i: usize| -> Result<String, RenderError> {
        match args.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Null) | None => Err(RenderError::Call(format!(
                "$util.{name} needs a string argument"
            ))),
            Some(other) => Ok(other.to_string()),
        }
    };
    const KNOWN: [&str; 6] = [
        "escapeJavaScript",
        "parseJson",
        "urlEncode",
        "urlDecode",
        "base64Encode",
        "base64Decode",
    ];
    // As Java's helpers answer null for null, and Velocity then renders the reference as
    // written (or nothing with `$!`): an absent field is not a failed request.
    if KNOWN.contains(&name) && matches!(args.first(), None | Some(Value::Null)) {
        return Ok(Value::Null);
    }
    Ok(match name {
        "escapeJavaScript" => Value::String(escape_javascript(&text(0)?)),
        "parseJson" => serde_json::from_str(&text(0)?)
            .map_err(|e| RenderError::Call(format!("$util.parseJson: {e}")))?,
        "urlEncode" => {
            Value::String(form_urlencoded::byte_serialize(text(0)?.as_bytes()).collect())
        }
        "urlDecode" => {
            let t = text(0)?.replace('+', " ");
            Value::String(
                percent_encoding::percent_decode_str(&t)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        }
        "base64Encode" => Value::String(base64::engine::general_purpose::STANDARD.encode(text(0)?)),
        "base64Decode" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text(0)?.trim())
                .map_err(|e| RenderError::Call(format!("$util.base64Decode: {e}")))?;
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        }
        other => return Err(RenderError::Call(format!("unknown function $util.{other}"))),
    })
}

/// As Java's `StringEscapeUtils.escapeJavaScript`, which API Gateway uses.
pub(super) fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}
