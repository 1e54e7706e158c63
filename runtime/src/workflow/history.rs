//! Execution history as AWS's GetExecutionHistory returns it.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{json, Map, Value};

use super::timestamp::epoch_seconds;

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// 1-based id.
    pub id: u64,
    /// The id of the event before it (0 for the first).
    pub previous_event_id: u64,
    /// When it happened.
    pub timestamp: SystemTime,
    /// The event type, e.g. `PassStateEntered`.
    pub event_type: String,
    /// The `*EventDetails` field name and value, if the type has details. `input`, `output`
    /// and `parameters` hold JSON values; [`HistoryEvent::to_json`] renders them as strings.
    pub details: Option<(String, Value)>,
}

impl HistoryEvent {
    /// The event as the AWS JSON protocol renders it.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("timestamp".into(), json!(epoch_seconds(self.timestamp)));
        o.insert("type".into(), json!(self.event_type));
        o.insert("id".into(), json!(self.id));
        o.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some((k, v)) = &self.details {
            let mut v = v.clone();
            // Payloads are kept as JSON values while running (cheaper than serializing on
            // every transition) and rendered as the JSON strings AWS returns here.
            if let Some(d) = v.as_object_mut() {
                for field in ["input", "output", "parameters"] {
                    if let Some(p) = d.get_mut(field) {
                        *p = Value::String(p.to_string());
                    }
                }
            }
            o.insert(k.clone(), v);
        }
        Value::Object(o)
    }
}

/// A shared, append-only event log for one execution.
#[derive(Debug, Clone, Default)]
pub struct History {
    events: Arc<Mutex<Vec<HistoryEvent>>>,
}

impl History {
    /// A history holding `events` (read back from the store).
    pub fn from_events(events: Vec<HistoryEvent>) -> Self {
        History {
            events: Arc::new(Mutex::new(events)),
        }
    }

    /// Appends an event and returns its id.
    pub fn record(&self, at: SystemTime, event_type: &str, details: Option<(&str, Value)>) -> u64 {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let id = events.len() as u64 + 1;
        events.push(HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp: at,
            event_type: event_type.to_string(),
            details: details.map(|(k, v)| (k.to_string(), v)),
        });
        id
    }

    /// A copy of all events so far.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// `{"truncated": false}`, the payload-details object AWS attaches to inputs and outputs.
pub fn not_truncated() -> Value {
    json!({"truncated": false})
}

/// Details for `*StateEntered`.
pub fn entered(name: &str, input: &Value) -> (&'static str, Value) {
    (
        "stateEnteredEventDetails",
        json!({"name": name, "input": input.clone(), "inputDetails": not_truncated()}),
    )
}

/// Details for `*StateExited`.
pub fn exited(name: &str, output: &Value) -> (&'static str, Value) {
    (
        "stateExitedEventDetails",
        json!({"name": name, "output": output.clone(), "outputDetails": not_truncated()}),
    )
}
