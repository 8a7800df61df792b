//! The Airtable client against the sandbox emulator: paginated reads, batched writes with a result
//! per record, typecast, schema and field creation, and error classes.

use std::time::Duration;

use secrecy::SecretString;

use super::*;
use crate::connectors::airtable::sandbox::{
    AirtableOptions, AirtableSandbox, FieldSpec, TableSetup,
};

pub(super) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(2),
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(20),
    }
}

pub(super) fn client_with(sb: &AirtableSandbox, limits: AirtableLimits) -> AirtableClient {
    let token = SecretString::from(sb.token().to_owned());
    AirtableClient::new(&sb.api_base(), &token, fast_policy(), limits).unwrap()
}

/// A sandbox with Airtable's real limits and a "Leads" table of every type leadsync uses.
pub(super) async fn setup_with(
    options: AirtableOptions,
) -> (AirtableSandbox, AirtableClient, TableSetup) {
    let sb = AirtableSandbox::start_with(options).await.unwrap();
    let base = sb.create_base("CRM");
    let fields = [
        FieldSpec::new("Name", "singleLineText"),
        FieldSpec::new("Email", "email"),
        FieldSpec::new("Notes", "multilineText"),
        FieldSpec::select("Status", &["New", "Contacted"]),
    ];
    let table = sb.create_table(&base, "Leads", &fields).unwrap();
    let client = client_with(&sb, unhurried_limits());
    (sb, client, table)
}

/// The client's budgets, each second's spread over 1.5 s: these tests are about what the
/// client sends, not its pacing, and on a machine busy with the rest of the suite a request
/// may arrive more than the production headroom (111 ms, `BUDGET_FRACTION`) after its grant,
/// bunching six calls into the emulator's strict second (then 429 for 30 s).
pub(super) fn unhurried_limits() -> AirtableLimits {
    let defaults = AirtableLimits::default();
    let window = Duration::from_millis(1500);
    AirtableLimits {
        per_base: (defaults.per_base.0, window),
        per_token: (defaults.per_token.0, window),
        lockout: defaults.lockout,
    }
}

pub(super) async fn setup() -> (AirtableSandbox, AirtableClient, TableSetup) {
    setup_with(AirtableOptions::default()).await
}

pub(super) fn cells(values: &[(&str, &str)]) -> Fields {
    (values.iter())
        .map(|(k, v)| ((*k).to_owned(), Cell::from(*v)))
        .collect()
}

