//! How the mirror engine reads cards: one at a time from the board (a webhook's card and its
//! twin), or from both boards read whole once (reconciliation). A listing may be older than the
//! pass that uses it (another engine's pass ran in between): a card missing from it is read
//! alone (made since, or deleted), and a pass that would write a link another pass saved since
//! the listing began reads its cards again (`link.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::clients::http::ClientError;
use crate::model::LeadId;
use crate::model::board::{Card, Label};
use crate::sync::board::BoardConnector;

use super::context::marker_of;

/// Both boards read whole: every card by id, and each board's card ids.
type Whole = (HashMap<String, Card>, HashMap<String, Vec<String>>);

pub struct Reader {
    pub board: Arc<dyn BoardConnector>,
    whole: Option<Whole>,
    /// When the listing began (unix ms), for a whole read.
    listed_at: Option<i64>,
    /// Each board's labels once read (and those made since), by board id: a label is looked up
    /// once per pass, and one made for a card is found, not made again, for the next.
    labels: Mutex<HashMap<String, Vec<Label>>>,
}

impl Reader {
    pub fn live(board: Arc<dyn BoardConnector>) -> Self {
        Self {
            board,
            whole: None,
            listed_at: None,
            labels: Mutex::default(),
        }
    }

    /// A board's labels: read on first use.
    pub async fn labels(&self, board_id: &str) -> Result<Vec<Label>, ClientError> {
        if let Some(known) = self.known_labels().get(board_id) {
            return Ok(known.clone());
        }
        let read = self.board.labels(board_id).await?;
        self.known_labels()
            .insert(board_id.to_owned(), read.clone());
        Ok(read)
    }

    /// A label leadsync made on a board, known from now on.
    pub fn made_label(&self, board_id: &str, label: Label) {
        self.known_labels()
            .entry(board_id.to_owned())
            .or_default()
            .push(label);
    }

    fn known_labels(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Label>>> {
        self.labels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads both boards whole, once.
    pub async fn whole(
        board: Arc<dyn BoardConnector>,
        boards: [&str; 2],
    ) -> Result<Self, ClientError> {
        let listed_at = crate::store::now_ms();
        let mut cards = HashMap::new();
        let mut by_board = HashMap::new();
        for id in boards {
            let listed = board.cards(id).await?;
            by_board.insert(id.to_owned(), listed.iter().map(|c| c.id.clone()).collect());
            cards.extend(listed.into_iter().map(|c| (c.id.clone(), c)));
        }
        Ok(Self {
            board,
            whole: Some((cards, by_board)),
            listed_at: Some(listed_at),
            labels: Mutex::default(),
        })
    }

    /// When cards come from a listing read earlier, not from the board now: when it began.
    pub fn listed_at(&self) -> Option<i64> {
        self.listed_at
    }

    /// The card as it is now (or as listed); `None` when it was deleted.
    pub async fn card(&self, card_id: &str) -> Result<Option<Card>, ClientError> {
        if let Some((cards, _)) = &self.whole
            && let Some(card) = cards.get(card_id)
        {
            return Ok(Some(card.clone()));
        }
        self.fresh(card_id).await
    }

    /// The card as it is on the board now, listing or not; `None` when it was deleted.
    pub async fn fresh(&self, card_id: &str) -> Result<Option<Card>, ClientError> {
        match self.board.card(card_id).await {
            Ok(card) => Ok(Some(card)),
            Err(ClientError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The cards of a board ending with the marker of `link` (a twin whose create's answer was
    /// lost, or one leadsync made before its database was lost): the open one first. From the
    /// listing if there is one: a card leadsync made since has its link stored.
    pub async fn by_marker(
        &self,
        board_id: &str,
        link: &LeadId,
    ) -> Result<Option<Card>, ClientError> {
        let cards = match &self.whole {
            Some((cards, by_board)) => (by_board.get(board_id).into_iter().flatten())
                .filter_map(|id| cards.get(id).cloned())
                .collect(),
            None => self.board.cards(board_id).await?,
        };
        Ok(with_marker(cards, link))
    }

    /// As `by_marker`, read now, listing or not: before a create, a twin another pass made
    /// since the listing (its answer lost) must be found, never made again.
    pub async fn by_marker_now(
        &self,
        board_id: &str,
        link: &LeadId,
    ) -> Result<Option<Card>, ClientError> {
        Ok(with_marker(self.board.cards(board_id).await?, link))
    }

    /// Every card of a board (reconciliation only).
    pub fn listed(&self, board_id: &str) -> Vec<Card> {
        let Some((cards, by_board)) = &self.whole else {
            return Vec::new();
        };
        (by_board.get(board_id).into_iter().flatten())
            .filter_map(|id| cards.get(id).cloned())
            .collect()
    }
}

/// The cards ending with the marker of `link`, the open one first.
fn with_marker(cards: Vec<Card>, link: &LeadId) -> Option<Card> {
    let mut found: Vec<Card> = (cards.into_iter())
        .filter(|c| marker_of(c).as_ref() == Some(link))
        .collect();
    found.sort_by_key(|c| c.closed);
    found.into_iter().next()
}
