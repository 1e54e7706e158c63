//! Matching a request to a route, with API Gateway's precedence: the longest mount prefix,
//! then literal segments over `{param}` over `{greedy+}`, then a specific method over `ANY`,
//! and `$default` last.

use http::Method;
use smallvec::SmallVec;

use super::{Mount, PathParams, Routed, Router};
use crate::config::Segment;

impl Router {
    /// Routes a request.
    pub fn route<'a>(&'a self, method: &Method, path: &'a str) -> Routed<'a> {
        let Some(mount) = self.mounts.iter().find(|m| {
            m.prefix.is_empty()
                || (path.starts_with(&m.prefix)
                    && matches!(path.as_bytes().get(m.prefix.len()), None | Some(b'/')))
        }) else {
            return Routed::NoApi;
        };
        self.route_in(mount, method, &path[mount.prefix.len()..])
    }

    /// Finds the route of `mount` for a path within the stage.
    pub(in crate::gateway) fn route_in<'a>(
        &'a self,
        mount: &'a Mount,
        method: &Method,
        stage_path: &'a str,
    ) -> Routed<'a> {
        let stage_path = if stage_path.is_empty() {
            "/"
        } else {
            stage_path
        };
        let segments = split_segments(stage_path);
        let mut best: Option<(Rank, usize, PathParams<'_>)> = None;
        let mut default = None;
        for (index, route) in mount.routes.iter().enumerate() {
            if let Some(m) = &route.key.method {
                if m != method {
                    continue;
                }
            }
            let Some(pattern) = &route.key.path else {
                default = Some(index);
                continue;
            };
            if let Some((mut rank, params)) = match_path(pattern, &segments, stage_path) {
                rank.push(u8::from(route.key.method.is_none()));
                if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                    best = Some((rank, index, params));
                }
            }
        }
        let (index, params) = match (best, default) {
            (Some((_, index, params)), _) => (index, params),
            (None, Some(index)) => (index, PathParams::new()),
            (None, None) => return Routed::NoRoute(mount),
        };
        Routed::Route {
            mount,
            route: &mount.routes[index],
            stage_path,
            params,
            metrics: &mount.route_metrics[index],
            custom_domain: false,
        }
    }
}

/// Lower is more specific: one entry per segment (literal 0, param 1, greedy 2), then ANY.
/// Inline up to 15 segments, so routing a request allocates nothing for ranking.
type Rank = SmallVec<[u8; 16]>;
/// A path's segments, inline up to 16 of them.
type Segments<'a> = SmallVec<[&'a str; 16]>;

fn split_segments(path: &str) -> Segments<'_> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        Segments::new()
    } else {
        trimmed.split('/').collect()
    }
}

/// Matches segments against a pattern; returns a rank (lower is more specific) and params.
fn match_path<'a>(
    pattern: &'a [Segment],
    segments: &[&'a str],
    path: &'a str,
) -> Option<(Rank, PathParams<'a>)> {
    let mut rank = Rank::new();
    let mut params = PathParams::new();
    for (i, seg) in pattern.iter().enumerate() {
        match seg {
            Segment::Literal(lit) => {
                if segments.get(i)? != lit {
                    return None;
                }
                rank.push(0);
            }
            Segment::Param(name) => {
                let value = segments.get(i).filter(|s| !s.is_empty())?;
                params.push(name, value);
                rank.push(1);
            }
            Segment::Greedy(name) => {
                if segments.len() <= i || segments[i].is_empty() {
                    return None;
                }
                // The rest of the path, from this segment on, as one value.
                let offset = offset_of_segment(path, i);
                params.push(name, &path[offset..]);
                rank.push(2);
                return Some((rank, params));
            }
        }
    }
    (segments.len() == pattern.len()).then_some((rank, params))
}

fn offset_of_segment(path: &str, index: usize) -> usize {
    let mut seen = 0;
    for (pos, b) in path.bytes().enumerate() {
        if b == b'/' {
            if seen == index {
                return pos + 1;
            }
            seen += 1;
        }
    }
    path.len()
}
