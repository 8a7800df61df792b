//! Outbox commands: the side effects the engine decided on, as JSON that survives restarts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Field, Side, TrackerKind};
use crate::sync::context::PairContext;

/// One side effect, stored in `outbox.payload` (`kind()` goes into `outbox.kind`). Trello
/// commands name the lead, not the card: the dispatcher reads the card id from the link when it
/// sends, so an update queued behind a pending create reaches the card that create made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Create the lead's card. Not idempotent at Trello, so a retry whose earlier outcome is
    /// unknown first looks for a card already carrying the lead's marker.
    CreateCard {
        lead_id: String,
        list_id: String,
        name: String,
        desc: String,
        /// Custom field id -> text (only non-empty ones).
        custom: BTreeMap<String, String>,
    },
    /// Change fields of the lead's card; only the `Some` ones are sent.
    UpdateCard {
        lead_id: String,
        /// Set when the link is gone by the time this is sent (archiving the card of a deleted
        /// row); otherwise the card is the link's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        card_id: Option<String>,
        name: Option<String>,
        desc: Option<String>,
        id_list: Option<String>,
        closed: Option<bool>,
    },
    /// Put back on the lead's card changes a person made there that a blind write of ours
    /// landed on afterwards, each unless the card's history shows the field changed again by
    /// a person after the change put back: that change (its delivery lost) is read into the
    /// inbox instead, and the field is left as it is (`outbox::restore`).
    RestoreCard {
        lead_id: String,
        /// Board key (`name`, `desc`, `idList`, or a custom field id) -> the value put back.
        fields: BTreeMap<String, String>,
        /// Board key -> when the change put back was made (unix ms).
        since: BTreeMap<String, i64>,
        /// Brings an archived card back with its list, as an update's status does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closed: Option<bool>,
    },
    /// Put the lead's marker into a card a user made, around the description the card has
    /// when this is sent: the notes read when it was planned may be older than the card's
    /// (a user typing while the reconciler adopts the card), and are not this write's to set.
    MarkCard { lead_id: String, card_id: String },
    /// Set (or clear, with "") text custom fields of the lead's card, all in one call.
    SetCustomFields {
        lead_id: String,
        /// Custom field id -> text.
        fields: BTreeMap<String, String>,
    },
    /// One field of [`Command::SetCustomFields`]: no longer planned, but outbox rows stored
    /// before the upgrade carry it and must still send.
    SetCustomField {
        lead_id: String,
        field_id: String,
        text: String,
    },
    /// Write cells of the lead's row, found by its id or, for a row whose id is not written
    /// yet, by its row number when the name there still matches.
    WriteRow {
        lead_id: String,
        row_hint: Option<u32>,
        expect_name: Option<String>,
        /// Header text -> value.
        cells: BTreeMap<String, String>,
    },
    /// Add a row for a lead that exists only as a card.
    AppendRow {
        lead_id: String,
        /// Header text -> value.
        cells: BTreeMap<String, String>,
    },
}

impl Command {
    /// The card its lead's record deletion archived, opened again (the record came back).
    pub fn unarchive(lead_id: &str, card_id: &str) -> Self {
        Command::UpdateCard {
            lead_id: lead_id.to_owned(),
            card_id: Some(card_id.to_owned()),
            name: None,
            desc: None,
            id_list: None,
            closed: Some(false),
        }
    }

    /// A record back from its deletion gets its id cell (`header`) written again. Its tracker
    /// gave it the lead id, and leadsync's write of that id may have met it while it was gone
    /// (a Notion page trashed before the write of its page id after its create: the write is
    /// dropped, the property keeps the id the create carried), and no merge rewrites an id
    /// cell (Notion chaos, seed 9). A tracker without the id column skips it.
    pub fn revived_id(header: &str, lead_id: &str) -> Self {
        Command::WriteRow {
            lead_id: lead_id.to_owned(),
            row_hint: None,
            expect_name: None,
            cells: BTreeMap::from([(header.to_owned(), lead_id.to_owned())]),
        }
    }

