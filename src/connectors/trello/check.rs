//! The Trello half of a pair's check: the board, one list per mapped status, and the text custom
//! fields named like the email, phone and company column headers; and a mirror's check: both
//! boards and each mapped list on its side. `--fix` creates missing lists (and fields).

use crate::clients::http::ClientError;
use crate::config::{BoardRef, MirrorSettings, PairSettings, Settings};
use crate::connectors::check::{Account, Finding, Outcome, same_name};
use crate::connectors::trello::client::build::trello_client;
use crate::connectors::trello::client::{Board, CustomField, TrelloClient, TrelloList};

/// The key and token: one `members/me` call, once for every pair.
pub async fn account(settings: &Settings) -> Account<TrelloClient> {
    let client = match trello_client(settings) {
        Ok(c) => c,
        Err(e) => return Account::Broken(format!("trello: {e}")),
    };
    match client.me().await {
        Ok(me) => {
            let who = format!("trello: token of {} (@{})", me.full_name, me.username);
            Account::Usable(client, who)
        }
        Err(e @ ClientError::Auth { .. }) => Account::Broken(format!(
            "trello: key or token refused, check trello.api_key and trello.api_token ({e})"
        )),
        Err(e) => Account::Broken(format!("trello: cannot reach the API ({e})")),
    }
}

pub async fn check_pair(
    client: &TrelloClient,
    pair: &PairSettings,
    fix: bool,
    out: &mut Vec<Finding>,
) {
    let name = pair.name.as_str();
    let mut push = |outcome, what: String| out.push(Finding::new(name, outcome, what));
    let Some(board) = board(client, &pair.board_id, "board_id", &mut push).await else {
        return;
    };
    let wanted: Vec<(String, &str)> = (pair.status_lists.iter())
        .map(|(status, list)| (format!("list \"{list}\" (status {status})"), list.as_str()))
        .collect();
    check_lists(client, &board, &wanted, fix, &mut push).await;
    match client.custom_fields(&board.id).await {
        Ok(fields) => check_fields(client, pair, &board, fields, fix, &mut push).await,
        Err(e) => push(
            Outcome::Error,
            format!("custom fields of board \"{}\": {e}", board.name),
        ),
    }
}

/// A mirror's two boards, each with the lists `mirrors.lists` maps on its side.
pub async fn check_mirror(
    client: &TrelloClient,
    mirror: &MirrorSettings,
    fix: bool,
    out: &mut Vec<Finding>,
) {
    let name = mirror.name.as_str();
    let mut push = |outcome, what: String| out.push(Finding::new(name, outcome, what));
    for (key, board_ref) in [("board_a", &mirror.board_a), ("board_b", &mirror.board_b)] {
        let Some(board) = board(client, board_ref, key, &mut push).await else {
            continue;
        };
        let wanted: Vec<(String, &str)> = (mirror.lists.iter())
            .map(|(a, b)| {
                let (list, other) = if key == "board_a" { (a, b) } else { (b, a) };
                let what = format!("{key} list \"{list}\" (mirrored with \"{other}\")");
                (what, list.as_str())
            })
            .collect();
        check_lists(client, &board, &wanted, fix, &mut push).await;
    }
}

/// The board `board_ref` (the config key `key`) as the token sees it.
async fn board(
    client: &TrelloClient,
    board_ref: &str,
    key: &str,
    push: &mut impl FnMut(Outcome, String),
) -> Option<Board> {
    // Trello answers a board's short link like its id; `b.id` is what webhooks will carry.
    let (id, given) = match BoardRef::parse(board_ref) {
        Ok(BoardRef::Id(id) | BoardRef::ShortLink(id)) => (id, board_ref.trim()),
        Err(problem) => {
            push(Outcome::Error, format!("{key}: {problem}"));
            return None;
        }
    };
    let id = &id;
    match client.board(id).await {
        // An archived board still answers, but Trello refuses card writes on it.
        Ok(b) if b.closed => {
            push(
                Outcome::Error,
                format!("board \"{}\" ({id}) is archived", b.name),
            );
            None
        }
        Ok(b) if b.id != *id => {
            push(
                Outcome::Ok,
                format!(
                    "board \"{}\" reachable; {key} \"{given}\" resolves to the board's id {}",
                    b.name, b.id
                ),
            );
            Some(b)
        }
        Ok(b) => {
            push(
                Outcome::Ok,
                format!("board \"{}\" ({id}) reachable", b.name),
            );
            Some(b)
        }
        Err(ClientError::NotFound { .. }) => {
            push(
                Outcome::Error,
                format!("board {id} not found, or not visible to the token's member ({key})"),
            );
            None
        }
        Err(e) => {
            push(Outcome::Error, format!("board {id}: {e}"));
            None
        }
    }
}

/// Each wanted list (`(what the finding calls it, its name)`) on the board; with `fix`, made.
async fn check_lists(
    client: &TrelloClient,
    board: &Board,
    wanted: &[(String, &str)],
    fix: bool,
    push: &mut impl FnMut(Outcome, String),
) {
    let mut lists: Vec<TrelloList> = match client.lists(&board.id).await {
        Ok(lists) => lists,
        Err(e) => {
            let what = format!("lists of board \"{}\": {e}", board.name);
            return push(Outcome::Error, what);
        }
    };
    for (what, list) in wanted {
        let what = what.clone();
        if lists.iter().any(|l| same_name(&l.name, list)) {
            push(Outcome::Ok, what);
        } else if !fix {
            push(Outcome::Missing, what);
        } else {
            match client.create_list(&board.id, list.trim()).await {
                // Remembered, so a second status mapped to the same list does not create it twice.
                Ok(created) => {
                    lists.push(created);
                    push(Outcome::Fixed, format!("{what} created"));
                }
                Err(e) => push(Outcome::Error, format!("{what} could not be created: {e}")),
            }
        }
    }
}

async fn check_fields(
    client: &TrelloClient,
    pair: &PairSettings,
    board: &Board,
    fields: Vec<CustomField>,
    fix: bool,
    push: &mut impl FnMut(Outcome, String),
) {
    let columns = &pair.columns;
    for (key, header) in [
        ("email", &columns.email),
        ("phone", &columns.phone),
        ("company", &columns.company),
    ] {
        let what = format!("custom field \"{header}\" (text, for columns.{key})");
        let named: Vec<&CustomField> = fields
            .iter()
            .filter(|f| same_name(&f.name, header))
            .collect();
        if named.iter().any(|f| f.field_type == "text") {
            push(Outcome::Ok, what);
        } else if let Some(other) = named.first() {
            // Not "fixed": converting or duplicating a field the board's users rely on is theirs to decide.
            push(
                Outcome::Error,
                format!(
                    "{what}: the board's field \"{}\" is of type {}; rename or remove it in Trello",
                    other.name, other.field_type
                ),
            );
        } else if !fix {
            push(Outcome::Missing, what);
        } else {
            match client.create_text_field(&board.id, header.trim()).await {
                Ok(_) => push(Outcome::Fixed, format!("{what} created")),
                Err(e) => push(Outcome::Error, format!("{what} could not be created: {e}")),
            }
        }
    }
}
