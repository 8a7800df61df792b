//! Turns each pair's `board_id` (and each mirror's `board_a` and `board_b`) into the board's full id before anything uses it: Trello's
//! webhooks name the board only by its 24-hex id, so a pair configured with the short link or
//! the board's URL would otherwise never have a delivery routed to it.

use std::collections::HashMap;

use super::client::TrelloClient;
use crate::clients::http::ClientError;
use crate::config::{BoardRef, MirrorSettings, PairSettings};

/// A `board_id` that was given as a short link or URL, and the id it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedBoard {
    pub pair: String,
    pub given: String,
    pub id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BoardIdError {
    #[error("pairs[{index}].board_id: {problem}")]
    Invalid { index: usize, problem: String },
    #[error(
        "pairs[{index}].board_id: no board \"{given}\" is visible to the member of trello.api_token \
         (check the board's URL and that this member belongs to the board)"
    )]
    NotFound { index: usize, given: String },
    #[error("pairs[{index}].board_id: resolving \"{given}\" to the board's id: {reason}")]
    Api {
        index: usize,
        given: String,
        reason: ClientError,
    },
}

/// True when some pair names its board other than by the full id (only then is a call needed).
pub fn needs_resolution(pairs: &[PairSettings]) -> bool {
    pairs.iter().any(|p| {
        matches!(
            BoardRef::parse(&p.board_id),
            Ok(BoardRef::ShortLink(_)) | Err(_)
        )
    })
}

/// Rewrites every short link or board URL in `pairs` to the full board id (one call per
/// distinct board) and returns what was rewritten; full ids are left as they are, uncalled.
pub async fn resolve_board_ids(
    pairs: &mut [PairSettings],
    trello: &TrelloClient,
) -> Result<Vec<ResolvedBoard>, BoardIdError> {
    let mut known: HashMap<String, String> = HashMap::new();
    let mut resolved = Vec::new();
    for (index, pair) in pairs.iter_mut().enumerate() {
        let short = match BoardRef::parse(&pair.board_id) {
            Ok(BoardRef::Id(id)) => {
                pair.board_id = id;
                continue;
            }
            Ok(BoardRef::ShortLink(short)) => short,
            Err(problem) => return Err(BoardIdError::Invalid { index, problem }),
        };
        let id = match known.get(&short) {
            Some(id) => id.clone(),
            None => {
                let board = trello.board(&short).await.map_err(|e| match e {
                    ClientError::NotFound { .. } => BoardIdError::NotFound {
                        index,
                        given: pair.board_id.clone(),
                    },
                    reason => BoardIdError::Api {
                        index,
                        given: pair.board_id.clone(),
                        reason,
                    },
                })?;
                known.insert(short.clone(), board.id.clone());
                board.id
            }
        };
        tracing::info!(pair = %pair.name, short_link = %short, board_id = %id, "board_id resolved from its short link");
        resolved.push(ResolvedBoard {
            pair: pair.name.clone(),
            given: std::mem::replace(&mut pair.board_id, id.clone()),
            id,
        });
    }
    Ok(resolved)
}

/// True when some mirror names a board other than by its full id.
pub fn mirrors_need_resolution(mirrors: &[MirrorSettings]) -> bool {
    (mirrors.iter().flat_map(|m| [&m.board_a, &m.board_b]))
        .any(|b| !matches!(BoardRef::parse(b), Ok(BoardRef::Id(_))))
}

