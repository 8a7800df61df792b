//! Fuzz-like property test of the webhook door: recorded Trello deliveries and Apps Script
//! events, mutated (keys removed, values swapped for other types, bytes inserted or cut, lone
//! surrogate escapes and invalid UTF-8 spliced in), correctly signed, then verified. Whatever the
//! door accepts, the worker parses from the stored bytes into the same event; whatever it
//! refuses with a good signature is a payload error (400), never a signature error (401).

use axum::body::Bytes;
use axum::http::HeaderMap;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::Value;

use super::*;
use crate::inbound::InboundEvent;

const CALLBACK: &str = "https://sync.example.com/webhooks/trello";
const NOW: i64 = 1_800_000_000;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/trello/", $name))
    };
}

const TRELLO_SEEDS: [&str; 12] = [
    fixture!("createCard.json"),
    fixture!("updateCard-moved.json"),
    fixture!("updateCard-renamed.json"),
    fixture!("updateCard-description.json"),
    fixture!("updateCard-archived.json"),
    fixture!("updateCard-unarchived.json"),
    fixture!("updateCard-due-date-changed.json"),
    fixture!("addLabelToCard.json"),
    fixture!("commentCard.json"),
    r#"{"model":{"id":"b1"},"action":{"id":"a1","idMemberCreator":"m1","type":"updateBoard","date":"2026-11-21T10:15:02.123Z","data":{"board":{"id":"b1","name":"New"},"old":{"name":"Old"}}}}"#,
    r#"{"model":{"id":"b1"},"action":{"id":"a2","idMemberCreator":"m1","type":"deleteCard","date":"2026-11-21T10:15:02.123Z","data":{"card":{"id":"c1","idShort":4},"list":{"id":"l1"}}}}"#,
    r#"{"model":{"id":"b1"},"action":{"id":"a3","idMemberCreator":"m1","type":"updateCustomFieldItem","date":"2026-11-21T10:15:02.123Z","data":{"card":{"id":"c1"},"customField":{"id":"f1","name":"Email"},"customFieldItem":{"value":{"text":"x@y"}},"old":{"value":null}}}}"#,
];

const SHEET_SEEDS: [&str; 2] = [
    r#"{"spreadsheet_id":"s1","sheet":"Leads","kind":"edit","edited_at":"2026-11-21T10:15:02.123Z","rows":[{"row":2,"values":{"Lead ID":"","Name":"Zoë","Status":"New"}},{"row":3,"values":{"Name":"Ada"}}]}"#,
    r#"{"spreadsheet_id":"s1","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"}"#,
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Drops the key at the `pick`-th path (a date, a card, a whole action …).
    Remove(usize),
    /// Replaces the value at the `pick`-th path with another of the listed shapes.
    Replace(usize, usize),
    /// Splices text the JSON layer must judge into the serialised body.
    Splice(usize, usize),
    /// Cuts a range out of the serialised body.
    Cut(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<usize>().prop_map(Mutation::Remove),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(p, s)| Mutation::Splice(p, s)),
        1 => (any::<usize>(), 1..16usize).prop_map(|(p, n)| Mutation::Cut(p, n)),
    ]
}

fn replacements() -> [Value; 8] {
    [
        Value::Null,
        Value::from(0),
        Value::from(true),
        Value::from(""),
        Value::from("2026-13-45T99:00:00Z"),
        Value::from("é\u{1F600}"),
        serde_json::json!([]),
        serde_json::json!({}),
    ]
}

const SPLICES: [&[u8]; 7] = [
    b"\xff",
    b"\xc3",
    br"\ud800",
    br"\udc00\u0041",
    b"\"",
    b"}",
    b"\x00",
];

/// Every JSON pointer inside `value`, the root excluded.
fn paths(value: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    v,
                )
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{at}/{i}"), v))
            .collect(),
        _ => return,
    };
    for (path, child) in children {
        out.push(path.clone());
        paths(child, path, out);
    }
}

