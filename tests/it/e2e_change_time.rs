//! End to end: a change time is evidence, not authority. An Apps Script event that claims an
//! edit ten minutes in the future is taken as made when it arrived, so a real edit a moment
//! later still wins and both sides end equal.

use leadsync::demo::world::SHEET;

use crate::e2e::{P, SETTLE, STATUS, add_lead, assert_sides_equal, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_future_edited_at_does_not_win_a_later_card_move() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Ada", "New").await;

    // The sheet's status changes, and its event claims the edit happens in ten minutes.
    let spreadsheet = w.pair(P).spreadsheet_id.clone();
    w.google
        .set_cell(&spreadsheet, SHEET, 2, STATUS as u32 + 1, "Contacted")
        .map_err(|e| e.to_string())
        .expect("edit");
    let mut event = w.sheet_event(P, "edit", &[2]);
    let mut body: serde_json::Value = serde_json::from_str(&event.body).expect("json");
    let future = chrono::Utc::now() + chrono::Duration::minutes(10);
    body["edited_at"] = future
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .into();
    event.body = body.to_string();
    let status = w.post_sheet_event(&event).await.expect("posts");
    assert_eq!(status, 200);

    // A moment later a user moves the card: the later edit, whatever the first one claimed.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    w.user_moves_card(P, &card.id, "Qualified").expect("move");
    w.settle(SETTLE).await.expect("settles");

    assert_eq!(w.rows(P)[0][STATUS], "Qualified");
    let card = w.trello.card(&card.id).expect("card");
    assert_eq!(w.list_name(P, &card.id_list), "Qualified");
    assert_sides_equal(&w, P);
}
