//! Turns the file as written into a [`Config`], collecting every error on the way.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use toml::Spanned;

use super::error::Errors;
use super::schema::{self, File};
use super::{
    parse_duration, Api, ApiKind, Config, ConfigErrors, FunctionDecl, Logs, Route, RouteKey,
    Server, Stage, Target,
};
use crate::invoke::Registry;

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;
const DEFAULT_DATA_DIR: &str = ".portico";
const DEFAULT_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

pub(super) fn resolve(
    source: &str,
    file: &str,
    registry: &Registry,
) -> Result<Config, ConfigErrors> {
    let mut errors = Errors::new(file, source);
    let parsed: File = match toml::from_str(source) {
        Ok(parsed) => parsed,
        Err(e) => {
            errors.at(e.span().map(|s| s.start), e.message().trim().to_owned());
            return Err(ConfigErrors(errors.list));
        }
    };
    let mut server = resolve_server(&parsed.server, &mut errors);
    if let (Some(server), Some(tls)) = (server.as_mut(), &parsed.server.tls) {
        server.tls = super::tls::load(tls.get_ref(), "[server.tls]", file, &mut errors);
    }
    let account_concurrency = super::function::account_concurrency(&parsed.lambda, &mut errors);
    let otlp_endpoint =
        super::observability::resolve_otlp(parsed.logs.otlp_endpoint.as_ref(), &mut errors);
    let logs = Logs {
        stdout: parsed.logs.stdout.unwrap_or(true),
        access_log: parsed.logs.access_log.unwrap_or(true),
        metrics: parsed.logs.metrics.unwrap_or(true),
        traces: parsed.logs.traces.unwrap_or(false) || otlp_endpoint.is_some(),
        otlp_endpoint,
        emf: super::observability::resolve_emf(
            parsed.logs.emf.as_ref(),
            parsed.logs.metrics.unwrap_or(true),
            &mut errors,
        ),
    };
    let mut functions = BTreeMap::new();
    for (name, section) in &parsed.functions {
        let start = section.span().start;
        if let Some(decl) = super::function::resolve_function(
            name,
            section.get_ref(),
            start,
            &parsed.logs,
            registry,
            &mut errors,
        ) {
            functions.insert(name.clone(), decl);
        }
    }
    let exists = |f: &str| functions.contains_key(f) || registry.contains(f);
    let workflows = super::workflows::resolve(&parsed.workflows, file, &exists, &mut errors);
    super::function::check_destinations(&parsed.functions, &functions, registry, &mut errors);
    let mut apis = Vec::new();
    for (name, section) in &parsed.apis {
        let Ok(imported) = super::openapi_source::load(name, section, file, &exists, &mut errors)
        else {
            continue;
        };
        let api = resolve_api(
            name,
            section,
            imported.as_ref(),
            &functions,
            &workflows,
            registry,
            file,
            &mut errors,
        );
        apis.extend(api);
    }
    check_mounts(&apis, &parsed.apis, &mut errors);
    let traffic = super::traffic::resolve(&parsed, source, api_id, &mut errors);
    let domains = super::domains::resolve(&parsed.domains, &apis, file, &mut errors);
    let store = super::store::resolve(&parsed.store, file, &mut errors);
    if errors.list.is_empty() {
        Ok(Config {
            server: server.unwrap_or_else(unreachable_server),
            logs,
            account_concurrency,
            functions,
            apis,
            workflows,
            traffic,
            domains,
            source: std::sync::Arc::from(source),
            file: std::sync::Arc::from(file),
            store,
        })
    } else {
        let mut list = errors.list;
        list.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(list))
    }
}

fn unreachable_server() -> Server {
    // Only reached when no error was recorded, in which case the server resolved.
    Server {
        listen: DEFAULT_LISTEN
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 3000))),
        max_body_bytes: DEFAULT_MAX_BODY,
        integration_timeout: DEFAULT_INTEGRATION_TIMEOUT,
        admin_listen: None,
        tls: None,
        data_dir: DEFAULT_DATA_DIR.into(),
    }
}

