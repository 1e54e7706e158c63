//! API Gateway's metrics for one route of one stage (`AWS/ApiGateway`: Count, 4XXError,
//! 5XXError, Latency, IntegrationLatency), resolved once so a request records with atomics.

use std::sync::Arc;

use crate::cache::CacheStatus;
use crate::observe::metrics::{Kind, Metrics, Series};

/// The series one route of one stage records into.
pub struct RouteMetrics {
    count: Arc<Series>,
    client_errors: Arc<Series>,
    server_errors: Arc<Series>,
    latency: Arc<Series>,
    integration_latency: Arc<Series>,
    dims: Vec<(&'static str, String)>,
    /// CacheHitCount and CacheMissCount, created on the first cached request.
    cache: std::sync::OnceLock<[Arc<Series>; 2]>,
}

const NAMESPACE: &str = "AWS/ApiGateway";

impl RouteMetrics {
    /// The series for `route` (`-` for requests no route matched) of an API's stage.
    pub fn new(metrics: &Metrics, api_name: &str, api_id: &str, stage: &str, route: &str) -> Self {
        let dims = || {
            vec![
                ("ApiName", api_name.to_owned()),
                ("ApiId", api_id.to_owned()),
                ("Stage", stage.to_owned()),
                ("Route", route.to_owned()),
            ]
        };
        RouteMetrics {
            count: metrics.series(NAMESPACE, "Count", dims(), Kind::Counter),
            client_errors: metrics.series(NAMESPACE, "4XXError", dims(), Kind::Counter),
            server_errors: metrics.series(NAMESPACE, "5XXError", dims(), Kind::Counter),
            latency: metrics.series(NAMESPACE, "Latency", dims(), Kind::Distribution),
            integration_latency: metrics.series(
                NAMESPACE,
                "IntegrationLatency",
                dims(),
                Kind::Distribution,
            ),
            dims: dims(),
            cache: std::sync::OnceLock::new(),
        }
    }

    /// Records whether the stage's cache answered (CacheHitCount) or the integration did
    /// (CacheMissCount, also for responses not stored); bypassed requests count as neither.
    pub fn record_cache(&self, metrics: &Metrics, minute: u64, status: CacheStatus) {
        let [hits, misses] = self.cache.get_or_init(|| {
            [
                metrics.series(NAMESPACE, "CacheHitCount", self.dims.clone(), Kind::Counter),
                metrics.series(
                    NAMESPACE,
                    "CacheMissCount",
                    self.dims.clone(),
                    Kind::Counter,
                ),
            ]
        });
        match status {
            CacheStatus::Hit => hits.record(minute, 1),
            CacheStatus::Miss | CacheStatus::Uncacheable => misses.record(minute, 1),
            CacheStatus::Bypass => {}
        }
    }

    /// Records one request: its status, total latency and, if an integration ran, its latency.
    pub fn record(&self, minute: u64, status: u16, latency_us: u64, integration_us: Option<u64>) {
        self.count.record(minute, 1);
        self.client_errors
            .record(minute, u64::from((400..500).contains(&status)));
        self.server_errors.record(minute, u64::from(status >= 500));
        self.latency.record(minute, latency_us);
        if let Some(us) = integration_us {
            self.integration_latency.record(minute, us);
        }
    }
}
