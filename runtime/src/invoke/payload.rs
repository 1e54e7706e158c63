//! What travels into and out of a function: JSON, raw JSON bytes, or a typed value that a
//! typed handler can take back without serializing and parsing it again.

use std::any::Any;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// An event or a result on its way through the stack.
pub enum Payload {
    /// A JSON value tree.
    Json(Value),
    /// Raw JSON text, as received from a client (Lambda Invoke) or a Runtime API process.
    Raw(Bytes),
    /// A typed value built directly (an API Gateway event, a typed handler's result).
    Typed(Typed),
}

/// A typed value that can still become JSON when a consumer needs JSON.
pub struct Typed {
    value: Box<dyn Any + Send>,
    to_json: fn(&(dyn Any + Send)) -> serde_json::Result<Value>,
    to_bytes: Option<ToBytes>,
}

/// Turns a typed payload into its JSON form.
pub type ToJson = fn(&(dyn Any + Send)) -> serde_json::Result<Value>;
type ToBytes = fn(&(dyn Any + Send)) -> serde_json::Result<Vec<u8>>;

impl Payload {
    /// Wraps a typed value. `T`'s JSON form is produced only if someone asks for it.
    pub fn typed<T: Serialize + Send + 'static>(value: T) -> Self {
        fn to_json<T: Serialize + 'static>(v: &(dyn Any + Send)) -> serde_json::Result<Value> {
            match v.downcast_ref::<T>() {
                Some(v) => serde_json::to_value(v),
                None => Ok(Value::Null),
            }
        }
        fn to_bytes<T: Serialize + 'static>(v: &(dyn Any + Send)) -> serde_json::Result<Vec<u8>> {
            match v.downcast_ref::<T>() {
                Some(v) => serde_json::to_vec(v),
                None => Ok(b"null".to_vec()),
            }
        }
        Payload::Typed(Typed {
            value: Box::new(value),
            to_json: to_json::<T>,
            to_bytes: Some(to_bytes::<T>),
        })
    }

    /// Wraps a typed value whose JSON form differs from its `Serialize` output (API Gateway
    /// events, whose crate types carry fields AWS does not send). The value comes boxed: the
    /// events are large, and are built in their Box so that they are never moved whole.
    pub fn typed_with_json<T: Send + 'static>(value: Box<T>, to_json: ToJson) -> Self {
        Payload::Typed(Typed {
            value,
            to_json,
            to_bytes: None,
        })
    }

    /// The payload as a JSON tree.
    pub fn into_value(self) -> serde_json::Result<Value> {
        match self {
            Payload::Json(v) => Ok(v),
            Payload::Raw(bytes) => parse_raw(&bytes),
            Payload::Typed(t) => (t.to_json)(&*t.value),
        }
    }

    /// The payload as `T`: taken as it is when it already is a `T`, converted otherwise.
    pub fn into_typed<T: DeserializeOwned + 'static>(self) -> serde_json::Result<T> {
        match self {
            Payload::Json(v) => serde_json::from_value(v),
            Payload::Raw(bytes) => {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    serde_json::from_slice(b"null")
                } else {
                    serde_json::from_slice(&bytes)
                }
            }
            Payload::Typed(t) => match t.value.downcast::<T>() {
                Ok(v) => Ok(*v),
                Err(value) => {
                    let json = (t.to_json)(&*value)?;
                    serde_json::from_value(json)
                }
            },
        }
    }

    /// The payload as a boxed `T`: the typed value's own Box when it is a `T` (a large event
    /// is not moved), converted otherwise.
    pub fn into_boxed<T: DeserializeOwned + 'static>(self) -> serde_json::Result<Box<T>> {
        match self {
            Payload::Typed(t) => match t.value.downcast::<T>() {
                Ok(v) => Ok(v),
                Err(value) => convert_boxed(Payload::Typed(Typed { value, ..t })),
            },
            other => convert_boxed(other),
        }
    }

    /// The payload as JSON text.
    pub fn into_bytes(self) -> serde_json::Result<Bytes> {
        match self {
            Payload::Json(v) => serde_json::to_vec(&v).map(Bytes::from),
            Payload::Raw(bytes) => Ok(bytes),
            Payload::Typed(t) => match t.to_bytes {
                Some(to_bytes) => to_bytes(&*t.value).map(Bytes::from),
                None => serde_json::to_vec(&(t.to_json)(&*t.value)?).map(Bytes::from),
            },
        }
    }

    /// Takes the typed value out if it is a `T`; hands the payload back unchanged otherwise.
    pub fn take<T: 'static>(self) -> Result<T, Payload> {
        match self {
            Payload::Typed(t) => match t.value.downcast::<T>() {
                Ok(v) => Ok(*v),
                Err(value) => Err(Payload::Typed(Typed { value, ..t })),
            },
            other => Err(other),
        }
    }

    /// Borrows the typed value if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        match self {
            Payload::Typed(t) => t.value.downcast_ref::<T>(),
            _ => None,
        }
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Self {
        Payload::Json(value)
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Payload::Json(v) => write!(f, "Payload::Json({v})"),
            Payload::Raw(b) => write!(f, "Payload::Raw({} bytes)", b.len()),
            Payload::Typed(_) => f.write_str("Payload::Typed(..)"),
        }
    }
}

