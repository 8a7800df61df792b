//! Mirror links made before a field was mirrored (CONTRACT §5's merge with no base): the link's
//! bases of labels, due date and checklists are taken away, as an older leadsync left them, and
//! the cards' differing values merge as the contract says: an empty side takes the other's
//! value, two different values are a conflict decided by the policy; a link's old single
//! `checklists` base is split by checklist name, so a checklist removed on one board goes.

use crate::mirror_support::{M, Mirror, held, marker, mirror_world};

/// The link's stored bases, by field.
async fn bases(m: &Mirror, link: &str) -> Vec<String> {
    let db = &m.w.state().expect("running").db;
    sqlx::query_scalar(
        "SELECT field FROM mirror_fields WHERE mirror = $1 AND link_id = $2 ORDER BY field",
    )
    .bind(M)
    .bind(link)
    .fetch_all(&db.pool)
    .await
    .expect("bases")
}

/// Forgets the link's labels, due and checklist bases, and stores the single `checklists` base
/// an older leadsync kept, holding `old`.
async fn as_an_older_leadsync_left_it(m: &Mirror, link: &str, old: &str) {
    let db = &m.w.state().expect("running").db;
    sqlx::query(
        "DELETE FROM mirror_fields WHERE mirror = $1 AND link_id = $2
           AND (field IN ('labels', 'due') OR field LIKE 'checklist:%')",
    )
    .bind(M)
    .bind(link)
    .execute(&db.pool)
    .await
    .expect("delete");
    sqlx::query(
        "INSERT INTO mirror_fields (mirror, link_id, field, base_value, updated_at)
         VALUES ($1, $2, 'checklists', $3, 0)",
    )
    .bind(M)
    .bind(link)
    .bind(old)
    .execute(&db.pool)
    .await
    .expect("insert");
}

fn checklist_names(m: &Mirror, card: &str) -> Vec<String> {
    let lists = m.w.trello.checklists(card);
    lists.into_iter().map(|l| l.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_without_a_base_fill_an_empty_side_and_a_difference_goes_by_the_policy() {
    let m = mirror_world("prefer_b").await;
    let t = &m.w.trello;
    let card = t.user_create_card(&m.a.lists["To Do"], "Site", "").unwrap();
    let old = t.user_add_checklist(&card, "Old").unwrap();
    m.settle().await;
    let twin = m.twin_of(&m.card(&card)).id;
    let link = marker(&m.card(&card)).expect("a marker");
    assert!(bases(&m, &link).await.contains(&"checklist:Old".to_owned()));

    let hot = t
        .user_create_label(&m.b.board_id, "Hot", Some("red"))
        .unwrap();
    t.hold_deliveries(true);
    t.user_card_label(&twin, &hot, true).unwrap();
    t.user_set_due(&card, Some(Some("2026-12-24T10:00:00Z")), None)
        .unwrap();
    t.user_set_due(&twin, Some(Some("2026-12-31T10:00:00Z")), None)
        .unwrap();
    t.user_add_checklist(&card, "QA").unwrap();
    t.user_remove_checklist(&old).unwrap();
    let jobs = held(&m.w, 5).await;
    as_an_older_leadsync_left_it(&m, &link, r#"[{"name":"Old","items":[]}]"#).await;
    for job in jobs {
        t.redeliver(job);
    }
    m.settle().await;

    // Labels: a had none, b "Hot": a gets it (b's label is not taken off).
    let names = |card: &str| t.card_label_names(card);
    assert_eq!(
        (names(&card), names(&twin)),
        (vec!["Hot".into()], vec!["Hot".into()])
    );
    // Due: two dates, no base: a conflict, won by b (prefer_b).
    let due = |id: &str| m.card(id).due;
    let b_due = Some("2026-12-31T10:00:00.000Z".to_owned());
    assert_eq!((due(&card), due(&twin)), (b_due.clone(), b_due));
    let conflicts = m.activity("conflict").await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].0, "due");
    // Checklists: QA (no base, absent on b) reaches b; Old, in the old single base and removed
    // on a, is removed on b.
    assert_eq!(checklist_names(&m, &card), ["QA"]);
    assert_eq!(checklist_names(&m, &twin), ["QA"]);
    let stored = bases(&m, &link).await;
    assert!(stored.contains(&"checklist:QA".to_owned()), "{stored:?}");
    assert!(
        !stored
            .iter()
            .any(|f| f == "checklists" || f == "checklist:Old"),
        "{stored:?}"
    );
}
