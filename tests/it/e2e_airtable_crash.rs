//! SIGKILL between an Airtable notification and the payload read loses nothing: the ping is
//! counted durably before the 200, and a restarted daemon reads the feed from its cursor.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use leadsync::demo::world::airtable::TABLE;
use leadsync::demo::world::{World, WorldOptions};
use leadsync::model::TrackerKind;
use leadsync::sandbox::common::Faults;
use leadsync::store::Db;

use crate::crash::{KillOnDrop, listening_addr};
use crate::e2e::P;
use crate::e2e_airtable::marker;

fn serve(w: &World) -> KillOnDrop {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .args(["serve", "--config"])
        .arg(w.config_path())
        .current_dir(w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    listening_addr(&rx).expect("serve logs its address");
    KillOnDrop(child)
}

/// (pinged, fetched) of the pair's Airtable webhook, read from the daemon's database.
async fn counts(db: &Db) -> (i64, i64) {
    sqlx::query_as("SELECT pinged, fetched FROM tracker_webhooks")
        .fetch_optional(&db.pool)
        .await
        .expect("query")
        .unwrap_or((0, 0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_the_ping_and_the_payload_read_loses_nothing() {
    crate::helpers::test_log();
    let w = World::start(WorldOptions {
        start_app: false,
        tracker: TrackerKind::Airtable,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let mut child = serve(&w);
    w.register_webhooks().await.expect("webhooks registered");
    let at = w.airtable.as_ref().expect("emulator");
    let base = w.pair(P).table.as_ref().expect("table").base_id.clone();
    // Every read of Airtable now hangs: the ping is answered, the payloads never come.
    at.gate().set_faults(Faults {
        hang_next: 1_000,
        hang_for: Duration::from_secs(60),
        ..Faults::default()
    });
    let rec = at
        .user_create_record(&base, TABLE, &[("Name", "Ada"), ("Status", "New")])
        .expect("record");
    let db = Db::connect(&w.settings.database.url).await.expect("db");
    let mut pinged = false;
    for _ in 0..200 {
        if counts(&db).await.0 >= 1 {
            pinged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(pinged, "the notification was counted");
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reaped");
    let (p, f) = counts(&db).await;
    assert!(
        p > f,
        "killed before the feed was read: pinged {p}, fetched {f}"
    );
    assert!(w.cards(P).is_empty(), "no card yet");
    db.close().await;

    at.gate().set_faults(Faults::default());
    let _child = serve(&w);
    let mut card = None;
    for _ in 0..300 {
        card = w.card_named(P, "Ada");
        if card.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let card = card.expect("the restarted daemon read the feed and made the card");
    assert_eq!(marker(&card), rec);
    assert_eq!(w.cards(P).len(), 1);
}
