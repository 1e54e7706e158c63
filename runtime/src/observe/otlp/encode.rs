//! Traces as OTLP/HTTP JSON (`ExportTraceServiceRequest`): `resourceSpans` → `scopeSpans` →
//! `spans`, ids as lowercase hex, times as unix nanoseconds in strings, enums as numbers.
//!
//! Written by hand with serde_json: the opentelemetry-otlp crate would bring tonic and prost
//! (and a protobuf build) into a workspace that builds on two shared cores, for a dozen fields.

use serde_json::{json, Value};

use crate::observe::execution_traces::EXECUTION_SPAN;
use crate::observe::ids;
use crate::observe::traces::{ExecutionEnd, Segment, Trace, WORKFLOW_SPAN};

/// OTLP `SPAN_KIND_INTERNAL` / `SPAN_KIND_SERVER`.
const KIND_INTERNAL: u8 = 1;
const KIND_SERVER: u8 = 2;
/// OTLP `STATUS_CODE_ERROR`.
const STATUS_ERROR: u8 = 2;

/// The OTLP trace id of an X-Ray header: `Root=1-5759e988-bd862e3f…` → `5759e988bd862e3f…`
/// (the mapping AWS's X-Ray propagator uses); `None` when the root is not in that form.
pub fn otlp_trace_id(header: &str) -> Option<String> {
    let root = crate::observe::traces::root_of(header).strip_prefix("Root=1-")?;
    let hex: String = root.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && root.len() == 33)
        .then(|| hex.to_ascii_lowercase())
}

/// One export request holding every span of `traces`.
pub fn encode(traces: &[Trace], service_name: &str) -> Value {
    let spans: Vec<Value> = traces.iter().flat_map(trace_spans).collect();
    json!({
        "resourceSpans": [{
            "resource": {"attributes": [string_attr("service.name", service_name)]},
            "scopeSpans": [{
                "scope": {"name": "portico", "version": env!("CARGO_PKG_VERSION")},
                "spans": spans,
            }],
        }],
    })
}

fn trace_spans(trace: &Trace) -> Vec<Value> {
    // A caller's non-X-Ray trace id still gets one consistent OTLP id for all its spans.
    let trace_id = otlp_trace_id(&trace.trace_id).unwrap_or_else(|| ids::hex(32));
    let start_ns = u128::from(trace.start_ms) * 1_000_000;
    let ended = trace.execution_end();
    trace
        .all_segments()
        .iter()
        .map(|s| span(trace, s, &trace_id, start_ns, ended.as_ref()))
        .collect()
}

fn span(
    trace: &Trace,
    s: &Segment,
    trace_id: &str,
    request_start_ns: u128,
    ended: Option<&ExecutionEnd>,
) -> Value {
    let start = request_start_ns + u128::from(s.start_us) * 1000;
    let end = start + u128::from(s.duration_us) * 1000;
    let gateway = s.name == "gateway" && s.state_type.is_none();
    let mut attributes = vec![string_attr("aws.xray.trace_header", &trace.trace_id)];
    if gateway {
        let (method, path) = trace
            .request
            .split_once(' ')
            .unwrap_or(("", &trace.request));
        attributes.push(string_attr("http.request.method", method));
        attributes.push(string_attr("url.path", path));
        attributes.push(json!({"key": "http.response.status_code",
            "value": {"intValue": trace.status.to_string()}}));
        attributes.push(string_attr("aws.request_id", &trace.request_id));
    }
    if let Some(t) = s.state_type {
        attributes.push(string_attr("aws.step_functions.state.type", t));
    }
    // The `execution` span of an execution the Step Functions API started, or the `workflow`
    // step of a request whose execution ended before the request did.
    let execution = ((s.name == EXECUTION_SPAN || s.name == WORKFLOW_SPAN)
        && s.state_type.is_none())
    .then_some(ended)
    .flatten();
    if let Some(e) = trace.execution.as_ref().or(execution) {
        attributes.push(string_attr("aws.step_functions.execution.arn", &e.arn));
    }
    if let Some(e) = execution {
        attributes.push(string_attr("aws.step_functions.execution.status", e.status));
    }
    if let Some(d) = &s.detail {
        attributes.push(string_attr("portico.detail", d));
    }
    let name = match (gateway, s.state_type) {
        (true, _) => trace.request.clone(),
        (false, Some(_)) => format!("state {}", s.name),
        (false, None) => s.name.to_string(),
    };
    let mut span = json!({
        "traceId": trace_id,
        "spanId": format!("{:016x}", s.span_id),
        "name": name,
        "kind": if gateway { KIND_SERVER } else { KIND_INTERNAL },
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": end.to_string(),
        "attributes": attributes,
    });
    if let (Some(parent), Some(o)) = (s.parent_span, span.as_object_mut()) {
        o.insert("parentSpanId".into(), json!(format!("{parent:016x}")));
    }
    let failed = (gateway && trace.status >= 500) || (s.state_type.is_some() && s.detail.is_some());
    let status = match execution.and_then(|e| e.error_message()) {
        Some(message) => Some(json!({"code": STATUS_ERROR, "message": message})),
        None => failed.then(|| json!({"code": STATUS_ERROR})),
    };
    if let (Some(status), Some(o)) = (status, span.as_object_mut()) {
        o.insert("status".into(), status);
    }
    span
}

fn string_attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xray_roots_map_to_otlp_ids() {
        assert_eq!(
            otlp_trace_id("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1").as_deref(),
            Some("5759e988bd862e3fe1be46a994272793")
        );
        assert_eq!(otlp_trace_id("Root=1-5759e988-bd86"), None);
        assert_eq!(otlp_trace_id("anything"), None);
    }
}
