//! A per-thread memo of exact request paths to the route they matched, so a hot path skips
//! the route walk (splitting the path, ranking every route's pattern).
//!
//! Routing is a pure function of (router, method, path) once no custom domain or canary is
//! involved, so a path routed once routes the same way until the router is replaced: each
//! [`Router`] has its own id, and a thread's memo is dropped when it meets a router with
//! another id (a new generation). Each thread keeps its own memo, so lookups take no lock
//! and touch no shared cache line; it is bounded and starts over when full.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use http::Method;
use smallvec::SmallVec;

use super::router::{PathParams, Routed, Router};
use crate::config::Segment;

/// Paths a thread remembers before it starts over (bounds memory against scans of many paths).
const MAX_PATHS: usize = 4096;
/// Bytes of remembered paths a thread keeps before it starts over (long paths).
const MAX_PATH_BYTES: usize = 256 * 1024;

/// Where a memoized path routes: positions in the router and byte ranges in the path.
struct Memoized {
    mount: usize,
    route: usize,
    /// Where the stage path starts in the path; `None` for an empty stage path (`/`).
    stage_start: Option<usize>,
    /// Each path parameter's value as a byte range of the path, in pattern order.
    params: SmallVec<[(usize, usize); 2]>,
}

/// The routes one path took, by method.
type Methods = SmallVec<[(Method, Memoized); 1]>;

/// One thread's memo: the router it belongs to and its paths, each with its methods.
#[derive(Default)]
struct Memo {
    router: u64,
    /// The bytes of the paths held.
    bytes: usize,
    paths: HashMap<Box<str>, Methods, foldhash::fast::RandomState>,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::default();
}

/// A fresh router id (0 is never given out: it marks a router that is not memoized).
pub(super) fn next_router_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Router {
    /// [`Router::route_for_host`], through this thread's memo when the router has no custom
    /// domains (so the host plays no part).
    pub(crate) fn route_memoized<'a>(
        &'a self,
        method: &Method,
        host: Option<&str>,
        path: &'a str,
    ) -> Routed<'a> {
        if self.memo_id == 0 || !self.domains.is_empty() {
            return self.route_for_host(method, host, path);
        }
        let remembered = MEMO.with(|memo| {
            let memo = memo.try_borrow().ok()?;
            if memo.router != self.memo_id {
                return None;
            }
            let (_, hit) = memo.paths.get(path)?.iter().find(|(m, _)| m == method)?;
            self.rebuild(hit, path)
        });
        if let Some(routed) = remembered {
            return routed;
        }
        let routed = self.route(method, path);
        if let Some(hit) = self.memoize(&routed, path) {
            MEMO.with(|memo| {
                let Ok(mut memo) = memo.try_borrow_mut() else {
                    return;
                };
                if memo.router != self.memo_id
                    || memo.paths.len() >= MAX_PATHS
                    || memo.bytes + path.len() > MAX_PATH_BYTES
                {
                    memo.paths.clear();
                    memo.bytes = 0;
                    memo.router = self.memo_id;
                }
                if !memo.paths.contains_key(path) {
                    memo.bytes += path.len();
                }
                memo.paths
                    .entry(path.into())
                    .or_default()
                    .push((method.clone(), hit));
            });
        }
        routed
    }

    /// The memo entry for a routed request; `None` for anything but a matched route.
    fn memoize(&self, routed: &Routed<'_>, path: &str) -> Option<Memoized> {
        let Routed::Route {
            mount,
            route,
            params,
            custom_domain: false,
            ..
        } = routed
        else {
            return None;
        };
        let mount = self.mounts.iter().position(|m| std::ptr::eq(m, *mount))?;
        let params = params
            .iter()
            .map(|(_, value)| range_in(path, value))
            .collect::<Option<_>>()?;
        Some(Memoized {
            mount,
            route: route.index,
            // As `Router::route` cuts it: the rest after the prefix, or `/` when nothing is left.
            stage_start: (path.len() > self.mounts[mount].prefix.len())
                .then_some(self.mounts[mount].prefix.len()),
            params,
        })
    }

    /// The routing result a memo entry stands for, for this request's `path`.
    fn rebuild<'a>(&'a self, hit: &Memoized, path: &'a str) -> Option<Routed<'a>> {
        let mount = self.mounts.get(hit.mount)?;
        let route = mount.routes.get(hit.route)?;
        let names = route.key.path.iter().flatten().filter_map(|s| match s {
            Segment::Param(name) | Segment::Greedy(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        });
        let params = names
            .zip(&hit.params)
            .map(|(name, &(start, end))| Some((name, path.get(start..end)?)))
            .collect::<Option<PathParams<'_>>>()?;
        Some(Routed::Route {
            mount,
            route,
            stage_path: match hit.stage_start {
                Some(start) => path.get(start..)?,
                None => "/",
            },
            params,
            metrics: mount.route_metrics.get(hit.route)?,
            custom_domain: false,
        })
    }
}

/// The byte range of `part` within `whole`, when it is a slice of it.
fn range_in(whole: &str, part: &str) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= whole.len()).then_some((start, end))
}