    /// The (side, field) pairs this command writes when it is sent.
    pub fn fields_written(&self, ctx: &PairContext) -> Vec<(Side, Field)> {
        match self {
            Command::WriteRow { cells, .. } | Command::AppendRow { cells, .. } => {
                let written = |f: &Field| {
                    let header = ctx.header(*f).trim().to_lowercase();
                    cells.keys().any(|k| k.trim().to_lowercase() == header)
                };
                Field::ALL
                    .iter()
                    .filter(|f| written(f))
                    .map(|f| (Side::Sheet, *f))
                    .collect()
            }
            Command::CreateCard { .. } => Field::ALL.iter().map(|f| (Side::Trello, *f)).collect(),
            Command::UpdateCard {
                name,
                desc,
                id_list,
                ..
            } => [
                (name, Field::Name),
                (desc, Field::Notes),
                (id_list, Field::Status),
            ]
            .into_iter()
            .filter(|(v, _)| v.is_some())
            .map(|(_, f)| (Side::Trello, f))
            .collect(),
            Command::RestoreCard { fields, .. } => fields
                .keys()
                .filter_map(|key| match key.as_str() {
                    "name" => Some(Field::Name),
                    "desc" => Some(Field::Notes),
                    "idList" => Some(Field::Status),
                    id => ctx.field_of(id),
                })
                .map(|f| (Side::Trello, f))
                .collect(),
            // Keeps the card's notes: no field value of ours.
            Command::MarkCard { .. } => Vec::new(),
            Command::SetCustomFields { fields, .. } => fields
                .keys()
                .filter_map(|id| ctx.field_of(id))
                .map(|f| (Side::Trello, f))
                .collect(),
            Command::SetCustomField { field_id, .. } => ctx
                .field_of(field_id)
                .map(|f| (Side::Trello, f))
                .into_iter()
                .collect(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::CreateCard { .. } => "create_card",
            Self::UpdateCard { .. } => "update_card",
            Self::RestoreCard { .. } => "restore_card",
            Self::MarkCard { .. } => "mark_card",
            Self::SetCustomFields { .. } => "set_custom_fields",
            Self::SetCustomField { .. } => "set_custom_field",
            Self::WriteRow { .. } => "write_row",
            Self::AppendRow { .. } => "append_row",
        }
    }

    /// Whether the command writes the pair's lead tracker (a row or record), not its board.
    pub fn is_tracker(&self) -> bool {
        matches!(self, Self::WriteRow { .. } | Self::AppendRow { .. })
    }

    /// The system the command talks to (`outbox.target`): `"trello"` for board commands, the
    /// pair's tracker kind (`"sheets"`, `"airtable"`) for row commands.
    pub fn target(&self, tracker: TrackerKind) -> &'static str {
        if self.is_tracker() {
            tracker.as_str()
        } else {
            "trello"
        }
    }

    pub fn lead_id(&self) -> &str {
        match self {
            Self::CreateCard { lead_id, .. }
            | Self::UpdateCard { lead_id, .. }
            | Self::RestoreCard { lead_id, .. }
            | Self::MarkCard { lead_id, .. }
            | Self::SetCustomFields { lead_id, .. }
            | Self::SetCustomField { lead_id, .. }
            | Self::WriteRow { lead_id, .. }
            | Self::AppendRow { lead_id, .. } => lead_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_json_with_their_kind_and_target() {
        let cmd = Command::SetCustomFields {
            lead_id: "L1".into(),
            fields: BTreeMap::from([("f1".into(), "Zoë".into()), ("f2".into(), String::new())]),
        };
        let json = serde_json::to_value(&cmd).expect("serialise");
        assert_eq!(json["kind"], "set_custom_fields");
        assert_eq!(json["fields"], serde_json::json!({"f1": "Zoë", "f2": ""}));
        let back: Command = serde_json::from_value(json).expect("parse");
        assert_eq!(back, cmd);
        assert_eq!(back.target(TrackerKind::Airtable), "trello");
        assert_eq!(back.lead_id(), "L1");
    }

    #[test]
    fn a_set_custom_field_payload_stored_before_the_upgrade_still_reads() {
        let stored =
            r#"{"kind":"set_custom_field","lead_id":"L1","field_id":"f-phone","text":"+44 1"}"#;
        let cmd: Command = serde_json::from_str(stored).expect("parse");
        assert_eq!(cmd.kind(), "set_custom_field");
        assert_eq!(cmd.target(TrackerKind::Sheets), "trello");
        let ctx = crate::sync::test_support::ctx();
        assert_eq!(cmd.fields_written(&ctx), vec![(Side::Trello, Field::Phone)]);
    }

    #[test]
    fn a_custom_fields_write_names_each_field_it_writes() {
        let cmd = Command::SetCustomFields {
            lead_id: "L1".into(),
            fields: BTreeMap::from([
                ("f-email".into(), "a@x".into()),
                ("f-company".into(), "B".into()),
                ("f-gone".into(), "?".into()),
            ]),
        };
        let mut written = cmd.fields_written(&crate::sync::test_support::ctx());
        written.sort_by_key(|(_, f)| f.as_str());
        assert_eq!(
            written,
            vec![(Side::Trello, Field::Company), (Side::Trello, Field::Email)],
            "a field no longer on the board is no field of ours"
        );
    }

    #[test]
    fn row_commands_go_to_the_pair_s_tracker_and_card_commands_to_trello() {
        let append = Command::AppendRow {
            lead_id: "L1".into(),
            cells: BTreeMap::new(),
        };
        let mark = Command::MarkCard {
            lead_id: "L1".into(),
            card_id: "c1".into(),
        };
        assert!(append.is_tracker() && !mark.is_tracker());
        assert_eq!(append.target(TrackerKind::Sheets), "sheets");
        assert_eq!(append.target(TrackerKind::Airtable), "airtable");
        assert_eq!(mark.target(TrackerKind::Airtable), "trello");
    }
}
