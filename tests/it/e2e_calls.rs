//! The API-call minimum (issue 12): a new lead's card costs a create and one batch write of its
//! custom fields; a lead whose several fields change costs one card update and one batch write.
//! Counted with the Trello emulator's call log, echoes included.

use leadsync::sandbox::common::CallLog;

use crate::e2e::{CARD, EMAIL, P, SETTLE, assert_sides_equal, marker, world};

/// Trello calls that change something, as `METHOD path` (reads excluded).
fn trello_writes(log: &CallLog) -> Vec<String> {
    log.records()
        .into_iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_lead_with_email_phone_and_company_costs_two_trello_writes() {
    let w = world().await;
    let trello = w.trello.gate().calls();
    trello.clear();
    let row = [
        "",
        "Ada",
        "ada@example.com",
        "+44 1",
        "Analytical",
        "New",
        "",
    ];
    w.user_edits_rows(P, 2, &[&row]).await.expect("edit");
    w.settle(SETTLE).await.expect("settles");

    let card = w.card_named(P, "Ada").expect("the lead has a card");
    assert_eq!(
        trello_writes(&trello),
        [
            "POST /1/cards".to_owned(),
            format!("PUT /1/cards/{}/customFields", card.id)
        ],
        "the create, then every custom field in one call; the echoes cost nothing"
    );
    let text = |f: &str| card.custom_texts.get(&w.field_id(P, f)).cloned();
    assert_eq!(text("Email").as_deref(), Some("ada@example.com"));
    assert_eq!(text("Phone").as_deref(), Some("+44 1"));
    assert_eq!(text("Company").as_deref(), Some("Analytical"));
    let echoes = w
        .trello
        .deliveries()
        .into_iter()
        .filter(|d| d.action_type == "updateCustomFieldItem")
        .count();
    assert_eq!(
        echoes, 3,
        "one action per field, delivered and recognised as ours"
    );
    assert!(w.rows(P)[0][CARD].ends_with(&card.short_link));
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_changed_fields_of_a_lead_cost_one_card_update_and_one_field_write() {
    let w = world().await;
    let row = ["", "Grace", "g@example.com", "+1 1", "Navy", "New", ""];
    w.user_edits_rows(P, 2, &[&row]).await.expect("edit");
    w.settle(SETTLE).await.expect("settles");
    let card = w.card_named(P, "Grace").expect("card");
    let id = marker(&card);
    let url = w.rows(P)[0][CARD].clone();
    let trello = w.trello.gate().calls();
    trello.clear();

    // Name, status and notes (the card's own fields), email and company changed, phone cleared.
    let edited = [
        id.as_str(),
        "Grace Hopper",
        "grace@example.com",
        "",
        "Yale",
        "Contacted",
        "COBOL",
        url.as_str(),
    ];
    w.user_edits_rows(P, 2, &[&edited]).await.expect("edit");
    w.settle(SETTLE).await.expect("settles");

    assert_eq!(
        trello_writes(&trello),
        [
            format!("PUT /1/cards/{}", card.id),
            format!("PUT /1/cards/{}/customFields", card.id)
        ]
    );
    let now = w.trello.card(&card.id).expect("card");
    assert_eq!(now.name, "Grace Hopper");
    assert_eq!(w.list_name(P, &now.id_list), "Contacted");
    let text = |f: &str| now.custom_texts.get(&w.field_id(P, f)).cloned();
    assert_eq!(text("Email").as_deref(), Some("grace@example.com"));
    assert_eq!(text("Phone"), None, "cleared");
    assert_eq!(text("Company").as_deref(), Some("Yale"));
    assert_eq!(w.rows(P)[0][EMAIL], "grace@example.com");
    assert_sides_equal(&w, P);
}
