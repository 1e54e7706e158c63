//! One access-log line per gateway request, in API Gateway's JSON preset. Stored as a record;
//! the JSON is written only when the log is read or mirrored.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;

use super::access_format::AccessFormat;
use super::logs::LogRecord;
use super::timefmt;

/// The `$context` values an access-log line reports.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// `$context.requestId`
    pub request_id: String,
    /// `$context.identity.sourceIp`
    pub ip: IpAddr,
    /// Request time, ms since the epoch (`$context.requestTime`).
    pub time_ms: u64,
    /// `$context.httpMethod`
    pub http_method: http::Method,
    /// `$context.routeKey`
    pub route_key: &'static str,
    /// `$context.status`
    pub status: u16,
    /// `$context.protocol`
    pub protocol: &'static str,
    /// `$context.responseLength`
    pub response_length: u64,
    /// `$context.responseLatency` in ms
    pub response_latency_ms: u64,
    /// `$context.error.message` detail, when the gateway answered with an error.
    pub error_message: Option<String>,
    /// `cacheStatus`: `hit`, `miss` or `uncacheable` when the route went through its stage's
    /// cache (a Portico addition; API Gateway logs no such field).
    pub cache_status: Option<&'static str>,
    /// `$context.identity.userAgent`
    pub user_agent: Option<String>,
    /// `$context.resourcePath`: the route's resource, e.g. `/items/{id}`.
    pub resource_path: &'static str,
    /// `$context.path`: the request path.
    pub path: String,
    /// `$context.integrationLatency` in ms, when an integration ran.
    pub integration_latency_ms: Option<u64>,
    /// `$context.error.responseType`, when the gateway answered with an error.
    pub error_type: Option<&'static str>,
    /// `$context.stage`
    pub stage: Option<&'static str>,
    /// `$context.apiId`
    pub api_id: Option<&'static str>,
    /// `$context.xrayTraceId`
    pub trace_id: String,
    /// The stage's format; `None` writes the JSON line of the shared access-log group.
    pub format: Option<Arc<AccessFormat>>,
}

impl LogRecord for AccessRecord {
    fn lines(&self) -> Vec<String> {
        if let Some(format) = &self.format {
            return vec![format.render(self)];
        }
        let mut line = json!({
            "requestId": self.request_id,
            "ip": self.ip.to_string(),
            "requestTime": timefmt::clf(self.time_ms),
            "httpMethod": self.http_method.as_str(),
            "routeKey": self.route_key,
            "status": self.status,
            "protocol": self.protocol,
            "responseLength": self.response_length,
            "responseLatency": self.response_latency_ms,
        });
        if let Some(status) = self.cache_status {
            line["cacheStatus"] = json!(status);
        }
        if let Some(message) = &self.error_message {
            line["errorMessage"] = json!(message);
        }
        vec![line.to_string()]
    }
}
