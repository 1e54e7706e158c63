//! One access-log line per gateway request, in API Gateway's JSON preset.

use serde::Serialize;

/// The `$context` values an access-log line reports.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRecord<'a> {
    /// `$context.requestId`
    pub request_id: &'a str,
    /// `$context.identity.sourceIp`
    pub ip: &'a str,
    /// `$context.requestTime`
    pub request_time: &'a str,
    /// `$context.httpMethod`
    pub http_method: &'a str,
    /// `$context.routeKey`
    pub route_key: &'a str,
    /// `$context.status`
    pub status: u16,
    /// `$context.protocol`
    pub protocol: &'a str,
    /// `$context.responseLength`
    pub response_length: usize,
    /// `$context.responseLatency` in ms
    pub response_latency: u64,
    /// `$context.integrationErrorMessage` / `$context.error.message`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<&'a str>,
}

impl AccessRecord<'_> {
    /// The line as written to the access log.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
