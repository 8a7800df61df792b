//! A label set's or a due date's value before some writes of ours, from the card's history
//! (`overwritten`): no one action shows either whole (a label action carries one label; an
//! update of the due date or of its complete flag carries that key alone, with its old value),
//! so the value the card holds now has each of our actions undone, newest first: a label we
//! put on is taken off and one we took off put back; an update's `data.old` gives back the date
//! or the flag it replaced. What is left is what the card held just before our writes.

use serde_json::Value;

use crate::model::board::{CardAction, Label};

use super::values::{self, Due, LabelKey, label_key};

/// `field`'s value (`labels` or `due`) before `ours` (in the order they were made), the card
/// holding `now` after them; `None` for another field or a value or action that does not read.
pub fn before(field: &str, now: &str, ours: &[&CardAction]) -> Option<String> {
    let actions: Vec<Value> = (ours.iter().rev())
        .map(|a| serde_json::from_slice::<Value>(&a.delivery).map(|d| d["action"].clone()))
        .collect::<Result<_, _>>()
        .ok()?;
    match field {
        "labels" => {
            let mut keys: Vec<LabelKey> = values::parse(field, now).ok()?;
            for action in &actions {
                let key = label_of(action)?;
                match action["type"].as_str()? {
                    "addLabelToCard" => keys.retain(|k| *k != key),
                    "removeLabelFromCard" => keys.push(key),
                    _ => return None,
                }
            }
            Some(values::label_set(keys))
        }
        "due" => {
            let mut due: Due = values::parse(field, now).ok()?;
            for action in &actions {
                let old = action["data"]["old"].as_object()?;
                if let Some(date) = old.get("due") {
                    due.due = date.as_str().map(str::to_owned);
                }
                if let Some(complete) = old.get("dueComplete") {
                    due.complete = complete.as_bool()?;
                }
            }
            Some(values::due_value(due.due.as_deref(), due.complete))
        }
        _ => None,
    }
}

/// The key of the label a label action put on or took off.
fn label_of(action: &Value) -> Option<LabelKey> {
    let label = &action["data"]["label"];
    Some(label_key(&Label {
        id: String::new(),
        name: label["name"].as_str().unwrap_or_default().to_owned(),
        color: label["color"].as_str().map(str::to_owned),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(kind: &str, data: Value) -> CardAction {
        let action = serde_json::json!({"type": kind, "data": data});
        CardAction {
            action_id: "x".into(),
            date: chrono::DateTime::UNIX_EPOCH,
            member_creator_id: "us".into(),
            keys: Vec::new(),
            delivery: serde_json::to_vec(&serde_json::json!({"action": action})).expect("json"),
        }
    }

    #[test]
    fn a_label_set_replaced_by_ours_is_given_back() {
        // The user had Hot and Mine; our write replaced the set with Hot and Theirs.
        let label = |name: &str| serde_json::json!({"label": {"name": name, "color": "red"}});
        let ours = [
            action("removeLabelFromCard", label("Mine")),
            action("addLabelToCard", label("Theirs")),
        ];
        let now = r#"[["Hot",null],["Theirs",null]]"#;
        let was = before("labels", now, &ours.iter().collect::<Vec<_>>());
        assert_eq!(was.as_deref(), Some(r#"[["Hot",null],["Mine",null]]"#));
    }

    #[test]
    fn a_due_date_and_its_flag_replaced_by_ours_are_given_back() {
        let now = r#"{"due":"2026-12-24T10:00:00.000Z","complete":false}"#;
        // Only the flag changed: the date stays what the card holds.
        let flag = action(
            "updateCard",
            serde_json::json!({"old": {"dueComplete": true}}),
        );
        let was = before("due", now, &[&flag]);
        assert_eq!(
            was.as_deref(),
            Some(r#"{"due":"2026-12-24T10:00:00.000Z","complete":true}"#)
        );
        let date = action("updateCard", serde_json::json!({"old": {"due": null}}));
        let was = before("due", now, &[&date, &flag]);
        assert_eq!(was.as_deref(), Some(r#"{"due":null,"complete":true}"#));
        assert_eq!(before("name", "x", &[&flag]), None);
    }
}
