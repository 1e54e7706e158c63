use super::*;
use std::time::UNIX_EPOCH;

fn keys() -> ApiKeys {
    let config = ApiKeyConfig {
        name: "alice".into(),
        value: Some("alice-key-0123456789abcdef".into()),
        enabled: true,
        description: None,
        usage_plans: vec!["basic".into()],
    };
    ApiKeys::from_config(&[config], Clock::manual(UNIX_EPOCH)).unwrap()
}

#[test]
fn finds_by_exact_value_only() {
    let keys = keys();
    let alice = keys.find_by_value("alice-key-0123456789abcdef").unwrap();
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.id.len(), ID_LEN);
    assert_eq!(alice.id, Arc::from(stable_id("alice")));
    assert!(keys.find_by_value("alice-key-0123456789abcdeF").is_none());
    assert!(keys.find_by_value("").is_none());
}

#[test]
fn display_masks_all_but_last_four() {
    let keys = keys();
    let alice = keys.get(&stable_id("alice")).unwrap();
    assert_eq!(alice.value.to_string(), format!("{}cdef", "*".repeat(22)));
    assert!(!format!("{alice:?}").contains("alice-key"));
}

#[test]
fn create_generates_values_and_rejects_short_or_duplicate_ones() {
    let keys = keys();
    let new = keys
        .create(NewApiKey {
            name: "bob".into(),
            enabled: true,
            ..NewApiKey::default()
        })
        .unwrap();
    assert_eq!(new.value.expose().len(), GENERATED_VALUE_LEN);
    assert!(keys.find_by_value(new.value.expose()).is_some());
    let short = NewApiKey {
        name: "c".into(),
        value: Some("short".into()),
        ..NewApiKey::default()
    };
    assert!(matches!(
        keys.create(short),
        Err(TrafficError::BadRequest(_))
    ));
    let dup = NewApiKey {
        name: "d".into(),
        value: Some("alice-key-0123456789abcdef".into()),
        ..NewApiKey::default()
    };
    assert!(matches!(keys.create(dup), Err(TrafficError::Conflict(_))));
}

#[test]
fn disable_and_delete() {
    let keys = keys();
    let id = stable_id("alice");
    assert!(!keys.set_enabled(&id, false).unwrap().enabled);
    assert!(
        !keys
            .find_by_value("alice-key-0123456789abcdef")
            .unwrap()
            .enabled
    );
    keys.delete(&id).unwrap();
    assert!(keys.find_by_value("alice-key-0123456789abcdef").is_none());
    assert!(matches!(
        keys.delete(&id),
        Err(TrafficError::NotFound { .. })
    ));
}
