//! A pair's `board_id` as a user writes it: the board's 24-hex id, its 8-character short link,
//! or its URL. Trello's webhooks name boards only by the full id, so anything else is resolved
//! online at start-up (`resolve_board_ids`, in the Trello connector's folder); this module only
//! reads the text.

/// What a `board_id` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardRef {
    /// The full id (24 hex digits) — or any other text, left for Trello to judge, so that a
    /// wrong id is reported by `check` as "not found" rather than guessed at here.
    Id(String),
    /// The board's short link (8 letters and digits), as in `https://trello.com/b/<short>/…`.
    ShortLink(String),
}

impl BoardRef {
    /// Reads a `board_id` value. Only a URL that cannot be a board's is an error: its message
    /// says what was given and what is expected.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if looks_like_url(value) {
            return short_link_of_url(value).map(|s| Self::ShortLink(s.to_owned()));
        }
        if is_full_id(value) {
            Ok(Self::Id(value.to_owned()))
        } else if is_short_link(value) {
            Ok(Self::ShortLink(value.to_owned()))
        } else {
            Ok(Self::Id(value.to_owned()))
        }
    }
}

/// Trello object ids are 24 hex digits.
pub fn is_full_id(value: &str) -> bool {
    value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_short_link(value: &str) -> bool {
    value.len() == 8 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn looks_like_url(value: &str) -> bool {
    value.contains("://") || value.starts_with("trello.com/") || value.starts_with("www.trello")
}

/// `https://trello.com/b/AbCd1234/my-board` (any scheme, host spelling, suffix or `.json`).
fn short_link_of_url(url: &str) -> Result<&str, String> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut segments = path.split(['/', '?', '#']);
    let host = segments.next().unwrap_or_default();
    if !host.eq_ignore_ascii_case("trello.com") && !host.eq_ignore_ascii_case("www.trello.com") {
        return Err(format!(
            "\"{url}\" is not a Trello board URL: use https://trello.com/b/<short link>/…, the \
             8-character short link, or the board's 24-character id"
        ));
    }
    match (segments.next(), segments.next()) {
        (Some("b"), Some(short)) => {
            let short = short.strip_suffix(".json").unwrap_or(short);
            if is_short_link(short) {
                Ok(short)
            } else {
                Err(format!(
                    "\"{url}\": \"{short}\" is not a board short link (8 letters and digits)"
                ))
            }
        }
        (Some("c"), _) => Err(format!(
            "\"{url}\" is a card's URL: open the board and use its URL (https://trello.com/b/…)"
        )),
        _ => Err(format!(
            "\"{url}\" is not a board URL: a board's URL looks like https://trello.com/b/<short \
             link>/<name>"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(s: &str) -> Result<BoardRef, String> {
        Ok(BoardRef::ShortLink(s.into()))
    }

    #[test]
    fn a_full_id_is_taken_as_it_is() {
        let id = "5f1e2d3c4b5a69788796a5b4";
        assert_eq!(BoardRef::parse(id), Ok(BoardRef::Id(id.into())));
        assert_eq!(
            BoardRef::parse(&format!(" {id} ")),
            Ok(BoardRef::Id(id.into()))
        );
    }

    #[test]
    fn a_short_link_and_every_board_url_form_give_the_short_link() {
        assert_eq!(BoardRef::parse("AbCd1234"), short("AbCd1234"));
        for url in [
            "https://trello.com/b/AbCd1234/sales-pipeline",
            "https://trello.com/b/AbCd1234",
            "https://trello.com/b/AbCd1234/",
            "http://www.trello.com/b/AbCd1234/x?menu=filter",
            "trello.com/b/AbCd1234/sales",
            "https://trello.com/b/AbCd1234.json",
        ] {
            assert_eq!(BoardRef::parse(url), short("AbCd1234"), "{url}");
        }
    }

    #[test]
    fn urls_that_cannot_name_a_board_are_refused_with_what_to_use() {
        let card = BoardRef::parse("https://trello.com/c/AbCd1234/12-ada").unwrap_err();
        assert!(card.contains("card's URL"), "{card}");
        let other = BoardRef::parse("https://example.com/b/AbCd1234").unwrap_err();
        assert!(other.contains("not a Trello board URL"), "{other}");
        let bad = BoardRef::parse("https://trello.com/b/too-long-link/x").unwrap_err();
        assert!(bad.contains("not a board short link"), "{bad}");
        let home = BoardRef::parse("https://trello.com/u/someone/boards").unwrap_err();
        assert!(home.contains("not a board URL"), "{home}");
    }

    #[test]
    fn other_text_is_left_for_trello_to_judge() {
        assert_eq!(
            BoardRef::parse("board-1"),
            Ok(BoardRef::Id("board-1".into()))
        );
    }
}
