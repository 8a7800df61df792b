//! The fields of an Airtable pair's table: each mapped field must exist with a type leadsync can
//! read and write (its own type, or text), and `--fix` creates the missing ones with the
//! contract's types. A single select lacking some statuses is a warning, not an error: Airtable's
//! API cannot add choices to an existing field, and leadsync's writes (with `typecast`) add a
//! missing choice the first time they use it.

use crate::config::PairSettings;
use crate::connectors::airtable::client::{AirtableClient, Field, NewFieldType, Table};
use crate::connectors::check::Outcome;

/// Plain text types, which hold any lead field's text.
const TEXT: [&str; 2] = ["singleLineText", "multilineText"];

/// One mapped field: its config key, its name, the types that work and the one `--fix` creates.
struct Wanted<'a> {
    key: &'static str,
    name: &'a str,
    /// The field's own type, first; text types work too.
    own: &'static str,
    create: NewFieldType,
}

impl Wanted<'_> {
    fn accepts(&self, field_type: &str) -> bool {
        field_type == self.own || TEXT.contains(&field_type)
    }

    /// How a finding names it: `field "Email" (email, for columns.email)`.
    fn what(&self, field_type: &str) -> String {
        format!(
            "field \"{}\" ({field_type}, for columns.{})",
            self.name.trim(),
            self.key
        )
    }
}

/// The pair's statuses (sorted, as `status_lists` keeps them): the choices the status select needs.
fn statuses(pair: &PairSettings) -> Vec<String> {
    pair.status_lists
        .keys()
        .map(|s| s.trim().to_owned())
        .collect()
}

fn wanted(pair: &PairSettings) -> Vec<Wanted<'_>> {
    let c = &pair.columns;
    let mut out = vec![
        (
            "id",
            c.id.as_str(),
            "singleLineText",
            NewFieldType::SingleLineText,
        ),
        (
            "name",
            c.name.as_str(),
            "singleLineText",
            NewFieldType::SingleLineText,
        ),
        ("email", c.email.as_str(), "email", NewFieldType::Email),
        (
            "phone",
            c.phone.as_str(),
            "phoneNumber",
            NewFieldType::PhoneNumber,
        ),
        (
            "company",
            c.company.as_str(),
            "singleLineText",
            NewFieldType::SingleLineText,
        ),
        (
            "status",
            c.status.as_str(),
            "singleSelect",
            NewFieldType::SingleSelect(statuses(pair)),
        ),
        (
            "notes",
            c.notes.as_str(),
            "multilineText",
            NewFieldType::MultilineText,
        ),
    ];
    if let Some(card) = &c.card {
        out.push(("card", card.as_str(), "url", NewFieldType::Url));
    }
    out.into_iter()
        .map(|(key, name, own, create)| Wanted {
            key,
            name,
            own,
            create,
        })
        .collect()
}

/// One finding per mapped field (and `--fix` creations), in the columns' order.
pub(super) async fn check(
    client: &AirtableClient,
    base_id: &str,
    table: &Table,
    pair: &PairSettings,
    fix: bool,
    push: &mut impl FnMut(Outcome, String),
) {
    for want in wanted(pair) {
        match table.field(want.name) {
            Some(field) => present(&want, field, pair, push),
            None if fix => create(client, base_id, table, &want, push).await,
            // The id field is optional: leadsync writes the record id there only when it exists.
            None if want.key == "id" => push(
                Outcome::Ok,
                format!(
                    "{} is absent: optional, the record id is written there only when the field \
                     exists (--fix creates it)",
                    want.what(want.own)
                ),
            ),
            None => push(Outcome::Missing, want.what(want.own)),
        }
    }
}

fn present(
    want: &Wanted<'_>,
    field: &Field,
    pair: &PairSettings,
    push: &mut impl FnMut(Outcome, String),
) {
    let what = want.what(&field.field_type);
    if !want.accepts(&field.field_type) {
        // Not "fixed": converting a field the base's users rely on is theirs to decide.
        push(
            Outcome::Error,
            format!(
                "{what}: leadsync needs a field of type {} or text ({}); change its type in \
                 Airtable, or map columns.{} to another field",
                want.own,
                TEXT.join(", "),
                want.key
            ),
        );
        return;
    }
    if field.field_type != "singleSelect" {
        push(Outcome::Ok, what);
        return;
    }
    let lacking: Vec<String> = statuses(pair)
        .into_iter()
        .filter(|s| !field.choices().iter().any(|c| c.name == *s))
        .map(|s| format!("\"{s}\""))
        .collect();
    if lacking.is_empty() {
        push(Outcome::Ok, what);
        return;
    }
    // Airtable matches choices by their exact name, so "new" does not stand for "New".
    push(
        Outcome::Warning,
        format!(
            "{what} lacks the choices {}: Airtable's API cannot add choices to a field, so \
             --fix cannot either; leadsync's writes add a missing choice when they first use it \
             (typecast), or add them in Airtable now",
            lacking.join(", ")
        ),
    );
}

/// `--fix`: creates the field with its own type (a select with every status as a choice).
async fn create(
    client: &AirtableClient,
    base_id: &str,
    table: &Table,
    want: &Wanted<'_>,
    push: &mut impl FnMut(Outcome, String),
) {
    let what = want.what(want.own);
    let name = want.name.trim();
    match client
        .create_field(base_id, &table.id, name, &want.create)
        .await
    {
        Ok(_) => push(Outcome::Fixed, format!("{what} created")),
        Err(e) => push(Outcome::Error, format!("{what} could not be created: {e}")),
    }
}
