//! `mark_card` against the Trello emulator: notes a person types on the card between the
//! dispatcher's read of it and the marker's write are kept (seed 53's marker class).

use std::time::Duration;

use crate::connectors::bench::Bench;
use crate::connectors::trello::sandbox::UserCardChange;
use crate::sandbox::common::Faults;
use crate::sync::mapping::split_description;
use crate::sync::plan::commands::Command;

#[tokio::test]
async fn notes_typed_between_the_cards_read_and_the_markers_write_are_kept() {
    let b = Bench::start().await;
    let card = b
        .trello
        .user_create_card(&b.list("New"), "Ada", "")
        .expect("card");
    b.link("L1", Some(&card), None).await;
    b.enqueue(&Command::MarkCard {
        lead_id: "L1".into(),
        card_id: card.clone(),
    })
    .await;
    // The read passes; the write is held before Trello acts on it.
    b.trello.gate().set_faults(Faults {
        fail_next: vec![200],
        hang_next: 1,
        hang_for: Duration::from_millis(600),
        ..Faults::default()
    });
    let round = tokio::spawn({
        let dispatcher = b.dispatcher.clone();
        async move { dispatcher.run_once().await }
    });
    for _ in 0..1000 {
        if b.trello.gate().faults().hang_next == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(b.trello.gate().faults().hang_next, 0, "the write is held");
    let typed = UserCardChange {
        desc: Some("call on Monday".into()),
        ..UserCardChange::default()
    };
    b.trello.user_update_card(&card, &typed).expect("typed");
    let report = round.await.expect("round").expect("run");
    assert_eq!(report.sent, 1, "{report:?}");
    let (notes, marker) = split_description(&b.trello.card(&card).expect("card").desc);
    assert_eq!(notes, "call on Monday");
    assert_eq!(marker.map(|m| m.as_str().to_owned()).as_deref(), Some("L1"));
}
