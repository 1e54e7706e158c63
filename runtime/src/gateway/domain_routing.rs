//! Custom domain names on the router: a request whose Host is a configured domain is routed
//! by the domain's base path mappings instead of by mount prefix.

use http::Method;

use super::router::{Routed, Router};
use crate::config::domains::Domain;

impl Router {
    /// Adds custom domains: a request whose Host is one of them is routed by base path.
    pub fn with_domains(mut self, domains: &[Domain]) -> Self {
        for domain in domains {
            let mapped = domain
                .mappings
                .iter()
                .filter_map(|m| {
                    let index = self
                        .mounts
                        .iter()
                        .position(|mount| mount.api_name == m.api && mount.stage == m.stage)?;
                    Some((m.base_path.clone(), index))
                })
                .collect();
            self.domains.insert(domain.name.clone(), mapped);
        }
        self
    }

    /// Routes a request by its Host header: a custom domain routes by its base path
    /// mappings (the base path is not part of the stage path); any other host by path.
    pub fn route_for_host<'a>(
        &'a self,
        method: &Method,
        host: Option<&str>,
        path: &'a str,
    ) -> Routed<'a> {
        let mappings = match host {
            Some(host) if !self.domains.is_empty() => {
                let host = host.rsplit_once(':').map_or(host, |(name, _)| name);
                self.domains.get(&host.to_ascii_lowercase())
            }
            _ => None,
        };
        let Some(mappings) = mappings else {
            return self.route(method, path);
        };
        for (base_path, index) in mappings {
            let rest = if base_path.is_empty() {
                Some(path)
            } else {
                path.strip_prefix('/')
                    .and_then(|p| p.strip_prefix(base_path.as_str()))
                    .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            };
            if let Some(rest) = rest {
                let mut routed = self.route_in(&self.mounts[*index], method, rest);
                if let Routed::Route { custom_domain, .. } = &mut routed {
                    *custom_domain = true;
                }
                return routed;
            }
        }
        Routed::NoMapping
    }
}
