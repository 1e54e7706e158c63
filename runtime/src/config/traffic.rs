//! gateway.toml → [`TrafficConfig`]: `[throttle]`, `[[api_keys]]`, `[[usage_plans]]`, stage
//! `throttle` and route `throttle` / `api_key_required`, with every problem the traffic
//! library finds reported at its file:line:col.
//!
//! Positions come from a second, span-keeping parse of the same source (`toml::de::DeTable`):
//! each [`crate::traffic::ConfigIssue`] path is translated to where the value is written in
//! gateway.toml and looked up there, so the schema can reuse the library's types unchanged.

use std::collections::{BTreeMap, HashSet};

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::error::Errors;
use super::schema::File;
use super::RouteKey;
use crate::traffic::{StageThrottleConfig, TrafficConfig};

/// Where a generated `stages[i]` entry of the traffic config is written in gateway.toml.
#[derive(Default)]
struct StageOrigin {
    /// `apis.NAME.stages.STAGE.throttle`.
    throttle: String,
    /// Route key → `apis.NAME.routes[j].throttle`.
    routes: BTreeMap<String, String>,
}

/// Builds the traffic config from the parsed file, checks it, and records every problem.
pub(super) fn resolve(
    parsed: &File,
    source: &str,
    api_id: impl Fn(&str) -> String,
    errors: &mut Errors<'_>,
) -> TrafficConfig {
    let mut origins = Vec::new();
    let mut stages = Vec::new();
    // Route keys of each API as written, by API name, for checking plan route throttles.
    let mut routes_by_api: BTreeMap<&str, HashSet<String>> = BTreeMap::new();
    let mut stages_by_api: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, section) in &parsed.apis {
        let section = section.get_ref();
        let mut stage_names: Vec<String> = section.stages.keys().cloned().collect();
        if stage_names.is_empty() && section.kind.get_ref() == "http" {
            stage_names.push("$default".into());
        }
        let mut route_throttles = BTreeMap::new();
        let mut route_paths = BTreeMap::new();
        let keys = routes_by_api.entry(name).or_default();
        for (j, route) in section.routes.iter().enumerate() {
            let Ok(key) = RouteKey::parse(route.route.get_ref()) else {
                continue; // reported by the API's own resolution
            };
            keys.insert(key.text.clone());
            if let Some(t) = route.throttle {
                route_paths.insert(
                    key.text.clone(),
                    format!("apis.{name}.routes[{j}].throttle"),
                );
                route_throttles.insert(key.text, t);
            }
        }
        for stage in &stage_names {
            let throttle = section.stages.get(stage).and_then(|s| s.throttle);
            if throttle.is_none() && route_throttles.is_empty() {
                continue;
            }
            stages.push(StageThrottleConfig {
                api: api_id(name),
                stage: stage.clone(),
                throttle,
                routes: route_throttles.clone(),
            });
            origins.push(StageOrigin {
                throttle: format!("apis.{name}.stages.{stage}.throttle"),
                routes: route_paths.clone(),
            });
        }
        stages_by_api.insert(name, stage_names);
    }
    let mut usage_plans = parsed.usage_plans.clone();
    let spans = DeTable::parse(source).ok();
    let mut report = |path: &str, message: String| {
        let at = spans.as_ref().map(|t| span_of(t, path));
        errors.at(at, format!("{path}: {message}"));
    };
    // Plans name APIs as written in gateway.toml; the runtime matches on API ids.
    for (i, plan) in usage_plans.iter_mut().enumerate() {
        for (j, s) in plan.stages.iter_mut().enumerate() {
            let path = format!("usage_plans[{i}].stages[{j}]");
            let Some(known) = stages_by_api.get(s.api.as_str()) else {
                report(&format!("{path}.api"), format!("unknown api `{}`", s.api));
                continue;
            };
            if !known.contains(&s.stage) {
                report(
                    &format!("{path}.stage"),
                    format!(
                        "api `{}` has no stage `{}` (stages: {})",
                        s.api,
                        s.stage,
                        known.join(", ")
                    ),
                );
            }
            let routes = routes_by_api.get(s.api.as_str());
            for route in s.throttle.keys() {
                if routes.is_some_and(|r| !r.contains(route.trim())) {
                    report(
                        &format!("{path}.throttle.\"{route}\""),
                        format!("api `{}` has no route `{route}`", s.api),
                    );
                }
            }
            s.api = api_id(&s.api);
        }
    }
    let config = TrafficConfig {
        account_throttle: parsed.throttle,
        stages,
        api_keys: parsed.api_keys.clone(),
        usage_plans,
    };
    if let Err(issues) = config.validate() {
        let mut seen = HashSet::new();
        for issue in issues {
            let path = translate(&issue.path, &origins);
            // A route throttle is copied into every stage of its API: report it once.
            if seen.insert((path.clone(), issue.message.clone())) {
                report(&path, issue.message);
            }
        }
    }
    config
}

