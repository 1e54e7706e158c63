//! Management operations behind API Gateway's `/apikeys` and `/usageplans` REST API, with
//! response bodies exactly as API Gateway returns them (camelCase, dates in epoch seconds,
//! lists under `item`, usage under `values`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::config::ThrottleSettings;
use super::control::TrafficControl;
use super::error::TrafficError;
use super::keys::{ApiKey, NewApiKey};
use super::plan::UsagePlan;
use super::usage::UsageReport;
use super::wire::{
    ApiKeyBody, ApiStageBody, QuotaBody, ThrottleBody, UsagePlanBody, UsagePlanKeyBody,
};

/// API Gateway's default and largest page sizes.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 500;

/// The `CreateApiKey` request body. Unknown fields (tags, customerId...) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    /// Display name.
    pub name: String,
    /// Free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// AWS creates keys disabled unless told otherwise.
    #[serde(default)]
    pub enabled: bool,
    /// The value; generated when absent.
    #[serde(default)]
    pub value: Option<String>,
    /// Legacy stage associations.
    #[serde(default)]
    pub stage_keys: Vec<StageKey>,
}

/// A legacy `{restApiId, stageName}` association.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageKey {
    /// The API id.
    pub rest_api_id: String,
    /// The stage name.
    pub stage_name: String,
}

/// Paging parameters shared by list operations (`limit`, `position`).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Items per page: 25 by default, at most 500.
    pub limit: Option<usize>,
    /// The `position` token from the previous page.
    pub position: Option<String>,
}

/// A list page as API Gateway sends it: `{"item": [...], "position": "..."}`.
#[derive(Debug, Clone, Serialize)]
pub struct ItemPage<T> {
    /// The page's items (boto3 reads them as `items`).
    #[serde(rename = "item")]
    pub items: Vec<T>,
    /// Token for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

impl TrafficControl {
    /// `POST /apikeys`. The response includes the value, as AWS's does.
    pub fn create_api_key(&self, req: CreateApiKeyRequest) -> Result<ApiKeyBody, TrafficError> {
        let key = self.keys.create(NewApiKey {
            name: req.name,
            value: req.value,
            description: req.description,
            enabled: req.enabled,
            usage_plans: Vec::new(),
            stage_keys: req
                .stage_keys
                .into_iter()
                .map(|s| format!("{}/{}", s.rest_api_id, s.stage_name))
                .collect(),
        })?;
        Ok(api_key_body(&key, true))
    }

    /// `GET /apikeys?nameQuery=&includeValues=&limit=&position=`.
    pub fn get_api_keys(
        &self,
        name_query: Option<&str>,
        include_values: bool,
        page: &Page,
    ) -> Result<ItemPage<ApiKeyBody>, TrafficError> {
        let keys: Vec<_> = self
            .keys
            .list()
            .into_iter()
            .filter(|k| name_query.is_none_or(|q| k.name.starts_with(q)))
            .collect();
        paginate(&keys, page, |k| api_key_body(k, include_values))
    }

    /// `GET /apikeys/{id}?includeValue=`.
    pub fn get_api_key(&self, id: &str, include_value: bool) -> Result<ApiKeyBody, TrafficError> {
        let key = self.keys.get(id).ok_or_else(|| not_found("API Key", id))?;
        Ok(api_key_body(&key, include_value))
    }

    /// `GET /usageplans?limit=&position=`.
    pub fn get_usage_plans(&self, page: &Page) -> Result<ItemPage<UsagePlanBody>, TrafficError> {
        let plans: Vec<_> = self
            .plan_order
            .iter()
            .filter_map(|id| self.plans.get(id))
            .collect();
        paginate(&plans, page, |p| usage_plan_body(p))
    }

    /// `GET /usageplans/{id}`.
    pub fn get_usage_plan(&self, id: &str) -> Result<UsagePlanBody, TrafficError> {
        let plan = self
            .plans
            .get(id)
            .ok_or_else(|| not_found("Usage Plan", id))?;
        Ok(usage_plan_body(plan))
    }

