//! How each system's shape maps to lead fields (CONTRACT §3): status ↔ list, the card
//! description's marker line, sheet columns by header text, and card fields. Pure, no I/O.

use std::collections::HashMap;

use crate::model::{Field, LeadFields, LeadId};

/// `[pairs.status_lists]`: status value in the sheet → Trello list name, in config order.
#[derive(Debug, Clone, Default)]
pub struct StatusLists(Vec<(String, String)>);

/// Users type statuses and name lists by hand, so case and stray spaces must not matter.
fn same_text(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl StatusLists {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The list NAME a status maps to; `None` for an unmapped status (warn, leave as is).
    pub fn list_for_status(&self, status: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(s, _)| same_text(s, status))
            .map(|(_, list)| list.as_str())
    }

    /// The status (as spelled in the config) of a list; `None` for an unmapped list. When
    /// several statuses share a list, the first configured one is the list's status.
    pub fn status_for_list(&self, list_name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, l)| same_text(l, list_name))
            .map(|(s, _)| s.as_str())
    }

    /// The configured spelling of a sheet status. Both sides must present a status in the same
    /// spelling before merging, or "contacted" in the sheet and "Contacted" from the list would
    /// hash differently and bounce between the systems.
    pub fn canonical_status(&self, status: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(s, _)| same_text(s, status))
            .map(|(s, _)| s.as_str())
    }
}

const MARKER_PREFIX: &str = "leadsync:";

/// Splits a card description into the notes and the lead id of its last-line marker. A
/// description without a valid marker is all notes.
pub fn split_description(desc: &str) -> (String, Option<LeadId>) {
    // Trello may drop a trailing newline; the marker is the last non-blank line.
    let body = desc.trim_end();
    let (before, last) = match body.rfind('\n') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => ("", body),
    };
    let Some(id) = last
        .trim()
        .strip_prefix(MARKER_PREFIX)
        .and_then(|rest| LeadId::parse(rest).ok())
    else {
        return (desc.to_owned(), None);
    };
    // Undo exactly the blank separator line compose_description adds, so notes that end in
    // blank lines (or a stray '\r') of their own survive the round trip. A description a user
    // saved with CRLF line ends has a CRLF separator instead.
    let crlf = before.ends_with('\r');
    let rest = if crlf {
        &before[..before.len() - 1]
    } else {
        before
    };
    let rest = rest.strip_suffix('\n').unwrap_or(rest);
    let notes = if crlf {
        rest.strip_suffix('\r').unwrap_or(rest)
    } else {
        rest
    };
    (notes.to_owned(), Some(id))
}

/// The description leadsync writes: the notes, a blank line, then the marker; empty notes
/// give the marker alone.
pub fn compose_description(notes: &str, id: &LeadId) -> String {
    if notes.is_empty() {
        format!("{MARKER_PREFIX}{id}")
    } else {
        format!("{notes}\n\n{MARKER_PREFIX}{id}")
    }
}

/// `[pairs.columns]`: the header text of each column (local mirror of the config section).
#[derive(Debug, Clone)]
pub struct ColumnNames {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub status: String,
    pub notes: String,
    pub card: Option<String>,
}

impl ColumnNames {
    fn field_header(&self, field: Field) -> &str {
        match field {
            Field::Name => &self.name,
            Field::Status => &self.status,
            Field::Notes => &self.notes,
            Field::Email => &self.email,
            Field::Phone => &self.phone,
            Field::Company => &self.company,
        }
    }
}

/// Configured columns absent from the header row, by their header text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sheet header row lacks column(s): {}", .0.join(", "))]
pub struct MissingColumns(pub Vec<String>);

/// Where each column sits (0-based) in this sheet's header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub id: usize,
    pub fields: Vec<(Field, usize)>,
    pub card: Option<usize>,
}

/// One sheet row read through a [`ColumnMap`]; ids are raw text, validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetLead {
    pub id: String,
    pub fields: LeadFields,
    pub card_url: Option<String>,
}

impl SheetLead {
    /// CONTRACT §3: a row with an empty name is not a lead.
    pub fn is_lead(&self) -> bool {
        self.fields
            .get(Field::Name)
            .is_some_and(|n| !n.trim().is_empty())
    }
}

