//! `GET /dashboard/data`: everything the dashboard shows, as one JSON document read from the
//! metrics registry, the traffic counters, the workflow service and the log groups.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::observe::metrics::{merged_stats, Metrics, SeriesKey, Stats};
use crate::stack::Stack;

/// Minutes of history the dashboard charts.
const WINDOW: u64 = 15;
/// How many log lines and executions the dashboard lists.
const RECENT: usize = 20;

/// Answers `GET /dashboard/data`.
pub async fn handle(State(stack): State<Stack>) -> Response {
    Json(collect(&stack).await).into_response()
}

/// The dashboard's data for the current minute on the stack's clock.
pub async fn collect(stack: &Stack) -> Value {
    let metrics = stack.metrics();
    let now = metrics.minute();
    let from = now.saturating_sub(WINDOW - 1);
    json!({
        "now": stack.clock().now_millis(),
        "gateway": gateway(metrics, from, now),
        "functions": functions(stack, from, now),
        "usage": usage(stack).await,
        "executions": executions(stack),
        "logs": logs(stack),
    })
}

fn stats(
    metrics: &Metrics,
    ns: &str,
    name: &str,
    dims: &[(String, String)],
    from: u64,
    to: u64,
) -> Stats {
    let series: Vec<_> = metrics
        .find(ns, name, dims)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    merged_stats(&series, from, to)
}

fn ms(v: Option<u64>) -> Value {
    json!(v.map(|us| us as f64 / 1000.0))
}

fn gateway(metrics: &Metrics, from: u64, to: u64) -> Value {
    let ns = "AWS/ApiGateway";
    let per_minute: Vec<Value> = (from..=to)
        .map(|m| {
            json!({
                "minute": m * 60,
                "count": stats(metrics, ns, "Count", &[], m, m).sum,
                "errors": stats(metrics, ns, "4XXError", &[], m, m).sum + stats(metrics, ns, "5XXError", &[], m, m).sum,
            })
        })
        .collect();
    let latency = stats(metrics, ns, "Latency", &[], from, to);
    let hits = stats(metrics, ns, "CacheHitCount", &[], from, to).sum;
    let misses = stats(metrics, ns, "CacheMissCount", &[], from, to).sum;
    let routes: Vec<Value> = metrics
        .find(ns, "Count", &[])
        .into_iter()
        .filter_map(|(key, series)| {
            let count = series.stats(from, to).sum;
            (count > 0).then(|| {
                let dims = dims_of(&key);
                let lat = stats(metrics, ns, "Latency", &dims, from, to);
                json!({
                    "api": dim(&key, "ApiName"), "stage": dim(&key, "Stage"), "route": dim(&key, "Route"),
                    "count": count,
                    "4xx": stats(metrics, ns, "4XXError", &dims, from, to).sum,
                    "5xx": stats(metrics, ns, "5XXError", &dims, from, to).sum,
                    "p50": ms(lat.p50), "p99": ms(lat.p99),
                })
            })
        })
        .collect();
    json!({
        "perMinute": per_minute,
        "requests": stats(metrics, ns, "Count", &[], from, to).sum,
        "4xx": stats(metrics, ns, "4XXError", &[], from, to).sum,
        "5xx": stats(metrics, ns, "5XXError", &[], from, to).sum,
        "latency": {"p50": ms(latency.p50), "p90": ms(latency.p90), "p99": ms(latency.p99)},
        "cache": {"hits": hits, "misses": misses,
                  "hitRatio": if hits + misses > 0 { json!(hits as f64 / (hits + misses) as f64) } else { Value::Null }},
        "routes": routes,
    })
}

fn dims_of(key: &SeriesKey) -> Vec<(String, String)> {
    key.dimensions
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.clone()))
        .collect()
}

fn dim(key: &SeriesKey, name: &str) -> String {
    key.dimensions
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn functions(stack: &Stack, from: u64, to: u64) -> Value {
    let metrics = stack.metrics();
    let mut names = stack.function_names();
    names.sort();
    let list: Vec<Value> = names
        .into_iter()
        .map(|name| {
            let dims = [("FunctionName".to_owned(), name.clone())];
            let duration = stats(metrics, "AWS/Lambda", "Duration", &dims, from, to);
            let concurrency = stats(metrics, "AWS/Lambda", "ConcurrentExecutions", &dims, from, to);
            json!({
                "name": name,
                "invocations": stats(metrics, "AWS/Lambda", "Invocations", &dims, from, to).sum,
                "errors": stats(metrics, "AWS/Lambda", "Errors", &dims, from, to).sum,
                "durationP50": ms(duration.p50), "durationP99": ms(duration.p99),
                "maxConcurrency": concurrency.maximum,
                "coldStarts": stats(metrics, "AWS/Lambda", "InitDuration", &dims, from, to).sample_count,
            })
        })
        .collect();
    json!(list)
}

async fn usage(stack: &Stack) -> Value {
    let control = stack.traffic().control();
    let mut keys = Vec::new();
    for key in control.keys().list() {
        let counters = key.counters.snapshot();
        let mut quotas = Vec::new();
        for plan_id in &key.usage_plans {
            let Some(plan) = control.plan(plan_id) else {
                continue;
            };
            let Some(quota) = &plan.quota else { continue };
            if let Ok(Some(left)) = control.quotas.remaining(plan, &key.id).await {
                quotas.push(
                    json!({"plan": &**plan_id, "limit": quota.limit, "used": quota.limit - left}),
                );
            }
        }
        keys.push(json!({
            "id": key.id.to_string(), "name": key.name,
            "requests": counters.admitted, "throttled": counters.throttled,
            "quotaExceeded": counters.quota_exceeded, "forbidden": counters.forbidden,
            "quotas": quotas,
        }));
    }
    let all = control.counters().snapshot();
    json!({"keys": keys, "throttled": all.throttled()})
}

fn executions(stack: &Stack) -> Value {
    let service = stack.workflows();
    let mut list: Vec<_> = service
        .list_state_machines()
        .into_iter()
        .flat_map(|m| service.list_executions(&m.arn, None).unwrap_or_default())
        .collect();
    list.sort_by_key(|e| std::cmp::Reverse(e.start_date));
    list.truncate(RECENT);
    let list: Vec<Value> = list
        .into_iter()
        .map(|e| {
            let path: Vec<String> = service
                .get_execution_history(&e.arn)
                .unwrap_or_default()
                .into_iter()
                .filter(|h| h.event_type.ends_with("StateEntered"))
                .filter_map(|h| h.details.and_then(|(_, d)| d["name"].as_str().map(str::to_owned)))
                .collect();
            json!({"name": e.name, "machine": e.state_machine_arn.rsplit(':').next(), "status": e.status.as_str(), "path": path})
        })
        .collect();
    json!(list)
}

fn logs(stack: &Stack) -> Value {
    let store = stack.logs();
    let mut events: Vec<(u64, String, String)> = Vec::new();
    for group in store.group_names() {
        let group_events = store.events(&group);
        let skip = group_events.len().saturating_sub(RECENT);
        events.extend(
            group_events
                .into_iter()
                .skip(skip)
                .map(|e| (e.timestamp, group.clone(), e.message)),
        );
    }
    events.sort_by_key(|e| e.0);
    let skip = events.len().saturating_sub(RECENT);
    let list: Vec<Value> = events
        .into_iter()
        .skip(skip)
        .map(|(t, g, m)| json!({"timestamp": t, "group": g, "message": m}))
        .collect();
    json!(list)
}