#[tokio::test]
async fn list_records_reads_every_page_of_a_large_table() {
    let (sb, c, t) = setup().await;
    for i in 0..230 {
        let name = format!("Lead {i}");
        let status = if i % 2 == 0 { "New" } else { "" };
        let values = [("Name", name.as_str()), ("Status", status)];
        sb.user_create_record(&t.base_id, "Leads", &values).unwrap();
    }
    let records = c.list_records(&t.base_id, "Leads").await.unwrap();
    let expected: Vec<String> = (sb.records(&t.base_id, "Leads").into_iter())
        .map(|r| r.id)
        .collect();
    let got: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, expected, "every record once, in order");
    let path = format!("/v0/{}/Leads", t.base_id);
    assert_eq!(sb.gate().calls().count("GET", &path), 3, "pages of 100");
    assert_eq!(records[0].cell("Name").text(), Some("Lead 0"));
    assert_eq!(records[0].cell("Status"), &Cell::Text("New".into()));
    assert_eq!(records[1].cell("Status"), &Cell::Empty, "absent is empty");
    assert_eq!(records[229].cell("Name").text(), Some("Lead 229"));
    // A table name with a space reaches the right table.
    sb.create_table(
        &t.base_id,
        "Old Leads",
        &[FieldSpec::new("Name", "singleLineText")],
    )
    .unwrap();
    assert!(
        c.list_records(&t.base_id, "Old Leads")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_read_whose_offset_expired_starts_again_from_the_top() {
    let (sb, c, t) = setup().await;
    for i in 0..150 {
        let name = format!("Lead {i}");
        sb.user_create_record(&t.base_id, "Leads", &[("Name", &name)])
            .unwrap();
    }
    let path = format!("/v0/{}/Leads", t.base_id);
    // The listing's iterator is gone by the time its second page is asked for.
    sb.expire_next_list_iterator();
    let records = c.list_records(&t.base_id, "Leads").await.unwrap();
    assert_eq!(records.len(), 150, "the whole table, once");
    assert_eq!(sb.gate().calls().count_status(422), 1);
    assert_eq!(
        sb.gate().calls().count("GET", &path),
        4,
        "page 1, refused page 2, pages 1-2"
    );
}

#[tokio::test]
async fn writes_are_split_into_batches_of_ten_and_answered_per_record() {
    let (sb, c, t) = setup().await;
    let new: Vec<Fields> = (0..23)
        .map(|i| cells(&[("Name", &format!("Lead {i}")), ("Status", "New")]))
        .collect();
    let created = c.create_records(&t.base_id, "Leads", &new).await;
    let path = format!("/v0/{}/Leads", t.base_id);
    assert_eq!(sb.gate().calls().count("POST", &path), 3);
    let created: Vec<Record> = created.into_iter().map(Result::unwrap).collect();
    assert_eq!(created[22].cell("Name").text(), Some("Lead 22"));
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 23);

    // PATCH 12: two requests; a new status becomes a choice (typecast); Empty clears a cell.
    let updates: Vec<RecordUpdate> = (created.iter().take(12))
        .map(|r| RecordUpdate {
            id: r.id.clone(),
            fields: [
                ("Status".to_owned(), Cell::from("Won")),
                ("Name".to_owned(), Cell::Empty),
            ]
            .into(),
        })
        .collect();
    let updated = c.update_records(&t.base_id, "Leads", &updates).await;
    assert_eq!(sb.gate().calls().count("PATCH", &path), 2);
    for (u, r) in updates.iter().zip(&updated) {
        let r = r.as_ref().unwrap();
        assert_eq!(r.id, u.id);
        assert_eq!(r.cell("Status").text(), Some("Won"));
        assert!(r.cell("Name").is_empty());
    }
    let schema = c.table(&t.base_id, "Leads").await.unwrap().unwrap();
    let choices: Vec<&str> = (schema.field("Status").unwrap().choices().iter())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(choices, ["New", "Contacted", "Won"]);

    let ids: Vec<String> = created.iter().take(12).map(|r| r.id.clone()).collect();
    let deleted = c.delete_records(&t.base_id, "Leads", &ids).await;
    assert_eq!(sb.gate().calls().count("DELETE", &path), 2);
    let deleted: Vec<String> = deleted.into_iter().map(Result::unwrap).collect();
    assert_eq!(deleted, ids);
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 11);
}

#[tokio::test]
async fn a_refused_batch_fails_its_records_and_the_others_still_go() {
    let (sb, c, t) = setup().await;
    let mut new: Vec<Fields> = (0..25)
        .map(|i| cells(&[("Name", &format!("L{i}"))]))
        .collect();
    new[13] = cells(&[("Nmae", "typo")]);
    let results = c.create_records(&t.base_id, "Leads", &new).await;
    assert_eq!(results.len(), 25);
    assert!(results[..10].iter().all(Result::is_ok));
    for r in &results[10..20] {
        let err = r
            .as_ref()
            .expect_err("the second request was refused")
            .to_string();
        assert!(err.contains("UNKNOWN_FIELD_NAME: "), "{err}");
        assert!(err.contains("Nmae"), "{err}");
    }
    assert!(
        results[20..].iter().all(Result::is_ok),
        "later batches still sent"
    );
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 15);
}

