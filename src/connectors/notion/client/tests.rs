//! The Notion client against the sandbox emulator: every call, pagination across result pages,
//! the minute-rounded edit-time filter, rich text split and joined, and error classes.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use secrecy::SecretString;

use super::*;
use crate::connectors::notion::sandbox::{DatabaseSetup, NotionSandbox, PropertySpec, RateLimit};

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

pub(super) fn client_for(sb: &NotionSandbox, per_second: u32) -> NotionClient {
    let token = SecretString::from(sb.token().to_owned());
    NotionClient::new(&sb.api_base(), &token, fast_policy(), per_second).unwrap()
}

/// A sandbox (with `limit`) holding a "Leads" database of every property type leadsync uses.
pub(super) async fn setup(
    limit: Option<RateLimit>,
    per_second: u32,
) -> (NotionSandbox, NotionClient, DatabaseSetup) {
    let sb = NotionSandbox::start_with(limit).await.unwrap();
    let db = sb.create_database(
        "Leads",
        &[
            PropertySpec::new("Name", "title"),
            PropertySpec::new("Company", "rich_text"),
            PropertySpec::new("Notes", "rich_text"),
            PropertySpec::new("Email", "email"),
            PropertySpec::new("Phone", "phone_number"),
            PropertySpec::with_options("Status", "status", &["New", "Contacted", "Won"]),
            PropertySpec::with_options("Stage", "select", &["Cold"]),
            PropertySpec::new("Card", "url"),
        ],
    );
    let client = client_for(&sb, per_second);
    (sb, client, db)
}

fn props(values: &[(&str, PropertyType, &str)]) -> Properties {
    values
        .iter()
        .map(|(n, k, t)| ((*n).to_owned(), PropertyValue::new(k.clone(), t)))
        .collect()
}

#[tokio::test]
async fn the_database_names_its_data_source_and_the_data_source_its_properties() {
    let (_sb, client, db) = setup(None, 100).await;
    let database = client.retrieve_database(&db.database_id).await.unwrap();
    assert_eq!(database.data_sources.len(), 1);
    assert_eq!(database.data_sources[0].id, db.data_source_id);
    let ds = client
        .retrieve_data_source(&db.data_source_id)
        .await
        .unwrap();
    assert_eq!(ds.properties["Name"].kind, PropertyType::Title);
    assert_eq!(ds.properties["Phone"].kind, PropertyType::PhoneNumber);
    assert_eq!(ds.properties["Status"].kind, PropertyType::Status);
    assert_eq!(ds.properties["Status"].options, ["New", "Contacted", "Won"]);
    assert_eq!(ds.properties["Card"].kind, PropertyType::Url);
    // Ids without dashes are the same object.
    let undashed = db.database_id.replace('-', "");
    assert_eq!(
        client.retrieve_database(&undashed).await.unwrap().id,
        db.database_id
    );
}