impl ColumnMap {
    /// Finds every configured column in row 1 by trimmed, case-insensitive header text.
    pub fn from_header(header: &[String], names: &ColumnNames) -> Result<Self, MissingColumns> {
        let mut missing = Vec::new();
        let mut find = |wanted: &str| {
            let pos = header.iter().position(|h| same_text(h, wanted));
            if pos.is_none() {
                missing.push(wanted.to_owned());
            }
            pos
        };
        let id = find(&names.id);
        let fields: Vec<(Field, Option<usize>)> = Field::ALL
            .iter()
            .map(|f| (*f, find(names.field_header(*f))))
            .collect();
        let card = names.card.as_deref().map(&mut find);
        if !missing.is_empty() {
            return Err(MissingColumns(missing));
        }
        Ok(Self {
            id: id.unwrap_or_default(),
            fields: fields
                .into_iter()
                .map(|(f, i)| (f, i.unwrap_or_default()))
                .collect(),
            card: card.flatten(),
        })
    }

    /// Reads a row of display strings; cells past the row's end are empty, as Sheets omits them.
    pub fn read_row(&self, cells: &[String]) -> SheetLead {
        let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
        SheetLead {
            id: cell(self.id).trim().to_owned(),
            fields: self.fields.iter().map(|(f, i)| (*f, cell(*i))).collect(),
            card_url: self.card.map(cell).filter(|u| !u.trim().is_empty()),
        }
    }
}

/// Reads an Apps Script row (`values` by header text) with the configured column names.
pub fn read_values(values: &HashMap<String, String>, names: &ColumnNames) -> SheetLead {
    let cell = |wanted: &str| {
        values
            .iter()
            .find(|(h, _)| same_text(h, wanted))
            .map(|(_, v)| v.clone())
    };
    SheetLead {
        id: cell(&names.id).unwrap_or_default().trim().to_owned(),
        fields: Field::ALL
            .iter()
            .filter_map(|f| cell(names.field_header(*f)).map(|v| (*f, v)))
            .collect(),
        card_url: names
            .card
            .as_deref()
            .and_then(cell)
            .filter(|u| !u.trim().is_empty()),
    }
}

/// What the mapping needs of a card (the board's `model::board::Card` is adapted to this).
#[derive(Debug, Clone, Copy)]
pub struct CardInput<'a> {
    pub name: &'a str,
    pub desc: &'a str,
    pub list_id: &'a str,
    /// (custom field id, text value) for each text custom field the card has a value for.
    pub custom_fields: &'a [(String, String)],
}

/// The board's names resolved at start-up: list id → name, custom field id → lead field.
#[derive(Debug, Clone, Default)]
pub struct BoardNames {
    pub lists: HashMap<String, String>,
    pub custom_fields: HashMap<String, Field>,
}

/// A card read as a lead. `unmapped_list` names a list with no status (to warn about); the
/// status field is then absent so the merge leaves the sheet's status alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardLead {
    pub lead_id: Option<LeadId>,
    pub fields: LeadFields,
    pub unmapped_list: Option<String>,
}

pub fn card_fields(card: CardInput<'_>, board: &BoardNames, statuses: &StatusLists) -> CardLead {
    let (notes, lead_id) = split_description(card.desc);
    let mut fields = LeadFields::new();
    fields.set(Field::Name, card.name);
    fields.set(Field::Notes, notes);
    // A text custom field with no value is absent from the card: that is an empty value.
    for field in board.custom_fields.values() {
        fields.set(*field, "");
    }
    for (id, text) in card.custom_fields {
        if let Some(field) = board.custom_fields.get(id) {
            fields.set(*field, text.as_str());
        }
    }
    let list_name = board.lists.get(card.list_id).map(String::as_str);
    let status = list_name.and_then(|l| statuses.status_for_list(l));
    let unmapped_list = match (status, list_name) {
        (Some(s), _) => {
            fields.set(Field::Status, s);
            None
        }
        (None, name) => Some(name.unwrap_or(card.list_id).to_owned()),
    };
    CardLead {
        lead_id,
        fields,
        unmapped_list,
    }
}

#[cfg(test)]
mod tests;
