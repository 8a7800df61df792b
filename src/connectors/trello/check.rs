//! The Trello half of a pair's check: the board, one list per mapped status, and the text custom
//! fields named like the email, phone and company column headers.

use crate::clients::http::ClientError;
use crate::config::{BoardRef, PairSettings, Settings};
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
    let Some(board) = board(client, pair, &mut push).await else {
        return;
    };
    match client.lists(&board.id).await {
        Ok(lists) => check_lists(client, pair, &board, lists, fix, &mut push).await,
        Err(e) => push(
            Outcome::Error,
            format!("lists of board \"{}\": {e}", board.name),
        ),
    }
    match client.custom_fields(&board.id).await {
        Ok(fields) => check_fields(client, pair, &board, fields, fix, &mut push).await,
        Err(e) => push(
            Outcome::Error,
            format!("custom fields of board \"{}\": {e}", board.name),
        ),
    }
}

async fn board(
    client: &TrelloClient,
    pair: &PairSettings,
    push: &mut impl FnMut(Outcome, String),
) -> Option<Board> {
    // Trello answers a board's short link like its id; `b.id` is what webhooks will carry.
    let (id, given) = match BoardRef::parse(&pair.board_id) {
        Ok(BoardRef::Id(id) | BoardRef::ShortLink(id)) => (id, pair.board_id.trim()),
        Err(problem) => {
            push(Outcome::Error, format!("board_id: {problem}"));
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
                    "board \"{}\" reachable; board_id \"{given}\" resolves to the board's id {}",
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
                format!("board {id} not found, or not visible to the token's member (board_id)"),
            );
            None
        }
        Err(e) => {
            push(Outcome::Error, format!("board {id}: {e}"));
            None
        }
    }
}

async fn check_lists(
    client: &TrelloClient,
    pair: &PairSettings,
    board: &Board,
    mut lists: Vec<TrelloList>,
    fix: bool,
    push: &mut impl FnMut(Outcome, String),
) {
    for (status, list) in &pair.status_lists {
        let what = format!("list \"{list}\" (status {status})");
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