/// The slow path of [`Payload::into_boxed`]: a payload of another type, through JSON.
#[cold]
#[inline(never)]
fn convert_boxed<T: DeserializeOwned + 'static>(payload: Payload) -> serde_json::Result<Box<T>> {
    payload.into_typed::<T>().map(Box::new)
}

fn parse_raw(bytes: &[u8]) -> serde_json::Result<Value> {
    // An empty Invoke payload is delivered to the function as JSON null, as Lambda does.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Event {
        name: String,
    }

    #[test]
    fn typed_round_trips_without_json_when_types_match() {
        let p = Payload::typed(Event { name: "a".into() });
        assert!(p.downcast_ref::<Event>().is_some());
        assert_eq!(p.into_typed::<Event>().unwrap(), Event { name: "a".into() });
    }

    #[test]
    fn into_boxed_keeps_the_box_or_converts() {
        let p = Payload::typed(Event { name: "a".into() });
        assert_eq!(
            *p.into_boxed::<Event>().unwrap(),
            Event { name: "a".into() }
        );
        let p = Payload::Json(serde_json::json!({"name": "b"}));
        assert_eq!(
            *p.into_boxed::<Event>().unwrap(),
            Event { name: "b".into() }
        );
        let p = Payload::typed(Event { name: "c".into() });
        assert_eq!(
            *p.into_boxed::<Value>().unwrap(),
            serde_json::json!({"name": "c"})
        );
        assert!(Payload::Raw(Bytes::from_static(b"{nope"))
            .into_boxed::<Event>()
            .is_err());
    }

    #[test]
    fn take_gives_the_value_or_the_payload_back() {
        let p = Payload::typed(Event { name: "a".into() });
        let p = p.take::<String>().unwrap_err();
        assert_eq!(p.take::<Event>().unwrap(), Event { name: "a".into() });
        assert!(Payload::Json(Value::Null).take::<Event>().is_err());
    }

    #[test]
    fn typed_converts_through_json_when_types_differ() {
        let p = Payload::typed(Event { name: "a".into() });
        let v: Value = p.into_typed().unwrap();
        assert_eq!(v, serde_json::json!({"name": "a"}));
    }

    #[test]
    fn empty_raw_is_null_and_bad_raw_is_an_error() {
        assert_eq!(
            Payload::Raw(Bytes::new()).into_value().unwrap(),
            Value::Null
        );
        assert!(Payload::Raw(Bytes::from_static(b"{nope"))
            .into_value()
            .is_err());
    }
}
