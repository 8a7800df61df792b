//! The dispatcher's Airtable path when the table changes under it (fields added or renamed
//! after it was read) and when a card made for a record sends its URL back.

use std::collections::BTreeMap;

use serde_json::json;

use super::bench::{AirtableBench, TABLE, fields, write};
use crate::connectors::airtable::sandbox::FieldSpec;
use crate::model::LeadId;
use crate::store::outbox;
use crate::sync::mapping::compose_description;
use crate::sync::plan::commands::Command;

#[tokio::test]
async fn a_field_added_after_the_table_was_read_is_found_and_a_missing_one_fails_only_its_command()
{
    let specs: Vec<FieldSpec> = (fields(true).into_iter())
        .filter(|f| f.name != "Phone")
        .collect();
    let b = AirtableBench::start_with(&specs).await;
    let ada = b.record(&[("Name", "Ada")]);
    let bob = b.record(&[("Name", "Bob")]);
    for id in [&ada, &bob] {
        b.base.link(id, None, None).await;
    }
    let phone = b.enqueue(&write(&ada, &[("Phone", "+1 555 0100")])).await;
    b.enqueue(&write(&bob, &[("Notes", "hi")])).await;
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!((report.sent, report.dead), (1, 1));
    let error = b.base.stored(phone).await.last_error.unwrap_or_default();
    assert!(
        error.contains("field \"Phone\" is missing from table \"Leads\""),
        "{error}"
    );
    // Added by hand (or `check --fix`): the remembered table lacks it, so it is read again.
    let phone_field = FieldSpec::new("Phone", "phoneNumber");
    (b.airtable)
        .user_create_field(b.base_id(), TABLE, &phone_field)
        .expect("field");
    outbox::requeue_dead_letters(&b.base.db.pool, None)
        .await
        .expect("requeue");
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!(report.sent, 1);
    assert_eq!(b.fields_of(&ada)["Phone"], "+1 555 0100");
}

#[tokio::test]
async fn a_field_renamed_after_the_table_was_read_is_retried_then_named_in_the_dead_letter() {
    let b = AirtableBench::start().await;
    let ada = b.record(&[("Name", "Ada")]);
    b.base.link(&ada, None, None).await;
    b.enqueue(&write(&ada, &[("Company", "Acme")])).await;
    assert_eq!(b.dispatcher.run_once().await.expect("warm-up").sent, 1);
    let url = format!(
        "{}/meta/bases/{}/tables/{}/fields/{}",
        b.airtable.api_base(),
        b.base_id(),
        b.table.table_id,
        b.table.fields["Company"]
    );
    let renamed = reqwest::Client::new()
        .patch(url)
        .bearer_auth(b.airtable.token())
        .json(&json!({"name": "Firm"}))
        .send()
        .await
        .expect("rename");
    assert!(renamed.status().is_success());
    let id = b.enqueue(&write(&ada, &[("Company", "Initech")])).await;
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!(report.retried, 1, "Airtable refused the unknown field");
    b.base.make_retries_due().await;
    let report = b.dispatcher.run_once().await.expect("retry");
    assert_eq!(report.dead, 1, "the table read again has no such field");
    let error = b.base.stored(id).await.last_error.unwrap_or_default();
    assert!(error.contains("field \"Company\" is missing"), "{error}");
    assert_eq!(b.fields_of(&ada)["Firm"], "Acme");
}

#[tokio::test]
async fn a_card_made_for_a_record_has_its_url_written_to_the_record() {
    let b = AirtableBench::start().await;
    let rec = b.record(&[("Name", "Dee"), ("Status", "New")]);
    b.base.link(&rec, None, None).await;
    let create = Command::CreateCard {
        lead_id: rec.clone(),
        list_id: b.base.list("New"),
        name: "Dee".into(),
        desc: compose_description("", &LeadId::parse(&rec).expect("id")),
        custom: BTreeMap::new(),
    };
    b.enqueue(&create).await;
    assert_eq!(b.dispatcher.run_once().await.expect("create").sent, 1);
    let queued = b.outbox().await;
    assert_eq!(
        queued[1],
        (
            rec.clone(),
            "airtable".into(),
            "write_row".into(),
            "pending".into()
        )
    );
    assert_eq!(b.dispatcher.run_once().await.expect("url").sent, 1);
    let url = b
        .base
        .get_link(&rec)
        .await
        .card_short_url
        .expect("card url");
    assert_eq!(b.fields_of(&rec)["Trello Card"], url);
}
