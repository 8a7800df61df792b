//! A pair as the engine sees it at run time: its config plus the board ids resolved by name.

use std::collections::HashMap;

use crate::config::{ConflictPolicySetting, OnCardArchived, PairSettings, Settings};
use crate::model::{ConflictPolicy, Field, Side, TrackerKind};
use crate::sync::mapping::{BoardNames, ColumnNames, StatusLists};
use crate::sync::merge::MergeRules;

/// Everything needed to translate between a row and a card for one pair.
#[derive(Debug, Clone)]
pub struct PairContext {
    pub name: String,
    /// The kind of lead tracker: names the tracker side in logs and picks its client.
    pub tracker: TrackerKind,
    pub settings: PairSettings,
    pub statuses: StatusLists,
    pub columns: ColumnNames,
    pub board: BoardNames,
    /// Lower-cased list name -> list id (open lists of the board).
    list_ids: HashMap<String, String>,
    /// Email/Phone/Company -> custom field definition id.
    field_ids: HashMap<Field, String>,
    /// The Trello token's member: actions by it are our own writes coming back.
    pub member_id: String,
    pub policy: ConflictPolicy,
    /// The configured `conflict_policy` as the operator spelled it (`prefer_tracker` stays
    /// `prefer_tracker` though the merge runs it as `prefer_sheet`): what logs print.
    pub policy_name: &'static str,
    /// `sync.initial_source` (or `reconcile --initial-source`): who wins a first link.
    pub initial_source: Side,
    /// `sync.on_card_archived = "status:X"`: the status an archived card gives its row.
    pub archived_status: Option<String>,
    pub create_rows_from_cards: bool,
    /// `sync.on_row_deleted`: what a deleted row (or record) does to its card.
    pub on_row_deleted: crate::config::OnRowDeleted,
}

/// The board as read from Trello, before it is checked against a pair's config.
#[derive(Debug, Clone, Default)]
pub struct BoardLayout {
    /// (list id, list name) of the open lists.
    pub lists: Vec<(String, String)>,
    /// (field id, field name, field type) of the custom field definitions.
    pub custom_fields: Vec<(String, String, String)>,
}

/// What is missing for a pair to run; every entry names the thing to create.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pair {pair}: {}", .problems.join("; "))]
pub struct Unresolved {
    pub pair: String,
    pub problems: Vec<String>,
}

/// The pair's `conflict_policy`, or the `[sync]` default.
fn policy_setting(settings: &Settings, pair: &PairSettings) -> ConflictPolicySetting {
    pair.conflict_policy
        .unwrap_or(settings.sync.conflict_policy)
}

/// The policy the merge runs for the pair's `conflict_policy` (or the `[sync]` default).
pub fn policy_of(settings: &Settings, pair: &PairSettings) -> ConflictPolicy {
    use ConflictPolicySetting as S;
    match policy_setting(settings, pair) {
        S::LastWriterWins => ConflictPolicy::LastWriterWins,
        S::PreferSheet => ConflictPolicy::PreferSheet,
        S::PreferTrello => ConflictPolicy::PreferTrello,
        // The merge's tracker side is `Side::Sheet` whatever the tracker's kind.
        S::PreferTracker => ConflictPolicy::PreferSheet,
    }
}

/// The pair's `conflict_policy` (or the `[sync]` default) by its config name.
pub fn policy_name_of(settings: &Settings, pair: &PairSettings) -> &'static str {
    use ConflictPolicySetting as S;
    match policy_setting(settings, pair) {
        S::PreferTracker => "prefer_tracker",
        // The others are named as the merge's policies are (one spelling, one place).
        _ => policy_of(settings, pair).as_str(),
    }
}

pub fn column_names(pair: &PairSettings) -> ColumnNames {
    let c = &pair.columns;
    ColumnNames {
        id: c.id.clone(),
        name: c.name.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        company: c.company.clone(),
        status: c.status.clone(),
        notes: c.notes.clone(),
        card: c.card.clone(),
    }
}

/// The custom-field-backed lead fields and the column header naming each.
pub fn custom_field_names(pair: &PairSettings) -> [(Field, &str); 3] {
    let c = &pair.columns;
    [
        (Field::Email, c.email.as_str()),
        (Field::Phone, c.phone.as_str()),
        (Field::Company, c.company.as_str()),
    ]
}