fn resolve_server(section: &schema::ServerSection, errors: &mut Errors<'_>) -> Option<Server> {
    let mut ok = true;
    let listen = match &section.listen {
        Some(s) => match s.get_ref().parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                errors.at(
                    Some(s.span().start),
                    format!(
                        "`listen = \"{}\"` is not an address like 127.0.0.1:3000",
                        s.get_ref()
                    ),
                );
                ok = false;
                unreachable_server().listen
            }
        },
        None => unreachable_server().listen,
    };
    let max_body_bytes = match &section.max_body_bytes {
        Some(v) if *v.get_ref() == 0 => {
            errors.at(Some(v.span().start), "`max_body_bytes` must be at least 1");
            ok = false;
            0
        }
        Some(v) => *v.get_ref(),
        None => DEFAULT_MAX_BODY,
    };
    let integration_timeout = match &section.integration_timeout {
        Some(s) => match parse_duration(s.get_ref()) {
            Ok(d) if d >= Duration::from_millis(50) => d,
            Ok(_) => {
                errors.at(
                    Some(s.span().start),
                    "`integration_timeout` must be at least 50ms",
                );
                ok = false;
                Duration::ZERO
            }
            Err(e) => {
                errors.at(Some(s.span().start), format!("`integration_timeout`: {e}"));
                ok = false;
                Duration::ZERO
            }
        },
        None => DEFAULT_INTEGRATION_TIMEOUT,
    };
    let admin_listen = match &section.admin_listen {
        Some(s) => match s.get_ref().parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                errors.at(
                    Some(s.span().start),
                    format!(
                        "`admin_listen = \"{}\"` is not an address like 127.0.0.1:9090",
                        s.get_ref()
                    ),
                );
                ok = false;
                None
            }
        },
        None => None,
    };
    let data_dir = match &section.data_dir {
        Some(d) if d.get_ref().trim().is_empty() => {
            errors.at(Some(d.span().start), "`data_dir` must not be empty");
            ok = false;
            DEFAULT_DATA_DIR.into()
        }
        Some(d) => d.get_ref().into(),
        None => DEFAULT_DATA_DIR.into(),
    };
    ok.then_some(Server {
        listen,
        max_body_bytes,
        integration_timeout,
        admin_listen,
        tls: None,
        data_dir,
    })
}

