//! Prometheus text exposition of the metrics: counters as `_total` since start, distributions
//! as summaries (`_sum`, `_count` since start, quantiles over the last five minutes).

use std::fmt::Write;

use super::{Kind, Metrics};

/// The OTLP exporter's counters as Prometheus text.
pub fn render_export_counters(c: &crate::observe::otlp::ExportCounters) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = String::new();
    for (name, help, value) in [
        (
            "portico_otlp_traces_exported_total",
            "Traces the OTLP collector accepted.",
            c.exported.load(Relaxed),
        ),
        (
            "portico_otlp_traces_dropped_total",
            "Traces dropped because the export queue was full.",
            c.dropped.load(Relaxed),
        ),
        (
            "portico_otlp_traces_failed_total",
            "Traces given up after every export try failed.",
            c.failed.load(Relaxed),
        ),
        (
            "portico_otlp_retries_total",
            "OTLP export requests retried.",
            c.retries.load(Relaxed),
        ),
    ] {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        );
    }
    out
}

/// Every series as Prometheus text.
pub fn render(metrics: &Metrics) -> String {
    let now = metrics.minute();
    let mut out = String::new();
    let mut last_family = String::new();
    for (key, series) in metrics.all() {
        let family = format!(
            "{}_{}",
            sanitize(&key.namespace.replace('/', "_")).to_ascii_lowercase(),
            snake(key.name)
        );
        let labels = key
            .dimensions
            .iter()
            .map(|(n, v)| format!("{}=\"{}\"", snake(n), escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        let (count, sum) = series.lifetime();
        match series.kind() {
            Kind::Counter => {
                if family != last_family {
                    let _ = writeln!(out, "# TYPE {family}_total counter");
                }
                let _ = writeln!(out, "{family}_total{{{labels}}} {sum}");
            }
            Kind::Distribution => {
                if family != last_family {
                    let _ = writeln!(out, "# TYPE {family} summary");
                }
                let recent = series.stats(now.saturating_sub(4), now);
                let sep = if labels.is_empty() { "" } else { "," };
                for (q, v) in [
                    ("0.5", recent.p50),
                    ("0.9", recent.p90),
                    ("0.99", recent.p99),
                ] {
                    if let Some(v) = v {
                        let _ = writeln!(out, "{family}{{{labels}{sep}quantile=\"{q}\"}} {v}");
                    }
                }
                let _ = writeln!(out, "{family}_sum{{{labels}}} {sum}");
                let _ = writeln!(out, "{family}_count{{{labels}}} {count}");
            }
        }
        last_family = family;
    }
    out
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `IntegrationLatency` → `integration_latency`, `4XXError` → `4xx_error`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    sanitize(&out)
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;

    #[test]
    fn renders_counters_and_summaries() {
        let metrics = Metrics::new(Clock::manual(std::time::UNIX_EPOCH));
        let count = metrics.series(
            "AWS/ApiGateway",
            "Count",
            vec![("ApiName", "demo".into())],
            Kind::Counter,
        );
        let latency = metrics.series(
            "AWS/ApiGateway",
            "IntegrationLatency",
            vec![("ApiName", "demo".into())],
            Kind::Distribution,
        );
        metrics.record(&count, 1);
        metrics.record(&count, 1);
        metrics.record(&latency, 12);
        let text = render(&metrics);
        assert!(
            text.contains("aws_apigateway_count_total{api_name=\"demo\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("aws_apigateway_integration_latency_count{api_name=\"demo\"} 1"),
            "{text}"
        );
        assert!(text.contains("quantile=\"0.99\"} 12"), "{text}");
        assert_eq!(snake("4XXError"), "4xx_error");
    }
}