impl PairContext {
    /// Checks the board against the pair's config: every mapped list and every custom field
    /// must exist (text fields), matched by name ignoring case and surrounding spaces.
    pub fn new(
        settings: &Settings,
        pair: &PairSettings,
        board: &BoardLayout,
        member_id: &str,
    ) -> Result<Self, Unresolved> {
        let mut problems = Vec::new();
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let mut list_ids = HashMap::new();
        let mut names = BoardNames::default();
        for (id, name) in &board.lists {
            names.lists.insert(id.clone(), name.clone());
            list_ids
                .entry(name.trim().to_lowercase())
                .or_insert_with(|| id.clone());
        }
        for (status, list) in &pair.status_lists {
            if !board.lists.iter().any(|(_, n)| same(n, list)) {
                problems.push(format!(
                    "list \"{list}\" (status \"{status}\") is missing on the board"
                ));
            }
        }
        let mut field_ids = HashMap::new();
        for (field, wanted) in custom_field_names(pair) {
            match board.custom_fields.iter().find(|(_, n, _)| same(n, wanted)) {
                Some((id, _, kind)) if kind == "text" => {
                    field_ids.insert(field, id.clone());
                    names.custom_fields.insert(id.clone(), field);
                }
                Some((_, _, kind)) => problems.push(format!(
                    "custom field \"{wanted}\" is a {kind} field; leadsync needs a text field"
                )),
                None => problems.push(format!("custom field \"{wanted}\" is missing on the board")),
            }
        }
        if !problems.is_empty() {
            return Err(Unresolved {
                pair: pair.name.clone(),
                problems,
            });
        }
        let archived_status = match settings.sync.card_archived_action() {
            Some(OnCardArchived::SetStatus(s)) => Some(s),
            _ => None,
        };
        Ok(Self {
            name: pair.name.clone(),
            tracker: pair.tracker,
            settings: pair.clone(),
            statuses: StatusLists::new(pair.status_lists.clone()),
            columns: column_names(pair),
            board: names,
            list_ids,
            field_ids,
            member_id: member_id.to_owned(),
            policy: policy_of(settings, pair),
            policy_name: policy_name_of(settings, pair),
            initial_source: settings.sync.initial_source,
            archived_status,
            create_rows_from_cards: settings.sync.create_rows_from_cards,
            on_row_deleted: settings.sync.on_row_deleted,
        })
    }

    /// What the merge decides with.
    pub fn rules(&self) -> MergeRules {
        MergeRules {
            policy: self.policy,
            initial_source: self.initial_source,
        }
    }

    /// The list a status maps to; `None` for an unmapped status.
    pub fn list_for_status(&self, status: &str) -> Option<&str> {
        let list = self.statuses.list_for_status(status)?;
        self.list_ids
            .get(&list.trim().to_lowercase())
            .map(String::as_str)
    }

    /// The status a list stands for; `None` for an unmapped list.
    pub fn status_for_list(&self, list_id: &str) -> Option<&str> {
        let name = self.board.lists.get(list_id)?;
        self.statuses.status_for_list(name)
    }

    pub fn field_id(&self, field: Field) -> Option<&str> {
        self.field_ids.get(&field).map(String::as_str)
    }

    pub fn field_of(&self, custom_field_id: &str) -> Option<Field> {
        self.board.custom_fields.get(custom_field_id).copied()
    }

    /// The lead field whose sheet header is `header` (trimmed, any case), if any.
    pub fn field_of_header(&self, header: &str) -> Option<Field> {
        let header = header.trim();
        Field::ALL
            .into_iter()
            .find(|f| self.header(*f).trim().eq_ignore_ascii_case(header))
    }

    /// Sheet header text of a lead field.
    pub fn header(&self, field: Field) -> &str {
        let c = &self.settings.columns;
        match field {
            Field::Name => &c.name,
            Field::Status => &c.status,
            Field::Notes => &c.notes,
            Field::Email => &c.email,
            Field::Phone => &c.phone,
            Field::Company => &c.company,
        }
    }
}