/// The mirrors' `board_a` and `board_b` given as short links or URLs, rewritten to the full ids
/// their webhooks' actions carry; the error names the key.
pub async fn resolve_mirror_board_ids(
    mirrors: &mut [MirrorSettings],
    trello: &TrelloClient,
) -> Result<(), String> {
    for (i, mirror) in mirrors.iter_mut().enumerate() {
        for (key, board) in [
            ("board_a", &mut mirror.board_a),
            ("board_b", &mut mirror.board_b),
        ] {
            let short = match BoardRef::parse(board) {
                Ok(BoardRef::Id(id)) => {
                    *board = id;
                    continue;
                }
                Ok(BoardRef::ShortLink(short)) => short,
                Err(problem) => return Err(format!("mirrors[{i}].{key}: {problem}")),
            };
            let found = trello.board(&short).await.map_err(|e| {
                format!("mirrors[{i}].{key}: resolving \"{board}\" to the board's id: {e}")
            })?;
            *board = found.id;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::http::RetryPolicy;
    use crate::config::ColumnSettings;
    use crate::connectors::trello::client::TrelloLimits;
    use crate::connectors::trello::sandbox::TrelloSandbox;
    use secrecy::SecretString;

    fn pair(name: &str, board_id: &str) -> PairSettings {
        PairSettings {
            name: name.into(),
            spreadsheet_id: "s".into(),
            sheet: "Leads".into(),
            board_id: board_id.into(),
            columns: ColumnSettings::default(),
            status_lists: [("New".to_owned(), "New".to_owned())].into(),
            tracker: Default::default(),
            base_id: None,
            table: None,
            database_id: None,
            data_source_id: None,
            conflict_policy: None,
        }
    }

    fn client(sb: &TrelloSandbox) -> TrelloClient {
        TrelloClient::new(
            sb.api_base(),
            SecretString::from(sb.api_key().to_owned()),
            SecretString::from(sb.api_token().to_owned()),
            RetryPolicy::default(),
            TrelloLimits::default(),
        )
        .expect("client")
    }

    #[tokio::test]
    async fn short_links_and_urls_become_the_full_id_with_one_call_per_board() {
        let sb = TrelloSandbox::start().await.expect("sandbox");
        let board = sb.setup_board("Leads", &["New"], &[]);
        let url = format!("https://trello.com/b/{}/leads", board.short_link);
        let mut pairs = vec![
            pair("a", &board.short_link),
            pair("b", &url),
            pair("c", &board.board_id),
        ];
        assert!(needs_resolution(&pairs));
        let before = sb.gate().calls().records().len();
        let resolved = resolve_board_ids(&mut pairs, &client(&sb))
            .await
            .expect("resolves");
        assert!(
            pairs.iter().all(|p| p.board_id == board.board_id),
            "{pairs:?}"
        );
        assert_eq!(resolved.len(), 2);
        assert_eq!(resolved[1].given, url);
        assert_eq!(
            sb.gate().calls().records().len() - before,
            1,
            "one call for one board"
        );
        assert!(!needs_resolution(&pairs));
    }

    #[tokio::test]
    async fn an_unknown_short_link_names_the_key_and_the_member() {
        let sb = TrelloSandbox::start().await.expect("sandbox");
        let mut pairs = vec![pair("a", "ZZZZ9999")];
        let err = resolve_board_ids(&mut pairs, &client(&sb))
            .await
            .expect_err("unknown board");
        let text = err.to_string();
        assert!(text.starts_with("pairs[0].board_id: "), "{text}");
        assert!(
            text.contains("ZZZZ9999") && text.contains("trello.api_token"),
            "{text}"
        );
        assert_eq!(pairs[0].board_id, "ZZZZ9999", "left as given on failure");
    }

    #[tokio::test]
    async fn a_mirror_s_short_links_become_full_ids_and_an_unknown_one_names_its_key() {
        let sb = TrelloSandbox::start().await.expect("sandbox");
        let board = sb.setup_board("Client", &["Backlog"], &[]);
        let mirror = |a: &str, b: &str| MirrorSettings {
            name: "m".into(),
            board_a: a.into(),
            board_b: b.into(),
            conflict_policy: Default::default(),
            lists: [("A".to_owned(), "B".to_owned())].into(),
        };
        let full = "5f1e2d3c4b5a69788796a5b4";
        let mut mirrors = vec![mirror(
            full,
            &format!("https://trello.com/b/{}/c", board.short_link),
        )];
        assert!(mirrors_need_resolution(&mirrors));
        resolve_mirror_board_ids(&mut mirrors, &client(&sb))
            .await
            .expect("resolves");
        assert_eq!(
            (mirrors[0].board_a.as_str(), mirrors[0].board_b.as_str()),
            (full, board.board_id.as_str())
        );
        assert!(!mirrors_need_resolution(&mirrors));
        let mut unknown = vec![mirror("ZZZZ9999", full)];
        let err = resolve_mirror_board_ids(&mut unknown, &client(&sb))
            .await
            .expect_err("unknown");
        assert!(err.starts_with("mirrors[0].board_a: "), "{err}");
    }

    #[tokio::test]
    async fn full_ids_need_no_call() {
        let sb = TrelloSandbox::start().await.expect("sandbox");
        let mut pairs = vec![pair("a", "5f1e2d3c4b5a69788796a5b4")];
        assert!(!needs_resolution(&pairs));
        let before = sb.gate().calls().records().len();
        let resolved = resolve_board_ids(&mut pairs, &client(&sb))
            .await
            .expect("ok");
        assert!(resolved.is_empty());
        assert_eq!(sb.gate().calls().records().len(), before);
    }
}