fn mutate(seed: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut value: Value = serde_json::from_str(seed).expect("seeds are JSON");
    let mut spliced: Vec<&Mutation> = Vec::new();
    for m in mutations {
        let mut all = Vec::new();
        paths(&value, String::new(), &mut all);
        match *m {
            Mutation::Remove(pick) if !all.is_empty() => {
                let path = &all[pick % all.len()];
                let (parent, key) = path.rsplit_once('/').expect("a pointer");
                match value.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(items)) => {
                        let i: usize = key.parse().expect("an index");
                        items.remove(i);
                    }
                    _ => {}
                }
            }
            Mutation::Replace(pick, with) if !all.is_empty() => {
                let options = replacements();
                if let Some(slot) = value.pointer_mut(&all[pick % all.len()]) {
                    *slot = options[with % options.len()].clone();
                }
            }
            Mutation::Splice(..) | Mutation::Cut(..) => spliced.push(m),
            _ => {}
        }
    }
    let mut bytes = serde_json::to_vec(&value).expect("serialises");
    for m in spliced {
        match *m {
            Mutation::Splice(at, which) => {
                let at = at % (bytes.len() + 1);
                let text = SPLICES[which % SPLICES.len()];
                bytes.splice(at..at, text.iter().copied());
            }
            Mutation::Cut(at, n) => {
                let at = at % (bytes.len() + 1);
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {}
        }
    }
    bytes
}

fn trello_door(body: Vec<u8>) -> Result<Verified<RawEvent>, VerifyError> {
    let verifier =
        TrelloVerifier::new(&SecretString::from("secret"), vec![CALLBACK.into()]).expect("key");
    let mut headers = HeaderMap::new();
    let signature = verifier.sign(&body, CALLBACK);
    headers.insert(trello::HEADER, signature.parse().expect("header"));
    verifier.verify(&Unverified::new(headers, Bytes::from(body)))
}

fn sheets_door(body: Vec<u8>) -> Result<Verified<RawEvent>, VerifyError> {
    let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let key = StandardWebhooksKey::from_secret(&secret).expect("key");
    let mut headers = HeaderMap::new();
    headers.insert(standard::ID_HEADER, "evt_1".parse().expect("header"));
    headers.insert(standard::TIMESTAMP_HEADER, NOW.into());
    let signature = key.sign("evt_1", NOW, &body);
    headers.insert(
        standard::SIGNATURE_HEADER,
        signature.parse().expect("header"),
    );
    SheetsVerifier::new(key, 300).verify(&Unverified::new(headers, Bytes::from(body)), NOW)
}

/// What the worker does with an inbox row: the row holds the source's text and the raw body.
fn worker_reads(stored: &RawEvent) -> InboundEvent {
    InboundEvent::parse_stored(stored.source.as_str(), &stored.body)
        .unwrap_or_else(|e| panic!("the door accepted what the worker refuses: {e}"))
}

fn check(door: Result<Verified<RawEvent>, VerifyError>) -> Result<(), TestCaseError> {
    match door {
        Ok(event) => prop_assert_eq!(&worker_reads(&event), &event.event),
        Err(error) => prop_assert!(error.is_payload_error(), "signed, yet {error:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn what_the_trello_door_accepts_the_worker_parses(
        seed in 0..TRELLO_SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        check(trello_door(mutate(TRELLO_SEEDS[seed], &mutations)))?;
    }

    #[test]
    fn what_the_apps_script_door_accepts_the_worker_parses(
        seed in 0..SHEET_SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        check(sheets_door(mutate(SHEET_SEEDS[seed], &mutations)))?;
    }
}

#[test]
fn every_seed_passes_the_door_unchanged() {
    for seed in TRELLO_SEEDS {
        assert!(trello_door(mutate(seed, &[])).is_ok(), "{seed}");
    }
    for seed in SHEET_SEEDS {
        assert!(sheets_door(mutate(seed, &[])).is_ok(), "{seed}");
    }
}