#[tokio::test]
async fn pages_are_created_read_updated_trashed_and_restored() {
    let (sb, client, db) = setup(None, 100).await;
    let created = client
        .create_page(
            &db.data_source_id,
            &props(&[
                ("Name", PropertyType::Title, "Ada"),
                ("Email", PropertyType::Email, "ada@example.com"),
                ("Status", PropertyType::Status, "New"),
                ("Stage", PropertyType::Select, "Hot"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(created.data_source_id(), Some(db.data_source_id.as_str()));
    assert_eq!(created.last_edited_by.id, sb.bot_id());
    let read = client.retrieve_page(&created.id).await.unwrap();
    assert_eq!(read.text("Name"), "Ada");
    assert_eq!(read.text("Stage"), "Hot", "a select gains a new option");
    assert_eq!(read.text("Phone"), "", "an empty property reads as empty");

    let update = props(&[
        ("Email", PropertyType::Email, ""),
        ("Phone", PropertyType::PhoneNumber, "+1 555"),
    ]);
    let updated = client.update_page(&created.id, &update).await.unwrap();
    assert_eq!(
        (updated.text("Email"), updated.text("Phone")),
        ("", "+1 555")
    );
    assert_eq!(
        updated.text("Name"),
        "Ada",
        "properties not named are left alone"
    );

    let trashed = client.set_in_trash(&created.id, true).await.unwrap();
    assert!(trashed.in_trash);
    assert!(
        client
            .query_data_source(&db.data_source_id, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(client.retrieve_page(&created.id).await.unwrap().in_trash);
    let restored = client.set_in_trash(&created.id, false).await.unwrap();
    assert!(!restored.in_trash);
    assert_eq!(
        client
            .query_data_source(&db.data_source_id, None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn long_notes_are_written_in_2000_character_objects_and_read_whole() {
    let (sb, client, db) = setup(None, 100).await;
    let notes: String = (0..4321)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let page = client
        .create_page(
            &db.data_source_id,
            &props(&[
                ("Name", PropertyType::Title, "Long"),
                ("Notes", PropertyType::RichText, &notes),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(page.text("Notes"), notes);
    let raw = sb.page(&page.id).unwrap();
    assert_eq!(
        raw["properties"]["Notes"]["rich_text"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn a_query_follows_cursors_across_result_pages() {
    let (sb, client, db) = setup(None, 100).await;
    for i in 0..230 {
        sb.user_create_page(&db.data_source_id, &[("Name", &format!("Lead {i}"))])
            .unwrap();
    }
    sb.gate().calls().clear();
    let pages = client
        .query_data_source(&db.data_source_id, None)
        .await
        .unwrap();
    assert_eq!(pages.len(), 230);
    let names: Vec<&str> = pages.iter().map(|p| p.text("Name")).collect();
    assert_eq!((names[0], names[229]), ("Lead 0", "Lead 229"));
    let query_path = format!("/v1/data_sources/{}/query", db.data_source_id);
    assert_eq!(sb.gate().calls().count("POST", &query_path), 3);
}

#[tokio::test]
async fn the_edit_time_filter_sees_minutes_so_a_poll_looks_back_one() {
    let (sb, client, db) = setup(None, 100).await;
    let old = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 10).unwrap();
    sb.set_time(Some(old));
    let untouched = sb
        .user_create_page(&db.data_source_id, &[("Name", "Old")])
        .unwrap();
    let edit = Utc.with_ymd_and_hms(2026, 1, 5, 10, 5, 30).unwrap();
    sb.set_time(Some(edit));
    let edited = sb
        .user_create_page(&db.data_source_id, &[("Name", "New")])
        .unwrap();
    let page = client.retrieve_page(&edited).await.unwrap();
    assert_eq!(
        page.last_edited_time,
        Utc.with_ymd_and_hms(2026, 1, 5, 10, 5, 0).unwrap()
    );
    assert_eq!(page.last_edited_by.id, sb.person_id());

    // Polled at 10:05:40, the last poll at 10:05:20: Notion compares the rounded 10:05:00.
    let last_poll = Utc.with_ymd_and_hms(2026, 1, 5, 10, 5, 20).unwrap();
    let since_poll = client
        .query_data_source(&db.data_source_id, Some(last_poll))
        .await
        .unwrap();
    assert!(
        since_poll.is_empty(),
        "the exact time misses a page edited in the same minute"
    );
    let look_back = last_poll - chrono::TimeDelta::minutes(1);
    let found = client
        .query_data_source(&db.data_source_id, Some(look_back))
        .await
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [edited.as_str()]);
    assert!(!ids.contains(&untouched.as_str()));
}

#[tokio::test]
async fn a_data_source_gains_properties_but_not_a_status() {
    let (_sb, client, db) = setup(None, 100).await;
    let mut add = BTreeMap::new();
    add.insert(
        "Source".to_owned(),
        NewProperty {
            kind: PropertyType::RichText,
            options: vec![],
        },
    );
    add.insert(
        "Lane".to_owned(),
        NewProperty {
            kind: PropertyType::Select,
            options: vec!["A".into(), "B".into()],
        },
    );
    let ds = client
        .update_data_source(&db.data_source_id, &add)
        .await
        .unwrap();
    assert_eq!(ds.properties["Source"].kind, PropertyType::RichText);
    assert_eq!(ds.properties["Lane"].options, ["A", "B"]);

    let mut status = BTreeMap::new();
    status.insert(
        "State".to_owned(),
        NewProperty {
            kind: PropertyType::Status,
            options: vec![],
        },
    );
    let err = client
        .update_data_source(&db.data_source_id, &status)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("validation_error: "), "{err}");
    assert!(err.to_string().contains("status"), "{err}");
}

#[tokio::test]
async fn errors_are_classed_and_bad_ids_never_reach_a_url() {
    let (sb, client, db) = setup(None, 100).await;
    let missing = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        client.retrieve_page(&missing).await,
        Err(ClientError::NotFound { .. })
    ));
    let err = client.retrieve_page("../databases/x").await.unwrap_err();
    assert!(err.to_string().contains("page is not a Notion id"), "{err}");
    let unknown = props(&[("Nope", PropertyType::RichText, "x")]);
    let err = client
        .create_page(&db.data_source_id, &unknown)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Nope is not a property that exists"),
        "{err}"
    );
    let status = props(&[
        ("Name", PropertyType::Title, "A"),
        ("Status", PropertyType::Status, "Lost"),
    ]);
    assert!(
        client
            .create_page(&db.data_source_id, &status)
            .await
            .is_err(),
        "an unknown status is refused"
    );

    let wrong = NotionClient::new(
        &sb.api_base(),
        &SecretString::from("ntn_wrong".to_owned()),
        fast_policy(),
        100,
    )
    .unwrap();
    let err = wrong.retrieve_database(&db.database_id).await.unwrap_err();
    assert!(matches!(err, ClientError::Auth { status: 401, .. }));
    assert!(
        !format!("{err} {wrong:?}").contains("ntn_wrong"),
        "the token is never shown"
    );
    assert!(
        NotionClient::new(
            "not a url",
            &SecretString::from("t".to_owned()),
            fast_policy(),
            3
        )
        .is_err()
    );
}

pub(super) fn props_for_name(name: &str) -> Properties {
    props(&[("Name", PropertyType::Title, name)])
}
