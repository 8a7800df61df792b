//! Builds the Notion client from `Settings` with the default retry policy and Notion's budget of
//! 3 calls per second per integration; shared by every command that talks to Notion.

use secrecy::ExposeSecret;

use super::{NotionClient, REQUESTS_PER_SECOND};
use crate::clients::http::{ClientError, RetryPolicy};
use crate::config::Settings;

/// A Notion client acting with `notion.token` against `notion.api_base`. An empty token is
/// refused here: Notion would only answer a less helpful 401.
pub fn notion_client(settings: &Settings) -> Result<NotionClient, ClientError> {
    let n = &settings.notion;
    if n.token.expose_secret().trim().is_empty() {
        return Err(ClientError::Config("notion.token is empty".into()));
    }
    NotionClient::new(
        &n.api_base,
        &n.token,
        RetryPolicy::default(),
        REQUESTS_PER_SECOND,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_env_only as settings;

    #[test]
    fn the_notion_client_is_paced_at_three_calls_a_second_and_needs_its_token() {
        let s = settings(&[("LEADSYNC__NOTION__TOKEN", "ntn_x")]);
        let stats = notion_client(&s).expect("built").limiter_stats();
        assert_eq!(stats.len(), 1, "one limiter per integration");
        assert_eq!(stats[0].max, REQUESTS_PER_SECOND);
        let empty = settings(&[("LEADSYNC__NOTION__TOKEN", " ")]);
        let err = notion_client(&empty).expect_err("refused");
        assert!(err.to_string().contains("notion.token"), "{err}");
    }
}