/// Maps a path in [`TrafficConfig`] to the path of the same value in gateway.toml.
fn translate(path: &str, origins: &[StageOrigin]) -> String {
    if let Some(rest) = path.strip_prefix("account_throttle") {
        return format!("throttle{rest}");
    }
    let Some(rest) = path.strip_prefix("stages[") else {
        return path.to_owned();
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return path.to_owned();
    };
    let Some(origin) = index.parse::<usize>().ok().and_then(|i| origins.get(i)) else {
        return path.to_owned();
    };
    if let Some(rest) = rest.strip_prefix(".throttle") {
        return format!("{}{rest}", origin.throttle);
    }
    if let Some(quoted) = rest.strip_prefix(".routes.\"") {
        if let Some((route, rest)) = quoted.split_once('"') {
            if let Some(at) = origin.routes.get(route) {
                return format!("{at}{rest}");
            }
        }
    }
    path.to_owned()
}

/// One step of a path like `usage_plans[0].stages[1].throttle."GET /x".rate_limit`.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut chars = path.chars().peekable();
    let mut key = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    key.push(c);
                }
            }
            '.' | '[' => {
                if !key.is_empty() {
                    out.push(Step::Key(std::mem::take(&mut key)));
                }
                if c == '[' {
                    let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                    out.extend(digits.parse().ok().map(Step::Index));
                }
            }
            c => key.push(c),
        }
    }
    if !key.is_empty() {
        out.push(Step::Key(key));
    }
    out
}

/// The byte offset where the value at `path` is written; the deepest existing parent's when
/// the value itself is absent (a missing field, a default).
fn span_of(root: &Spanned<DeTable<'_>>, path: &str) -> usize {
    let mut at = root.span().start;
    let mut table = Some(root.get_ref());
    let mut array: Option<&DeArray<'_>> = None;
    for step in steps(path) {
        let value = match (&step, table, array) {
            (Step::Key(k), Some(t), _) => t
                .iter()
                .find(|(name, _)| name.get_ref().as_ref() == k.as_str())
                .map(|(_, v)| v),
            (Step::Index(i), _, Some(a)) => a.get(*i),
            _ => None,
        };
        let Some(value) = value else {
            break;
        };
        at = value.span().start;
        (table, array) = match value.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(a) => (None, Some(a)),
            _ => (None, None),
        };
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(
            steps("usage_plans[0].stages[1].throttle.\"GET /x.y\".rate_limit"),
            vec![
                Step::Key("usage_plans".into()),
                Step::Index(0),
                Step::Key("stages".into()),
                Step::Index(1),
                Step::Key("throttle".into()),
                Step::Key("GET /x.y".into()),
                Step::Key("rate_limit".into()),
            ]
        );
    }

    #[test]
    fn spans_point_at_the_value() {
        let src = "[[usage_plans]]\nid = \"p\"\nquota = { limit = 5, period = \"YEAR\" }\n";
        let table = DeTable::parse(src).unwrap();
        let at = span_of(&table, "usage_plans[0].quota.period");
        assert_eq!(&src[at..at + 6], "\"YEAR\"");
        // A missing value falls back to its deepest parent.
        let at = span_of(&table, "usage_plans[0].quota.offset");
        assert_eq!(&src[at..at + 1], "{");
    }
}
