//! The admission stage of the pipeline: API key, throttles and quota for the matched route,
//! with rejections turned into the gateway's errors.
//!
//! It sits after route match (and, later, the authorizer) and before the body is read, so a
//! refused request costs no body transfer and no invocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::error::GatewayError;
use super::router::{CompiledRoute, Mount};
use crate::stack::StackInner;
use crate::store::Store;
use crate::traffic::{TrafficConfig, TrafficControl, TrafficError, TrafficRejection};
use crate::Clock;

/// The header clients send their API key in. A `HeaderName` constant: looking a header up
/// by `&str` parses and lowercases the name again on every request.
pub const API_KEY_HEADER: http::HeaderName = http::HeaderName::from_static("x-api-key");
/// How often idle token buckets and expired quota/usage counters are dropped.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Traffic management of a running stack: the decision, the store behind its quotas and usage,
/// and the memory upkeep both need.
pub struct TrafficState {
    control: TrafficControl,
    store: Arc<dyn Store>,
    /// Clock seconds at which upkeep is next due.
    next_upkeep: AtomicU64,
}

impl TrafficState {
    /// Builds traffic control over `store` on `clock`.
    pub fn new(
        config: &TrafficConfig,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Result<Self, TrafficError> {
        let control = TrafficControl::new(config, store.clone(), clock)?;
        let state = TrafficState {
            control,
            store,
            next_upkeep: AtomicU64::new(0),
        };
        state.next_upkeep.store(
            state.now_secs() + UPKEEP_INTERVAL.as_secs(),
            Ordering::Relaxed,
        );
        Ok(state)
    }

    /// Keys, plans, throttles, quotas, usage and their counters.
    pub fn control(&self) -> &TrafficControl {
        &self.control
    }

    /// The store holding quota and usage counters and runtime-created keys.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Drops token buckets that have refilled and counters whose period has ended.
    pub async fn upkeep(&self) -> Result<usize, crate::store::StoreError> {
        self.control.throttles().shrink();
        self.store.purge_expired().await
    }

    fn now_secs(&self) -> u64 {
        self.control
            .clock()
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Whether upkeep is due at `now` (clock seconds); true for one caller per interval.
    fn claim_upkeep(&self, now: u64) -> bool {
        let due = self.next_upkeep.load(Ordering::Relaxed);
        now >= due
            && self
                .next_upkeep
                .compare_exchange(
                    due,
                    now + UPKEEP_INTERVAL.as_secs(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

/// Admits the request to `route` of `mount` (received at `time_epoch_ms` on the stack's
/// clock), or says which error answers it.
pub(crate) async fn admit(
    stack: &StackInner,
    mount: &Mount,
    route: &CompiledRoute,
    api_key: Option<&str>,
    time_epoch_ms: u64,
) -> Result<(), (GatewayError, String)> {
    let traffic = &stack.traffic;
    // Upkeep rides on traffic (memory only grows with requests) and runs off the request
    // path; a timer task would add a sleeper to manual clocks that tests count.
    if traffic.claim_upkeep(time_epoch_ms / 1000) {
        let traffic = traffic.clone();
        tokio::spawn(async move {
            if let Err(e) = traffic.upkeep().await {
                tracing::warn!(error = %e, "store upkeep failed");
            }
        });
    }
    traffic
        .control
        .admit(
            &mount.api_id,
            &mount.stage,
            &route.key.text,
            api_key,
            route.api_key_required,
        )
        .await
        .map(drop)
        .map_err(|rejection| {
            let detail = rejection.to_string();
            let err = match rejection {
                TrafficRejection::Forbidden(_) => GatewayError::Forbidden,
                TrafficRejection::Throttled { .. } => GatewayError::TooManyRequests {
                    retry_after_secs: rejection.retry_after_secs().unwrap_or(1),
                },
                TrafficRejection::QuotaExceeded { .. } => GatewayError::LimitExceeded {
                    retry_after_secs: rejection.retry_after_secs().unwrap_or(1),
                },
                TrafficRejection::StoreFailed(_) => GatewayError::BadGateway,
                TrafficRejection::StoreUnavailable(_) => GatewayError::ServiceUnavailable,
            };
            (err, detail)
        })
}
