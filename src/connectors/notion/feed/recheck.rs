//! Pages a poll's query no longer answers, read again a few at a time. A data-source query never
//! answers a page in the trash, so a page trashed while its events were lost would keep its card
//! open until a reconciliation missed it twice; each poll therefore reads up to
//! [`PER_POLL`] of the pages it keeps snapshots of and its query did not answer, in page-id order
//! from where the last poll stopped (round the list), and stores a trashed or deleted one as a
//! deletion. A live page is left alone: any edit of it since the last poll was in the query.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;

use super::keep::{PageChange, When, store_change};
use super::{Feed, FeedError, count, polled_change_time};
use crate::connectors::notion::send::page_gone;
use crate::store::StoreError;
use crate::sync::context::PairContext;

/// Stored pages a poll reads again: bounded, so a large database costs each poll a few calls
/// of the integration's 3 a second (every page is read within `pages / PER_POLL` polls).
pub(super) const PER_POLL: usize = 2;

type Cells = BTreeMap<String, String>;

impl Feed {
    /// Reads again up to [`PER_POLL`] of `unanswered` (the pair's snapshots its query did not
    /// answer, by compact page id) and stores those gone as deletions; answers the changes
    /// stored. A failed read ends the round; the next poll starts again from that page.
    pub(super) async fn recheck_pages(
        &self,
        ctx: &PairContext,
        bot: &str,
        unanswered: HashMap<String, Cells>,
    ) -> Result<usize, FeedError> {
        let after = self.rechecked_lock().get(&ctx.name).cloned();
        let ids: Vec<&String> = unanswered.keys().collect();
        let mut changes = Vec::new();
        for id in next_pages(&ids, after.as_deref(), PER_POLL) {
            let now = Utc::now();
            let change = match self.sources.client().retrieve_page(&id).await {
                Ok(page) if page.in_trash => {
                    let at = polled_change_time(page.last_edited_time, now);
                    let early = unanswered.get(&id).cloned();
                    let when = When::At(at);
                    Some(PageChange::read(&ctx.name, &page, bot, early, false, when))
                }
                Ok(_) => None,
                Err(e) if page_gone(&e) => Some(PageChange::gone(ctx.name.clone(), &id, now)),
                Err(e) => {
                    tracing::debug!(page_id = %id, error = %e, "re-reading a kept Notion page failed; the next poll tries it again");
                    break;
                }
            };
            changes.extend(change);
            self.rechecked_lock().insert(ctx.name.clone(), id);
        }
        if changes.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin_write().await?;
        let mut n = 0;
        for change in &changes {
            n += store_change(&mut tx, Some(ctx), change).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        count(n);
        Ok(n)
    }

    fn rechecked_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.rechecked.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Up to `n` of `ids` in order, starting after `after` and wrapping round to the first; none
/// twice.
fn next_pages(ids: &[&String], after: Option<&str>, n: usize) -> Vec<String> {
    let mut sorted: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
    sorted.sort_unstable();
    let start = after.map_or(0, |a| sorted.partition_point(|id| *id <= a));
    (sorted.iter().cycle().skip(start))
        .take(n.min(sorted.len()))
        .map(|s| (*s).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::next_pages;

    #[test]
    fn pages_are_read_again_a_few_at_a_time_round_the_list() {
        let owned: Vec<String> = ["c", "a", "d", "b"].map(String::from).to_vec();
        let ids: Vec<&String> = owned.iter().collect();
        assert_eq!(next_pages(&ids, None, 2), ["a", "b"]);
        assert_eq!(next_pages(&ids, Some("b"), 2), ["c", "d"]);
        assert_eq!(next_pages(&ids, Some("d"), 2), ["a", "b"], "round again");
        assert_eq!(next_pages(&ids, Some("c"), 2), ["d", "a"]);
        assert_eq!(
            next_pages(&ids, Some("bb"), 2),
            ["c", "d"],
            "a page gone since"
        );
        assert_eq!(next_pages(&ids[..1], Some("c"), 2), ["c"], "none twice");
        assert!(next_pages(&[], Some("c"), 2).is_empty());
    }
}
