//! `[apis.NAME] openapi = "file.json"`: the API's routes, authorizers and API key source
//! come from an OpenAPI 3 file, imported at load; its problems are config errors placed at
//! the `openapi` key, each naming the path and method in the file.

use std::path::Path;

use toml::Spanned;

use super::error::Errors;
use super::schema::{ApiSection, File};

/// The definitions imported for one API.
pub(super) struct ImportedSection {
    /// The imported section: routes, authorizers, API key source, stages from `servers`.
    pub section: ApiSection,
    /// Where the `openapi` key is in the config file.
    pub at: usize,
    /// The file as named in errors.
    pub shown: String,
}

/// Imports the API's OpenAPI file, if it names one. `Err` when errors were recorded.
pub(super) fn load(
    name: &str,
    section: &Spanned<ApiSection>,
    config_file: &str,
    exists: &dyn Fn(&str) -> bool,
    errors: &mut Errors<'_>,
) -> Result<Option<ImportedSection>, ()> {
    let Some(openapi) = &section.get_ref().openapi else {
        return Ok(None);
    };
    let at = openapi.span().start;
    let own = section.get_ref();
    let mut clash = Vec::new();
    if !own.routes.is_empty() {
        clash.push("routes");
    }
    if !own.authorizers.is_empty() {
        clash.push("authorizers");
    }
    if own.api_key_source.is_some() {
        clash.push("api_key_source");
    }
    if !clash.is_empty() {
        errors.at(
            Some(at),
            format!(
                "api `{name}`: {} come from the OpenAPI file; remove them here or drop `openapi`",
                clash.join(", ")
            ),
        );
        return Err(());
    }
    let base = Path::new(config_file).parent().unwrap_or(Path::new("."));
    let path = base.join(openapi.get_ref());
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            errors.at(
                Some(at),
                format!("api `{name}`: cannot read `{shown}`: {e}"),
            );
            return Err(());
        }
    };
    let imported = match crate::openapi::import(&text, &shown, exists) {
        Ok(imported) => imported,
        Err(problems) => {
            for problem in problems.0 {
                errors.at(Some(at), format!("api `{name}`: {problem}"));
            }
            return Err(());
        }
    };
    let imported_kind = imported.section.get("type").and_then(|t| t.as_str());
    // Only a definite HTTP API (payload 2.0) clashes: a file without payload versions fits both.
    if imported_kind == Some("http") && own.kind.get_ref() != "http" {
        errors.at(Some(own.kind.span().start), format!("api `{name}`: `type = \"{}\"`, but `{shown}` defines a {} API (payloadFormatVersion {})", own.kind.get_ref(), imported_kind.unwrap_or(""), if imported_kind == Some("http") { "2.0" } else { "1.0" }));
        return Err(());
    }
    let generated = imported.to_toml(name);
    let parsed = toml::from_str::<File>(&generated).map_err(|e| e.message().to_owned());
    match parsed.map(|mut f| f.apis.remove(name)) {
        Ok(Some(section)) => Ok(Some(ImportedSection {
            section: section.into_inner(),
            at,
            shown,
        })),
        Ok(None) => Err(()),
        Err(e) => {
            errors.at(Some(at), format!("api `{name}`: `{shown}`: {e}"));
            Err(())
        }
    }
}