#[tokio::test]
async fn one_record_and_the_error_classes() {
    let (sb, c, t) = setup().await;
    let id = sb
        .user_create_record(
            &t.base_id,
            "Leads",
            &[("Name", "Ada"), ("Email", "ada@example.com")],
        )
        .unwrap();
    let r = c.get_record(&t.base_id, &t.table_id, &id).await.unwrap();
    assert_eq!(
        (r.id.as_str(), r.cell("Email").text()),
        (id.as_str(), Some("ada@example.com"))
    );

    let missing = c
        .get_record(&t.base_id, "Leads", "recNOPE00000000000")
        .await;
    assert!(
        matches!(missing, Err(ClientError::NotFound { .. })),
        "{missing:?}"
    );
    // Airtable answers an unknown table (or base) 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND.
    let no_table = c.list_records(&t.base_id, "Nope").await;
    assert!(
        matches!(no_table, Err(ClientError::Auth { status: 403, .. })),
        "{no_table:?}"
    );
    let wrong = SecretString::from("patWRONG.token".to_owned());
    let intruder = AirtableClient::new(
        &sb.api_base(),
        &wrong,
        fast_policy(),
        AirtableLimits::default(),
    )
    .unwrap();
    let denied = intruder.list_records(&t.base_id, "Leads").await;
    assert!(
        matches!(denied, Err(ClientError::Auth { status: 401, .. })),
        "{denied:?}"
    );
    let bad_id = c.get_record(&t.base_id, "Leads", "rec/../x").await;
    assert!(matches!(
        bad_id,
        Err(ClientError::BadRequest { status: 0, .. })
    ));
    assert!(
        !format!("{c:?}").contains(sb.token()),
        "the token is never printed"
    );
    let bad_base = AirtableClient::new(
        "not a url",
        &wrong,
        fast_policy(),
        AirtableLimits::default(),
    );
    assert_eq!(
        bad_base.map(drop).unwrap_err().to_string(),
        "airtable.api_base: not a base URL"
    );
}

#[tokio::test]
async fn the_schema_lists_fields_and_create_field_adds_each_type() {
    let (_sb, c, t) = setup().await;
    let tables = c.tables(&t.base_id).await.unwrap();
    assert_eq!(tables.len(), 1);
    let leads = &tables[0];
    assert_eq!(
        (leads.id.as_str(), leads.name.as_str()),
        (t.table_id.as_str(), "Leads")
    );
    assert_eq!(leads.primary_field_id, t.fields["Name"]);
    let status = leads.field("status").unwrap();
    assert_eq!(status.field_type, "singleSelect");
    let names: Vec<&str> = status.choices().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["New", "Contacted"]);
    assert!(status.choices().iter().all(|c| c.id.starts_with("sel")));
    assert_eq!(leads.field("Email").unwrap().field_type, "email");

    let kinds = [
        ("Company", NewFieldType::SingleLineText),
        ("Work email", NewFieldType::Email),
        ("Phone", NewFieldType::PhoneNumber),
        ("Call notes", NewFieldType::MultilineText),
        ("Card", NewFieldType::Url),
        (
            "Stage",
            NewFieldType::SingleSelect(vec!["New".into(), "Won".into()]),
        ),
    ];
    for (name, kind) in &kinds {
        let f = c
            .create_field(&t.base_id, &t.table_id, name, kind)
            .await
            .unwrap();
        assert_eq!(f.name, *name);
        assert!(f.id.starts_with("fld"));
    }
    let leads = c.table(&t.base_id, &t.table_id).await.unwrap().unwrap();
    let types: Vec<&str> = (kinds.iter())
        .map(|(n, _)| leads.field(n).unwrap().field_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "singleLineText",
            "email",
            "phoneNumber",
            "multilineText",
            "url",
            "singleSelect"
        ]
    );
    let stage: Vec<&str> = (leads.field("Stage").unwrap().choices().iter())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(stage, ["New", "Won"]);
    assert!(c.table(&t.base_id, "Nope").await.unwrap().is_none());

    let again = c
        .create_field(&t.base_id, &t.table_id, "Company", &NewFieldType::Url)
        .await;
    let err = again.unwrap_err().to_string();
    assert!(
        err.contains("(HTTP 422): DUPLICATE_OR_EMPTY_FIELD_NAME: "),
        "{err}"
    );
}

#[tokio::test]
async fn bases_lists_the_granted_bases_and_a_bad_token_is_an_auth_error() {
    let (sb, c, t) = setup().await;
    let hidden = sb.create_base("Private");
    sb.set_base_access(&hidden, false);
    let bases = c.bases().await.unwrap();
    let ids: Vec<&str> = bases.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, [t.base_id.as_str()]);
    assert_eq!(bases[0].name, "CRM");
    let wrong = SecretString::from("patWrong.0000".to_owned());
    let bad = AirtableClient::new(
        &sb.api_base(),
        &wrong,
        fast_policy(),
        AirtableLimits::default(),
    );
    let err = bad.unwrap().bases().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Auth { status: 401, .. }),
        "{err}"
    );
}
