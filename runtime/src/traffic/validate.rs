//! [`TrafficConfig::validate`]: every problem at once, each with its path.

use std::collections::{HashMap, HashSet};

use super::config::{
    ConfigIssue, QuotaSettings, ThrottleSettings, TrafficConfig, MIN_KEY_VALUE_LEN,
};
use super::period::QuotaPeriod;

impl TrafficConfig {
    /// Checks the configuration and returns every problem found, not just the first.
    pub fn validate(&self) -> Result<(), Vec<ConfigIssue>> {
        let mut issues = Issues::default();
        if let Some(t) = &self.account_throttle {
            check_throttle(&mut issues, "account_throttle", t);
        }
        let mut seen_stages = HashSet::new();
        for (i, s) in self.stages.iter().enumerate() {
            let path = format!("stages[{i}]");
            if !seen_stages.insert((&s.api, &s.stage)) {
                issues.push(
                    &path,
                    format!("stage `{}/{}` is listed twice", s.api, s.stage),
                );
            }
            if let Some(t) = &s.throttle {
                check_throttle(&mut issues, &format!("{path}.throttle"), t);
            }
            for (route, t) in &s.routes {
                let path = format!("{path}.routes.\"{route}\"");
                check_route_key(&mut issues, &path, route);
                check_throttle(&mut issues, &path, t);
            }
        }
        self.validate_plans(&mut issues);
        self.validate_keys(&mut issues);
        issues.finish()
    }

    fn validate_plans(&self, issues: &mut Issues) {
        let mut ids = HashSet::new();
        for (i, plan) in self.usage_plans.iter().enumerate() {
            let path = format!("usage_plans[{i}]");
            if plan.id.trim().is_empty() {
                issues.push(&format!("{path}.id"), "must not be empty".into());
            } else if !ids.insert(plan.id.as_str()) {
                issues.push(
                    &format!("{path}.id"),
                    format!("duplicate plan id `{}`", plan.id),
                );
            }
            if let Some(t) = &plan.throttle {
                check_throttle(issues, &format!("{path}.throttle"), t);
            }
            if let Some(q) = &plan.quota {
                check_quota(issues, &format!("{path}.quota"), q);
            }
            let mut stages = HashSet::new();
            for (j, s) in plan.stages.iter().enumerate() {
                let spath = format!("{path}.stages[{j}]");
                if !stages.insert((&s.api, &s.stage)) {
                    issues.push(
                        &spath,
                        format!("stage `{}/{}` is listed twice", s.api, s.stage),
                    );
                }
                for (route, t) in &s.throttle {
                    let rpath = format!("{spath}.throttle.\"{route}\"");
                    check_route_key(issues, &rpath, route);
                    check_throttle(issues, &rpath, t);
                }
            }
        }
    }

    fn validate_keys(&self, issues: &mut Issues) {
        let plans: HashMap<&str, _> = self
            .usage_plans
            .iter()
            .map(|p| (p.id.as_str(), p))
            .collect();
        let mut names = HashSet::new();
        let mut values = HashSet::new();
        for (i, key) in self.api_keys.iter().enumerate() {
            let path = format!("api_keys[{i}]");
            if key.name.trim().is_empty() {
                issues.push(&format!("{path}.name"), "must not be empty".into());
            } else if !names.insert(key.name.as_str()) {
                issues.push(
                    &format!("{path}.name"),
                    format!("duplicate key name `{}`", key.name),
                );
            }
            if let Some(value) = &key.value {
                if value.chars().count() < MIN_KEY_VALUE_LEN {
                    issues.push(
                        &format!("{path}.value"),
                        format!("an API key value needs at least {MIN_KEY_VALUE_LEN} characters"),
                    );
                } else if !values.insert(value.as_str()) {
                    issues.push(&format!("{path}.value"), "two keys share this value".into());
                }
            }
            // API Gateway refuses a key in two plans that cover the same API stage.
            let mut covered: HashMap<(&str, &str), &str> = HashMap::new();
            for (j, plan_id) in key.usage_plans.iter().enumerate() {
                let ppath = format!("{path}.usage_plans[{j}]");
                let Some(plan) = plans.get(plan_id.as_str()) else {
                    issues.push(&ppath, format!("unknown usage plan `{plan_id}`"));
                    continue;
                };
                for s in &plan.stages {
                    if let Some(other) = covered.insert((&s.api, &s.stage), plan_id) {
                        if other != plan_id {
                            issues.push(
                                &ppath,
                                format!(
                                    "plans `{other}` and `{plan_id}` both cover stage `{}/{}`; \
                                     a key may belong to only one plan per stage",
                                    s.api, s.stage
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct Issues(Vec<ConfigIssue>);

impl Issues {
    fn push(&mut self, path: &str, message: String) {
        self.0.push(ConfigIssue {
            path: path.to_owned(),
            message,
        });
    }

    fn finish(self) -> Result<(), Vec<ConfigIssue>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

fn check_throttle(issues: &mut Issues, path: &str, t: &ThrottleSettings) {
    if !(t.rate_limit.is_finite() && t.rate_limit > 0.0) {
        issues.push(
            &format!("{path}.rate_limit"),
            format!("must be greater than 0, got {}", t.rate_limit),
        );
    }
    if t.burst_limit < 1 || t.burst_limit > i64::from(u32::MAX) {
        issues.push(
            &format!("{path}.burst_limit"),
            format!("must be between 1 and {}, got {}", u32::MAX, t.burst_limit),
        );
    } else if t.rate_limit.is_finite() && (t.burst_limit as f64) < t.rate_limit {
        issues.push(
            &format!("{path}.burst_limit"),
            format!(
                "burst_limit {} is below rate_limit {}",
                t.burst_limit, t.rate_limit
            ),
        );
    }
}

fn check_quota(issues: &mut Issues, path: &str, q: &QuotaSettings) {
    if q.limit < 1 {
        issues.push(
            &format!("{path}.limit"),
            format!("must be greater than 0, got {}", q.limit),
        );
    }
    match QuotaPeriod::parse(&q.period) {
        None => issues.push(
            &format!("{path}.period"),
            format!("`{}` is not a period: use DAY, WEEK or MONTH", q.period),
        ),
        Some(period) => {
            let max = i64::from(period.max_offset());
            if !(0..=max).contains(&q.offset) {
                issues.push(
                    &format!("{path}.offset"),
                    format!(
                        "offset {} is out of range for {}: allowed 0..={max}",
                        q.offset, q.period
                    ),
                );
            }
        }
    }
}

fn check_route_key(issues: &mut Issues, path: &str, route: &str) {
    let ok = route
        .split_once(' ')
        .is_some_and(|(method, path)| !method.is_empty() && path.starts_with('/'));
    if !ok {
        issues.push(
            path,
            format!("`{route}` is not a route key like \"GET /pets\""),
        );
    }
}
