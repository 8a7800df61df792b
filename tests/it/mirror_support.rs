//! What the mirror tests share: a world whose config gains a mirror of two new boards, and
//! reads of both boards by marker.

use leadsync::config::{self, Sources};
use leadsync::connectors::trello::sandbox::{
    BoardSetup, HeldDelivery, SandboxCard, UserCardChange,
};
use leadsync::demo::world::{World, WorldOptions};
use leadsync::sandbox::common::Faults;

use crate::e2e::{SETTLE, world_with};
use crate::helpers::eventually;

pub const M: &str = "client";

pub struct Mirror {
    pub w: World,
    pub a: BoardSetup,
    pub b: BoardSetup,
}

/// A world whose config gains a mirror of two new boards ("To Do" → "Backlog", "Doing" →
/// "In Progress", "Done" → "Done"; "Ideas" on board A is unmapped), then the app and webhooks.
pub async fn mirror_world(policy: &str) -> Mirror {
    mirror_world_with(policy, true).await
}

/// As [`mirror_world`]; without `start`, neither the app nor the webhooks are started.
pub async fn mirror_world_with(policy: &str, start: bool) -> Mirror {
    mirror_world_of(policy, WorldOptions::default(), start).await
}

/// As [`mirror_world`], in a world made with `options` (the chaos test's short debounce and
/// frequent reconciliations).
pub async fn mirror_world_in(policy: &str, options: WorldOptions) -> Mirror {
    mirror_world_of(policy, options, true).await
}

async fn mirror_world_of(policy: &str, options: WorldOptions, start: bool) -> Mirror {
    let mut w = world_with(WorldOptions {
        start_app: false,
        ..options
    })
    .await;
    let a = w
        .trello
        .setup_board("Internal", &["To Do", "Doing", "Done", "Ideas"], &[]);
    let b = w
        .trello
        .setup_board("Client", &["Backlog", "In Progress", "Done"], &[]);
    let mut text = std::fs::read_to_string(w.config_path()).expect("config");
    text.push_str(&format!(
        "\n[[mirrors]]\nname = \"{M}\"\nboard_a = \"{}\"\nboard_b = \"{}\"\n\
         conflict_policy = \"{policy}\"\n[mirrors.lists]\n\"To Do\" = \"Backlog\"\n\
         \"Doing\" = \"In Progress\"\n\"Done\" = \"Done\"\n",
        a.board_id, b.board_id
    ));
    std::fs::write(w.config_path(), text).expect("write config");
    w.settings = config::load(&Sources {
        file: Some(w.config_path()),
        ..Sources::default()
    })
    .expect("the config with a mirror loads");
    if start {
        w.start_app().await.expect("app starts");
        w.register_webhooks().await.expect("webhooks");
    }
    Mirror { w, a, b }
}

impl Mirror {
    pub fn cards_a(&self) -> Vec<SandboxCard> {
        self.w.trello.cards(&self.a.board_id)
    }

    pub fn cards_b(&self) -> Vec<SandboxCard> {
        self.w.trello.cards(&self.b.board_id)
    }

    pub fn card(&self, id: &str) -> SandboxCard {
        self.w.trello.card(id).expect("card exists")
    }

    /// The other board's card carrying the same marker as `card`.
    pub fn twin_of(&self, card: &SandboxCard) -> SandboxCard {
        let marker = marker(&self.card(&card.id)).expect("the card has a marker");
        let other = if card.id_board == self.a.board_id {
            self.cards_b()
        } else {
            self.cards_a()
        };
        let twins: Vec<_> = other
            .into_iter()
            .filter(|c| marker_is(c, &marker))
            .collect();
        assert_eq!(twins.len(), 1, "exactly one twin of {card:?}: {twins:?}");
        twins.into_iter().next().expect("twin")
    }

    pub fn edit(&self, id: &str, change: UserCardChange) {
        self.w
            .trello
            .user_update_card(id, &change)
            .expect("user edit");
    }

    pub async fn settle(&self) {
        self.w.settle(SETTLE).await.expect("settles");
    }

    /// Asserts that exactly one conflict was logged, about `field`.
    pub async fn one_conflict(&self, field: &str) {
        let conflicts = self.activity("conflict").await;
        assert_eq!(conflicts.len(), 1, "one conflict: {conflicts:?}");
        assert_eq!(conflicts[0].0, field);
    }