#[allow(clippy::too_many_arguments)]
fn resolve_api(
    name: &str,
    section: &Spanned<schema::ApiSection>,
    imported: Option<&super::openapi_source::ImportedSection>,
    functions: &BTreeMap<String, FunctionDecl>,
    workflows: &BTreeMap<String, super::WorkflowDecl>,
    registry: &Registry,
    file: &str,
    errors: &mut Errors<'_>,
) -> Option<Api> {
    let before = errors.list.len();
    let at = section.span().start;
    let section = section.get_ref();
    // Routes, authorizers and the API key source: from the OpenAPI file when there is one.
    let defs = imported.map_or(section, |i| &i.section);
    let stage_sections = match imported {
        Some(i) if section.stages.is_empty() => &i.section.stages,
        _ => &section.stages,
    };
    let kind = match section.kind.get_ref().as_str() {
        "http" => ApiKind::Http,
        "rest" => ApiKind::Rest,
        other => {
            errors.at(
                Some(section.kind.span().start),
                format!("api `{name}`: `type = \"{other}\"` must be \"http\" or \"rest\""),
            );
            ApiKind::Http
        }
    };
    let base_path = match &section.base_path {
        Some(p) => match normalize_base_path(p.get_ref()) {
            Ok(p) => p,
            Err(e) => {
                errors.at(Some(p.span().start), format!("api `{name}`: {e}"));
                String::new()
            }
        },
        None => String::new(),
    };
    let mut stages: Vec<Stage> = stage_sections
        .iter()
        .map(|(stage, s)| Stage {
            name: stage.clone(),
            variables: s.variables.clone(),
            cache: s
                .cache
                .as_ref()
                .and_then(|c| super::cache::resolve_stage(name, stage, kind, c, errors)),
            access_log: s
                .access_log
                .as_ref()
                .and_then(|a| super::access_log::resolve_access_log(name, stage, a, errors)),
            execution_log: s
                .execution_log
                .as_ref()
                .and_then(|l| super::access_log::resolve_execution_log(name, stage, l, errors)),
            canary: s
                .canary
                .as_ref()
                .and_then(|c| super::canary::resolve(name, stage, c, errors)),
        })
        .collect();
    let stage_has_cache = stage_sections.values().any(|s| s.cache.is_some());
    if stages.is_empty() {
        match kind {
            ApiKind::Http => stages.push(Stage { name: "$default".into(), variables: BTreeMap::new(), cache: None, access_log: None, execution_log: None, canary: None }),
            ApiKind::Rest => errors.at(Some(at), format!("api `{name}`: a REST API needs at least one stage, e.g. [apis.{name}.stages.dev]")),
        }
    }
    for stage in &stages {
        let valid = stage.name == "$default"
            || (!stage.name.is_empty()
                && stage
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if !valid || (kind == ApiKind::Rest && stage.name == "$default") {
            errors.at(
                Some(at),
                format!("api `{name}`: bad stage name `{}`", stage.name),
            );
        }
    }
    let exists = |f: &str| functions.contains_key(f) || registry.contains(f);
    errors.pinned = imported.map(|i| (i.at, format!("openapi `{}`: ", i.shown)));
    let sections = super::auth::Sections {
        authorizers: &defs.authorizers,
        cors: section.cors.as_ref(),
        policy: section.resource_policy.as_ref(),
        responses: &section.gateway_responses,
        api_key_source: defs.api_key_source.as_ref(),
    };
    let auth = super::auth::resolve(name, sections, file, &exists, errors);
    let mut routes = Vec::new();
    let mut seen = HashSet::new();
    for route in &defs.routes {
        let key_at = route.route.span().start;
        let key = match RouteKey::parse(route.route.get_ref()) {
            Ok(key) => key,
            Err(e) => {
                errors.at(Some(key_at), format!("api `{name}`: {e}"));
                continue;
            }
        };
        if !seen.insert(normalized(&key)) {
            errors.at(
                Some(key_at),
                format!("api `{name}`: route `{key}` is declared twice"),
            );
        }
        let target = match super::integration::resolve(name, &key, route, &stages, errors) {
            super::integration::Resolved::Target(target) => target,
            super::integration::Resolved::Invalid => continue,
            super::integration::Resolved::NotIntegration => {
                match (&route.function, &route.workflow) {
                    (Some(function), None) => {
                        let fname = function.get_ref();
                        if let Err(e) = super::function::check_target(fname, functions, registry) {
                            errors.at(
                                Some(function.span().start),
                                format!("api `{name}`: route `{key}` {e}"),
                            );
                        }
                        if route.sync {
                            errors.at(
                                Some(key_at),
                                format!(
                            "api `{name}`: route `{key}`: `sync` applies to workflow routes only"
                        ),
                            );
                        }
                        Target::Function(fname.clone())
                    }
                    (None, Some(workflow)) => {
                        let wname = workflow.get_ref();
                        match workflows.get(wname) {
                    None => errors.at(Some(workflow.span().start), format!("api `{name}`: route `{key}` names workflow `{wname}`, which is not declared under [workflows]")),
                    Some(w) if route.sync && w.kind != crate::workflow::MachineType::Express => errors.at(
                        Some(workflow.span().start),
                        format!("api `{name}`: route `{key}`: `sync = true` needs an EXPRESS workflow; `{wname}` is STANDARD"),
                    ),
                    Some(_) => {}
                }
                        Target::Workflow {
                            name: wname.clone(),
                            sync: route.sync,
                        }
                    }
                    _ => {
                        errors.at(Some(key_at), format!("api `{name}`: route `{key}` needs exactly one of `function = \"...\"`, `workflow = \"...\"`, `http = \"...\"` or `mock = {{ ... }}`"));
                        continue;
                    }
                }
            }
        };
        let Some(target) =
            super::custom_integration::resolve(name, kind, &key, target, route, errors)
        else {
            continue;
        };
        let cache = route
            .cache
            .as_ref()
            .and_then(|c| super::cache::resolve_route(name, &key, stage_has_cache, c, errors));
        let validator = super::integration::resolve_validator(name, &key, route, errors);
        let route_auth =
            super::auth_route::resolve_route(name, &key, route, &defs.authorizers, errors);
        routes.push(Route {
            key,
            target,
            cache,
            api_key_required: route.api_key_required.unwrap_or(false),
            validator,
            auth: route_auth,
        });
    }
    errors.pinned = None;
    (errors.list.len() == before).then(|| Api {
        openapi: std::sync::Arc::new(crate::openapi::export::document(name, kind, defs)),
        id: api_id(name),
        name: name.to_owned(),
        kind,
        base_path,
        stages,
        routes,
        auth,
    })
}

/// Two keys that differ only in parameter names are the same route.
fn normalized(key: &RouteKey) -> String {
    use super::Segment;
    let path = key.path.as_ref().map(|segs| {
        segs.iter()
            .map(|s| match s {
                Segment::Literal(l) => l.clone(),
                Segment::Param(_) => "{}".into(),
                Segment::Greedy(_) => "{+}".into(),
            })
            .collect::<Vec<_>>()
            .join("/")
    });
    format!("{:?} {:?}", key.method, path)
}

fn normalize_base_path(path: &str) -> Result<String, String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|s| s.is_empty() || s.contains(['{', '}', '?', '#']))
    {
        return Err(format!(
            "`base_path = \"{path}\"` must be a plain path like /v1"
        ));
    }
    Ok(format!("/{trimmed}"))
}

fn check_mounts(
    apis: &[Api],
    sections: &BTreeMap<String, Spanned<schema::ApiSection>>,
    errors: &mut Errors<'_>,
) {
    let mut mounts: BTreeMap<String, &str> = BTreeMap::new();
    for api in apis {
        for stage in &api.stages {
            let mount = super::mount_path(&api.base_path, &stage.name);
            if let Some(other) = mounts.insert(mount.clone(), &api.name) {
                let at = sections.get(&api.name).map(|s| s.span().start);
                let shown = if mount.is_empty() { "/" } else { &mount };
                errors.at(at, format!("api `{}` stage `{}` is mounted at `{shown}`, where api `{other}` already is; set a different `base_path`", api.name, stage.name));
            }
        }
    }
}

/// A stable 10-character lowercase alphanumeric id derived from the API's name.
fn api_id(name: &str) -> String {
    // FNV-1a: stable across runs and builds, unlike std's randomized hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..10)
        .map(|_| {
            let c = ALPHABET[(hash % 36) as usize] as char;
            hash /= 36;
            hash = hash.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
            c
        })
        .collect()
}