    /// `POST /usageplans/{id}/keys` with `{"keyId", "keyType": "API_KEY"}`.
    pub fn create_usage_plan_key(
        &self,
        plan_id: &str,
        key_id: &str,
    ) -> Result<UsagePlanKeyBody, TrafficError> {
        let plan = self
            .plans
            .get(plan_id)
            .ok_or_else(|| not_found("Usage Plan", plan_id))?;
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| not_found("API Key", key_id))?;
        if key.usage_plans.iter().any(|p| &**p == plan_id) {
            return Err(TrafficError::Conflict(
                "Usage Plan Key already exists".into(),
            ));
        }
        let clash = key
            .usage_plans
            .iter()
            .filter_map(|id| self.plans.get(id))
            .any(|other| plan.stages.iter().any(|s| other.covers(&s.api, &s.stage)));
        if clash {
            return Err(TrafficError::Conflict(format!(
                "API Key {key_id} cannot reference multiple Usage Plans with the same API Stage"
            )));
        }
        let key = self.keys.join_plan(key_id, plan_id)?;
        Ok(UsagePlanKeyBody {
            id: key.id.to_string(),
            key_type: "API_KEY",
            value: key.value.expose().to_owned(),
            name: key.name.clone(),
        })
    }

    /// `GET /usageplans/{id}/usage?keyId=&startDate=&endDate=` (dates `YYYY-MM-DD`).
    pub async fn get_usage(
        &self,
        plan_id: &str,
        key_id: Option<&str>,
        start_date: &str,
        end_date: &str,
    ) -> Result<UsageReport, TrafficError> {
        let plan = self
            .plans
            .get(plan_id)
            .ok_or_else(|| not_found("Usage Plan", plan_id))?;
        let start = parse_date("startDate", start_date)?;
        let end = parse_date("endDate", end_date)?;
        let keys: Vec<Arc<str>> = match key_id {
            Some(id) => vec![self
                .keys
                .get(id)
                .ok_or_else(|| not_found("API Key", id))?
                .id
                .clone()],
            None => self
                .keys
                .list()
                .into_iter()
                .filter(|k| k.usage_plans.iter().any(|p| **p == *plan.id))
                .map(|k| k.id.clone())
                .collect(),
        };
        self.usage.report(plan, &keys, start, end).await
    }
}

fn parse_date(field: &str, text: &str) -> Result<NaiveDate, TrafficError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        TrafficError::BadRequest(format!("Invalid {field} `{text}`: expected YYYY-MM-DD"))
    })
}

fn not_found(kind: &'static str, id: &str) -> TrafficError {
    TrafficError::NotFound {
        kind,
        id: id.to_owned(),
    }
}

fn paginate<T, B>(
    all: &[T],
    page: &Page,
    body: impl Fn(&T) -> B,
) -> Result<ItemPage<B>, TrafficError> {
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(TrafficError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let from = match &page.position {
        None => 0,
        Some(p) => p
            .parse::<usize>()
            .map_err(|_| TrafficError::BadRequest("Invalid position parameter".into()))?,
    };
    let to = from.saturating_add(limit).min(all.len());
    let items = all
        .get(from..to)
        .unwrap_or_default()
        .iter()
        .map(body)
        .collect();
    let position = (to < all.len()).then(|| to.to_string());
    Ok(ItemPage { items, position })
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn api_key_body(key: &ApiKey, include_value: bool) -> ApiKeyBody {
    ApiKeyBody {
        id: key.id.to_string(),
        value: include_value.then(|| key.value.expose().to_owned()),
        name: key.name.clone(),
        description: key.description.clone(),
        enabled: key.enabled,
        created_date: epoch_secs(key.created),
        last_updated_date: epoch_secs(key.last_updated),
        stage_keys: key.stage_keys.clone(),
    }
}

fn throttle_body(t: &ThrottleSettings) -> ThrottleBody {
    ThrottleBody {
        burst_limit: t.burst_limit,
        rate_limit: t.rate_limit,
    }
}

/// `"GET /pets"` → `"/pets/GET"`, API Gateway's method path in usage plan throttles.
fn method_path(route_key: &str) -> String {
    match route_key.split_once(' ') {
        Some((method, path)) => format!("{path}/{method}"),
        None => route_key.to_owned(),
    }
}

fn usage_plan_body(plan: &UsagePlan) -> UsagePlanBody {
    UsagePlanBody {
        id: plan.id.to_string(),
        name: plan.name.clone(),
        description: plan.description.clone(),
        api_stages: plan
            .stages
            .iter()
            .map(|s| ApiStageBody {
                api_id: s.api.clone(),
                stage: s.stage.clone(),
                throttle: s
                    .route_throttles
                    .iter()
                    .map(|(r, t)| (method_path(r), throttle_body(t)))
                    .collect(),
            })
            .collect(),
        throttle: plan.throttle.as_ref().map(throttle_body),
        quota: plan.quota.map(|q| QuotaBody {
            limit: q.limit,
            offset: q.offset,
            period: q.period.as_str(),
        }),
    }
}
