//! Lambda authorizers (TOKEN and REQUEST): the event they get, the two response shapes they
//! may give (IAM policy, HTTP API simple response), and the result cache per identity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

/// What an authorizer function answered, kept per identity for the TTL.
#[derive(Debug, Clone)]
pub enum Decision {
    /// `{"isAuthorized": bool, "context": {...}}`.
    Simple {
        /// Allowed or not, for every route of the API.
        allowed: bool,
        /// Passed to the function.
        context: Map<String, Value>,
    },
    /// An IAM policy, evaluated against each request's method ARN.
    Policy {
        /// `principalId`.
        principal_id: Option<String>,
        /// `(allow, resource pattern)` for `execute-api:Invoke` statements.
        statements: Vec<(bool, String)>,
        /// Passed to the function.
        context: Map<String, Value>,
        /// `usageIdentifierKey`.
        usage_identifier_key: Option<String>,
    },
}

impl Decision {
    /// Parses an authorizer's answer; `None` when it is neither shape.
    pub fn parse(value: &Value) -> Option<Decision> {
        let context = value
            .get("context")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(allowed) = value.get("isAuthorized") {
            return Some(Decision::Simple {
                allowed: allowed.as_bool()?,
                context,
            });
        }
        let doc = value.get("policyDocument")?;
        let statements = match doc.get("Statement")? {
            Value::Array(list) => list.iter().collect::<Vec<_>>(),
            one @ Value::Object(_) => vec![one],
            _ => return None,
        };
        let mut out = Vec::new();
        for s in statements {
            let allow = match s.get("Effect")?.as_str()? {
                "Allow" => true,
                "Deny" => false,
                _ => return None,
            };
            let actions = strings(s.get("Action")?)?;
            if !actions.iter().any(|a| wildcard(a, "execute-api:Invoke")) {
                continue;
            }
            for resource in strings(s.get("Resource")?)? {
                out.push((allow, resource.to_owned()));
            }
        }
        Some(Decision::Policy {
            principal_id: value.get("principalId").and_then(|p| match p {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }),
            statements: out,
            context,
            usage_identifier_key: value
                .get("usageIdentifierKey")
                .and_then(Value::as_str)
                .map(String::from),
        })
    }

    /// Whether the decision allows the request on `method_arn` (an explicit Deny wins).
    pub fn allows(&self, method_arn: &str) -> bool {
        match self {
            Decision::Simple { allowed, .. } => *allowed,
            Decision::Policy { statements, .. } => {
                let mut allowed = false;
                for (allow, pattern) in statements {
                    if wildcard(pattern, method_arn) {
                        if !allow {
                            return false;
                        }
                        allowed = true;
                    }
                }
                allowed
            }
        }
    }
}

fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(list) => list.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// IAM wildcard match: `*` any run of characters, `?` one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Decisions by identity, each until a clock time in milliseconds.
#[derive(Default)]
pub struct ResultCache {
    entries: Mutex<HashMap<String, (u64, Arc<Decision>)>>,
}

impl ResultCache {
    /// The cached decision for an identity, if still fresh at `now_ms`.
    pub fn get(&self, identity: &str, now_ms: u64) -> Option<Arc<Decision>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(identity)
            .filter(|(until, _)| now_ms < *until)
            .map(|(_, d)| d.clone())
    }

    /// Keeps a decision until `until_ms`, dropping expired entries when the map grows.
    pub fn put(&self, identity: String, until_ms: u64, now_ms: u64, decision: Arc<Decision>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= 10_000 {
                entries.retain(|_, (until, _)| now_ms < *until);
            }
            entries.insert(identity, (until_ms, decision));
        }
    }
}

/// The TOKEN event.
pub fn token_event(token: &str, method_arn: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn})
}

/// Inputs of a REQUEST event.
pub struct RequestFacts<'a> {
    /// The method ARN (REST) / route ARN (HTTP).
    pub method_arn: &'a str,
    /// `GET`.
    pub method: &'a str,
    /// The resource or route key.
    pub resource: &'a str,
    /// The path within the stage.
    pub path: &'a str,
    /// Headers, last value each.
    pub headers: Map<String, Value>,
    /// Query parameters, last value each.
    pub query: Map<String, Value>,
    /// Stage variables.
    pub stage_variables: Map<String, Value>,
    /// The identity source values, in order.
    pub identity: Vec<String>,
    /// HTTP API (payload 2.0) or REST.
    pub http_api: bool,
    /// The stage.
    pub stage: &'a str,
    /// The API id.
    pub api_id: &'a str,
    /// The source IP.
    pub source_ip: String,
}

/// The REQUEST event, in the shape of the API's kind.
pub fn request_event(f: RequestFacts<'_>) -> Value {
    if f.http_api {
        json!({
            "version": "2.0", "type": "REQUEST", "routeArn": f.method_arn,
            "identitySource": f.identity, "routeKey": f.resource, "rawPath": f.path,
            "headers": f.headers, "queryStringParameters": f.query,
            "stageVariables": f.stage_variables,
            "requestContext": {"apiId": f.api_id, "stage": f.stage,
                "http": {"method": f.method, "path": f.path, "sourceIp": f.source_ip}},
        })
    } else {
        json!({
            "type": "REQUEST", "methodArn": f.method_arn, "resource": f.resource,
            "path": f.path, "httpMethod": f.method, "headers": f.headers,
            "queryStringParameters": f.query, "stageVariables": f.stage_variables,
            "requestContext": {"apiId": f.api_id, "stage": f.stage, "httpMethod": f.method,
                "identity": {"sourceIp": f.source_ip}},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("arn:*/dev/GET/*", "arn:x/dev/GET/a/b"));
        assert!(!wildcard("arn:*/dev/GET/a", "arn:x/dev/GET/b"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
    }

    #[test]
    fn deny_wins() {
        let d = Decision::parse(&json!({"principalId": "u", "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
                          {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "*/POST/*"}]}}))
        .unwrap();
        assert!(d.allows("arn/dev/GET/x"));
        assert!(!d.allows("arn/dev/POST/x"));
    }
}