    /// Asserts that each of `cards` holds one checklist, `name`, with `items` in this order
    /// (`whose`: the user whose checklist it is, for the message).
    pub fn one_checklist(&self, cards: [&str; 2], name: &str, items: &[&str], whose: &str) {
        for card in cards {
            let lists = self.w.trello.checklists(card);
            let names: Vec<&str> = lists.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(names, [name], "one checklist on {card}: {lists:?}");
            let got: Vec<&str> = lists[0].items.iter().map(|i| i.name.as_str()).collect();
            assert_eq!(got, items, "{whose} checklist on {card}");
        }
    }

    pub async fn activity(&self, decision: &str) -> Vec<(String, String)> {
        let db = &self.w.state().expect("running").db;
        sqlx::query_as("SELECT coalesce(field, ''), coalesce(detail, '') FROM activity WHERE pair = $1 AND decision = $2")
            .bind(M)
            .bind(decision)
            .fetch_all(&db.pool)
            .await
            .expect("activity")
    }
}

/// The next `n` deliveries, held back (bounded wait: the emulator holds them as it sends them).
pub async fn held(w: &World, n: usize) -> Vec<HeldDelivery> {
    let got = std::sync::Mutex::new(Vec::new());
    let slot = &got;
    eventually("deliveries held", SETTLE, move || async move {
        let mut got = slot.lock().expect("lock");
        got.extend(w.trello.take_held_deliveries());
        (got.len() >= n).then_some(())
    })
    .await;
    w.trello.hold_deliveries(false);
    got.into_inner().expect("lock")
}

pub fn marker(card: &SandboxCard) -> Option<String> {
    let last = card.desc.trim_end().lines().last()?;
    last.trim().strip_prefix("leadsync:").map(str::to_owned)
}

pub fn marker_is(card: &SandboxCard, id: &str) -> bool {
    marker(card).as_deref() == Some(id)
}

pub fn name(n: &str) -> UserCardChange {
    UserCardChange {
        name: Some(n.into()),
        ..UserCardChange::default()
    }
}

pub fn writes(w: &World) -> (usize, usize) {
    let calls = w.trello.gate().calls();
    (
        calls.count("POST", "/1/cards"),
        calls.count("PUT", "/1/cards"),
    )
}

/// The held `jobs` delivered again with the third call after them landing on the board and its
/// answer lost (the connection reset once the emulator made the change). The two calls before
/// it pass: the card read, then its marker (a twin's create next) or its twin read (an update).
pub fn redeliver_losing_third_answer(w: &World, jobs: Vec<HeldDelivery>) {
    w.trello.gate().set_faults(Faults {
        fail_next: vec![200, 200, 0],
        after_handler: true,
        ..Faults::default()
    });
    for job in jobs {
        w.trello.redeliver(job);
    }
}

/// Waits until the mirror's inbox holds `n` events (the debounce holds them a while).
pub async fn events_stored(w: &World, n: i64) {
    let db = &w.state().expect("running").db;
    eventually("the actions are stored", SETTLE, || async {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE pair = $1")
            .bind(M)
            .fetch_one(&db.pool)
            .await
            .expect("inbox");
        (stored >= n).then_some(())
    })
    .await;
}

/// Waits until a pass over the mirror's events has failed once (to be retried).
pub async fn a_pass_failed(w: &World) {
    let db = &w.state().expect("running").db;
    eventually("a pass failed", SETTLE, || async {
        let tried: i64 =
            sqlx::query_scalar("SELECT coalesce(max(attempts), 0) FROM inbox WHERE pair = $1")
                .bind(M)
                .fetch_one(&db.pool)
                .await
                .expect("inbox");
        (tried >= 1).then_some(())
    })
    .await;
}

/// A mirror engine of its own on the running daemon's database, as `reconcile --pair` makes
/// one beside the daemon.
pub async fn one_off_engine(m: &Mirror) -> anyhow::Result<leadsync::mirror::Mirrors> {
    use leadsync::connectors::trello::client::build::trello_client;
    let state = m.w.state().ok_or_else(|| anyhow::anyhow!("not running"))?;
    let board = leadsync::connectors::board(trello_client(&m.w.settings)?);
    let mirrors = leadsync::mirror::Mirrors::build(&m.w.settings, state.db.clone(), board).await?;
    mirrors.ok_or_else(|| anyhow::anyhow!("no mirror configured"))
}
