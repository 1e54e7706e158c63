//! `[workflows.NAME]`: state machines declared in config, loaded from their TOML or ASL JSON
//! files and checked (including that every Task names a known function) before start-up.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::error::Errors;
use super::schema::WorkflowSection;
use super::WorkflowDecl;
use crate::workflow::{validate, Definition, DefinitionError, MachineType};

pub(super) fn resolve(
    sections: &BTreeMap<String, Spanned<WorkflowSection>>,
    config_file: &str,
    exists: &dyn Fn(&str) -> bool,
    errors: &mut Errors<'_>,
) -> BTreeMap<String, WorkflowDecl> {
    let base = Path::new(config_file).parent().unwrap_or(Path::new("."));
    let mut out = BTreeMap::new();
    for (name, section) in sections {
        let section = section.get_ref();
        let at = Some(section.definition.span().start);
        let kind = match &section.kind {
            None => MachineType::Standard,
            Some(k) => match MachineType::parse(k.get_ref()) {
                Some(kind) => kind,
                None => {
                    errors.at(Some(k.span().start), format!("workflow `{name}`: `type = \"{}\"` must be \"STANDARD\" or \"EXPRESS\"", k.get_ref()));
                    continue;
                }
            },
        };
        let path = base.join(section.definition.get_ref());
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                errors.at(at, format!("workflow `{name}`: cannot read `{shown}`: {e}"));
                continue;
            }
        };
        let parsed = if shown.ends_with(".toml") {
            Definition::from_toml(&text, &shown)
        } else {
            Definition::from_json(&text)
        };
        let checked = parsed.and_then(|def| validate::check(&def, Some(exists)).map(|_| def));
        match checked {
            Ok(def) => {
                out.insert(
                    name.clone(),
                    WorkflowDecl {
                        name: name.clone(),
                        kind,
                        definition: def.json.to_string(),
                    },
                );
            }
            Err(DefinitionError::Syntax(message)) => {
                errors.at(at, format!("workflow `{name}`: {shown}: {message}"))
            }
            Err(DefinitionError::Invalid(diagnostics)) => {
                for d in diagnostics {
                    errors.at(at, format!("workflow `{name}`: {shown}: {d}"));
                }
            }
        }
    }
    out
}
