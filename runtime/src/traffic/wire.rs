//! Response bodies of the management API, field for field as API Gateway sends them:
//! camelCase, dates in epoch seconds, lists under `item`.

use std::collections::BTreeMap;

use serde::Serialize;

/// An `ApiKey` resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyBody {
    /// Identifier.
    pub id: String,
    /// The secret value, only when asked for (and on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the key is enabled.
    pub enabled: bool,
    /// Epoch seconds.
    pub created_date: u64,
    /// Epoch seconds.
    pub last_updated_date: u64,
    /// `restApiId/stageName` strings.
    pub stage_keys: Vec<String>,
}

/// A `UsagePlan` resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanBody {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Covered API stages.
    pub api_stages: Vec<ApiStageBody>,
    /// Per-key throttle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleBody>,
    /// Per-key quota.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaBody>,
}

/// An `ApiStage` of a usage plan; route throttles are keyed `"/path/METHOD"` as in AWS.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStageBody {
    /// The API id.
    pub api_id: String,
    /// The stage name.
    pub stage: String,
    /// Per-method throttles.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub throttle: BTreeMap<String, ThrottleBody>,
}

/// `ThrottleSettings`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleBody {
    /// Bucket size.
    pub burst_limit: i64,
    /// Requests per second.
    pub rate_limit: f64,
}

/// `QuotaSettings`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaBody {
    /// Requests per period.
    pub limit: u64,
    /// Start-day offset.
    pub offset: u32,
    /// `DAY`, `WEEK` or `MONTH`.
    pub period: &'static str,
}

/// A `UsagePlanKey` resource.
#[derive(Debug, Clone, Serialize)]
pub struct UsagePlanKeyBody {
    /// The key id.
    pub id: String,
    /// Always `API_KEY`.
    #[serde(rename = "type")]
    pub key_type: &'static str,
    /// The key value.
    pub value: String,
    /// The key name.
    pub name: String,
}
