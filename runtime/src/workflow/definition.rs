//! A state machine definition as written: ASL JSON, or the TOML form converted to it, with
//! enough source information to place diagnostics (`file:line:col` for TOML).

use std::collections::HashMap;

use serde_json::Value;

use super::convert;
use super::error::DefinitionError;

/// A parsed (not yet validated) definition.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The ASL JSON value.
    pub json: Value,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Json,
    Toml {
        file: String,
        text: String,
        /// JSON pointer → TOML pointer.
        pointers: HashMap<String, String>,
        /// TOML pointer → byte offset.
        spans: HashMap<String, usize>,
    },
}

impl Definition {
    /// Parses ASL JSON. It must be a JSON object.
    pub fn from_json(text: &str) -> Result<Definition, DefinitionError> {
        let json: Value =
            serde_json::from_str(text).map_err(|e| DefinitionError::Syntax(e.to_string()))?;
        if !json.is_object() {
            return Err(DefinitionError::Syntax(
                "Definition must be a valid JSON object".into(),
            ));
        }
        Ok(Definition {
            json,
            source: Source::Json,
        })
    }

    /// Parses the TOML form; `file` names the source in diagnostics.
    pub fn from_toml(text: &str, file: &str) -> Result<Definition, DefinitionError> {
        let (json, pointers) = convert::toml_to_asl_value(text)
            .map_err(|e| DefinitionError::Syntax(format!("{file}: {e}")))?;
        Ok(Definition {
            json,
            source: Source::Toml {
                file: file.to_string(),
                text: text.to_string(),
                pointers,
                spans: convert::toml_spans(text),
            },
        })
    }

    /// Renders a JSON-pointer location for humans: unchanged for JSON sources,
    /// `file:line:col` for TOML sources (the nearest enclosing key that has a position).
    pub fn locate(&self, pointer: &str) -> String {
        let Source::Toml {
            file,
            text,
            pointers,
            spans,
        } = &self.source
        else {
            return pointer.to_string();
        };
        let mut p = pointer.trim_end_matches('/').to_string();
        loop {
            if let Some(off) = pointers.get(&p).and_then(|tp| spans.get(tp)) {
                let before = &text[..(*off).min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                return format!("{file}:{line}:{col}");
            }
            match p.rfind('/') {
                Some(i) if !p.is_empty() => p.truncate(i),
                _ => return format!("{file}:1:1"),
            }
        }
    }
}
