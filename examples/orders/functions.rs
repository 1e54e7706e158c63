//! The order example's functions: validation, pricing, a flaky payment gateway and a refund.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use portico_runtime::{async_trait, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

/// Registers the example's functions; `charges` records every charge attempt by order id.
pub fn register(registry: &mut Registry, charges: Arc<Mutex<HashMap<String, u32>>>) {
    registry
        .register("validate_order", ValidateOrder)
        .register("price_item", PriceItem)
        .register("charge_card", ChargeCard { attempts: charges })
        .register("refund", Refund);
}

struct ValidateOrder;

#[async_trait]
impl Handler for ValidateOrder {
    async fn call(&self, order: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let items_ok = order["items"].as_array().is_some_and(|items| {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i["sku"].is_string() && i["qty"].as_u64().is_some_and(|q| q > 0))
        });
        let valid = order["order_id"].is_string() && order["card"].is_string() && items_ok;
        Ok(json!({"valid": valid}))
    }
}

struct PriceItem;

#[async_trait]
impl Handler for PriceItem {
    async fn call(&self, item: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let unit_cents = match item["sku"].as_str() {
            Some("tea") => 450,
            Some("cup") => 1200,
            Some(_) => 999,
            None => return Err(FunctionError::unhandled("BadItem", "an item needs a sku")),
        };
        let qty = item["qty"].as_u64().unwrap_or(0);
        Ok(json!({"sku": item["sku"], "qty": qty, "subtotal_cents": unit_cents * qty}))
    }
}

/// Declines card "4000"; answers `PaymentGatewayBusy` to the first attempt of every order,
/// so the workflow's Retry is exercised.
struct ChargeCard {
    attempts: Arc<Mutex<HashMap<String, u32>>>,
}

#[async_trait]
impl Handler for ChargeCard {
    async fn call(&self, order: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let id = order["order_id"].as_str().unwrap_or_default().to_owned();
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
            let n = attempts.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if attempt == 1 {
            return Err(FunctionError::unhandled("PaymentGatewayBusy", "try again"));
        }
        if order["card"] == "4000" {
            return Err(FunctionError::unhandled(
                "CardDeclined",
                "the card was declined",
            ));
        }
        let total: u64 = order["priced"]
            .as_array()
            .map(|p| p.iter().filter_map(|i| i["subtotal_cents"].as_u64()).sum())
            .unwrap_or(0);
        Ok(json!({"charge_id": format!("ch-{id}-{attempt}"), "total": total}))
    }
}

struct Refund;

#[async_trait]
impl Handler for Refund {
    async fn call(&self, order: Value, _ctx: Context) -> Result<Value, FunctionError> {
        tracing::info!(order = %order["order_id"], "compensating");
        Ok(json!({"refunded": true, "reason": order["failure"]["Error"]}))
    }
}
