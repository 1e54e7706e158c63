//! Access-log formats in API Gateway's `$context` variables, with AWS's CLF, JSON, XML and CSV
//! presets. A format is parsed once from config; a line is rendered only when the log is read
//! or written out, never on the request path.

use std::fmt::Write;

use super::access_log::AccessRecord;
use super::timefmt;

/// AWS's Common Log Format preset.
pub const CLF: &str = "$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] \"$context.httpMethod $context.resourcePath $context.protocol\" $context.status $context.responseLength $context.requestId";
/// AWS's JSON preset.
pub const JSON: &str = "{ \"requestId\":\"$context.requestId\", \"ip\": \"$context.identity.sourceIp\", \"caller\":\"$context.identity.caller\", \"user\":\"$context.identity.user\",\"requestTime\":\"$context.requestTime\", \"httpMethod\":\"$context.httpMethod\",\"resourcePath\":\"$context.resourcePath\", \"status\":\"$context.status\",\"protocol\":\"$context.protocol\", \"responseLength\":\"$context.responseLength\" }";
/// AWS's XML preset.
pub const XML: &str = "<request id=\"$context.requestId\"> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>";
/// AWS's CSV preset.
pub const CSV: &str = "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId";

/// How values are escaped inside the surrounding text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Json,
    Xml,
}

/// A `$context` variable an access log may use.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    RequestId,
    ExtendedRequestId,
    SourceIp,
    UserAgent,
    Caller,
    User,
    HttpMethod,
    RouteKey,
    ResourcePath,
    Path,
    Status,
    Protocol,
    ResponseLength,
    RequestTime,
    RequestTimeEpoch,
    IntegrationLatency,
    ResponseLatency,
    ErrorMessage,
    ErrorResponseType,
    Stage,
    ApiId,
    XrayTraceId,
    CacheStatus,
    /// `authorizer.*`: Portico runs no authorizers yet, so these are always `-`.
    Authorizer,
}

impl Var {
    fn parse(name: &str) -> Option<Var> {
        Some(match name {
            "requestId" => Var::RequestId,
            "extendedRequestId" => Var::ExtendedRequestId,
            "identity.sourceIp" => Var::SourceIp,
            "identity.userAgent" => Var::UserAgent,
            "identity.caller" => Var::Caller,
            "identity.user" => Var::User,
            "httpMethod" => Var::HttpMethod,
            "routeKey" => Var::RouteKey,
            "resourcePath" => Var::ResourcePath,
            "path" => Var::Path,
            "status" => Var::Status,
            "protocol" => Var::Protocol,
            "responseLength" => Var::ResponseLength,
            "requestTime" => Var::RequestTime,
            "requestTimeEpoch" => Var::RequestTimeEpoch,
            "integrationLatency" | "integration.latency" => Var::IntegrationLatency,
            "responseLatency" => Var::ResponseLatency,
            "error.message" => Var::ErrorMessage,
            "error.responseType" => Var::ErrorResponseType,
            "stage" => Var::Stage,
            "apiId" => Var::ApiId,
            "xrayTraceId" => Var::XrayTraceId,
            "cacheStatus" => Var::CacheStatus,
            n if n.starts_with("authorizer.") || n == "authorizer" => Var::Authorizer,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A parsed access-log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFormat {
    parts: Vec<Part>,
    escape: Escape,
}

impl AccessFormat {
    /// Parses a preset name (`CLF`, `JSON`, `XML`, `CSV`) or a `$context` format string.
    pub fn parse(spec: &str) -> Result<AccessFormat, String> {
        let text = match spec {
            "CLF" => CLF,
            "JSON" => JSON,
            "XML" => XML,
            "CSV" => CSV,
            other => other,
        };
        let escape = match text.trim_start().chars().next() {
            Some('{') => Escape::Json,
            Some('<') => Escape::Xml,
            _ => Escape::None,
        };
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("$context.") {
            if at > 0 {
                parts.push(Part::Text(rest[..at].to_owned()));
            }
            let after = &rest[at + "$context.".len()..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .unwrap_or(after.len());
            // A sentence may end right after a variable: the dot is text, not part of the name.
            let name = after[..len].trim_end_matches('.');
            let var = Var::parse(name)
                .ok_or_else(|| format!("unknown access-log variable `$context.{name}`"))?;
            parts.push(Part::Var(var));
            rest = &after[name.len()..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        let has_id = parts.iter().any(|p| {
            matches!(
                p,
                Part::Var(Var::RequestId) | Part::Var(Var::ExtendedRequestId)
            )
        });
        if !has_id {
            return Err(
                "an access-log format must contain $context.requestId or $context.extendedRequestId"
                    .into(),
            );
        }
        Ok(AccessFormat { parts, escape })
    }

    /// The line for one request.
    pub fn render(&self, r: &AccessRecord) -> String {
        let mut out = String::with_capacity(256);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => self.value(&mut out, v, r),
            }
        }
        out
    }

    fn value(&self, out: &mut String, var: &Var, r: &AccessRecord) {
        let text: std::borrow::Cow<'_, str> = match var {
            Var::RequestId | Var::ExtendedRequestId => r.request_id.as_str().into(),
            Var::SourceIp => r.ip.to_string().into(),
            Var::UserAgent => r.user_agent.as_deref().unwrap_or("-").into(),
            Var::Caller | Var::User | Var::Authorizer => "-".into(),
            Var::HttpMethod => r.http_method.as_str().into(),
            Var::RouteKey => r.route_key.into(),
            Var::ResourcePath => r.resource_path.into(),
            Var::Path => r.path.as_str().into(),
            Var::Status => r.status.to_string().into(),
            Var::Protocol => r.protocol.into(),
            Var::ResponseLength => r.response_length.to_string().into(),
            Var::RequestTime => timefmt::clf(r.time_ms).into(),
            Var::RequestTimeEpoch => r.time_ms.to_string().into(),
            Var::IntegrationLatency => match r.integration_latency_ms {
                Some(ms) => ms.to_string().into(),
                None => "-".into(),
            },
            Var::ResponseLatency => r.response_latency_ms.to_string().into(),
            Var::ErrorMessage => r.error_message.as_deref().unwrap_or("-").into(),
            Var::ErrorResponseType => r.error_type.unwrap_or("-").into(),
            Var::Stage => r.stage.unwrap_or("-").into(),
            Var::ApiId => r.api_id.unwrap_or("-").into(),
            Var::XrayTraceId => r.trace_id.as_str().into(),
            Var::CacheStatus => r.cache_status.unwrap_or("-").into(),
        };
        match self.escape {
            Escape::None => out.push_str(&text),
            Escape::Json => {
                for c in text.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
            }
            Escape::Xml => {
                for c in text.chars() {
                    match c {
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        '&' => out.push_str("&amp;"),
                        '"' => out.push_str("&quot;"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_unknown_variables_do_not() {
        for p in ["CLF", "JSON", "XML", "CSV"] {
            assert!(AccessFormat::parse(p).is_ok(), "{p}");
        }
        let e = AccessFormat::parse("$context.requestId $context.nope").unwrap_err();
        assert!(e.contains("$context.nope"), "{e}");
        assert!(AccessFormat::parse("$context.status").is_err());
        assert!(AccessFormat::parse("id $context.requestId.").is_ok());
    }
}
