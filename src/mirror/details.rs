//! Writing a merged label set or checklist value onto a card (`diff.rs` says what differs): a
//! label set is one update replacing the card's whole set, a label the card's board lacks made
//! there first, with the colour it has on the other card;
//! checklist steps run in order, a new checklist's items after it. Only what differs is written.
//! Each checklist is a field of its own; a side's merged checklists are written together, by one
//! plan over the card's checklists (`values::with_checklists`, then `diff::checklists`).

use std::collections::BTreeMap;

use crate::model::LeadId;
use crate::model::board::{Card, CardUpdate, ChecklistEdit};
use crate::store::mirror_links::MirrorSide;
use crate::sync::board::OnLost;

use super::context::{CHECKLIST, MirrorContext, checklist_name};
use super::diff::{self, Step};
use super::reader::Reader;
use super::values::{self, LabelKey, ListValue, label_key};
use super::{Error, Mirrors};

/// Where a detail write goes: the card on `side` as read, and its twin as read (the source of
/// a missing label's colour).
pub struct Target<'a> {
    pub side: MirrorSide,
    pub card: &'a Card,
    pub twin: &'a Card,
}

impl Mirrors {
    /// A new (or found again) twin gets the source card's due date, labels and checklists
    /// (`fields`), which a card create does not carry. They are diffed against the twin as it is
    /// now, read again first: its user may have edited the brand-new twin meanwhile, and a
    /// checklist added there would otherwise be added a second time. A field that user changed
    /// since the twin was made is not written: it is answered, and left to the merge without a
    /// base (two users' values: a conflict the policy decides; an empty side takes the other's).
    pub(super) async fn copy_details(
        &self,
        ctx: &MirrorContext,
        reader: &Reader,
        to: &Target<'_>,
        link: &LeadId,
        fields: &[String],
    ) -> Result<Vec<String>, Error> {
        let source = to.side.other();
        let want = |f: &str| ctx.value(source, to.twin, f).unwrap_or_default();
        let of = |card: &Card, f: &str| ctx.value(to.side, card, f).unwrap_or_default();
        if fields.iter().all(|f| want(f) == of(to.card, f)) {
            return Ok(Vec::new());
        }
        let Some(now) = reader.fresh(&to.card.id).await? else {
            // Deleted meanwhile: the link is whole, and its next pass archives the source card.
            return Ok(Vec::new());
        };
        let (mut write, mut edited) = (Vec::new(), Vec::new());
        for field in fields {
            let value = of(&now, field);
            if value == want(field) {
                continue;
            }
            if value == of(to.card, field) {
                write.push(field.as_str());
            } else {
                edited.push(field.clone());
            }
        }
        let to = Target {
            side: to.side,
            card: &now,
            twin: to.twin,
        };
        if write.contains(&"due") {
            let mut update = CardUpdate::default();
            ctx.write(to.side, &mut update, "due", &want("due"), link);
            (self.board)
                .update_card(&now.id, &update, OnLost::Report)
                .await?;
        }
        if write.contains(&"labels") {
            self.write_labels(ctx, reader, &to, &want("labels")).await?;
        }
        let mut lists = BTreeMap::new();
        for field in &write {
            if let Some(name) = checklist_name(field) {
                let items = values::checklist_items(&want(field)).map_err(Error::Value)?;
                lists.insert(name.to_owned(), items);
            }
        }
        if !lists.is_empty() {
            // The twin's own checklists (a user's, of another name) are kept.
            let plan = values::with_checklists(&now, &lists, to.twin);
            self.write_checklists(&now, &plan).await?;
        }
        Ok(edited)
    }

    /// Writes the merged checklist values `lists` (by name) on `to.card`, read again first:
    /// Trello has no whole-checklist write, and steps planned on the card as the pass read it
    /// would add a second checklist beside one of that name its user added since (seed 10), or
    /// keep an item its user added since beside the merged ones, the union no side held (seed
    /// 20). A checklist field whose value changed since the read is not written (its user's edit
    /// is neither merged into nor overwritten unseen): returned, its base dropped, the next pass
    /// merges the two users' values without one, as the conflict they are.
    pub(super) async fn write_checklist_fields(
        &self,
        ctx: &MirrorContext,
        reader: &Reader,
        to: &Target<'_>,
        mut lists: BTreeMap<String, Option<values::Items>>,
    ) -> Result<Vec<String>, Error> {
        let Some(now) = reader.fresh(&to.card.id).await? else {
            return Ok(Vec::new());
        };
        let field = |name: &str| format!("{CHECKLIST}{name}");
        let moved = |name: &str| {
            let f = field(name);
            ctx.value(to.side, &now, &f) != ctx.value(to.side, to.card, &f)
        };
        let skipped: Vec<String> = lists
            .keys()
            .filter(|n| moved(n))
            .map(|n| field(n))
            .collect();
        lists.retain(|name, _| !moved(name));
        if !lists.is_empty() {
            let want = values::with_checklists(&now, &lists, to.twin);
            self.write_checklists(&now, &want).await?;
        }
        Ok(skipped)
    }

    /// Gives a card exactly the checklists `want`, in order.
    pub(super) async fn write_checklists(
        &self,
        card: &Card,
        want: &[ListValue],
    ) -> Result<(), Error> {
        for step in diff::checklists(card, want) {
            self.step(&card.id, step).await?;
        }
        Ok(())
    }

    /// Gives a card the label set `value` (a `labels` field's value) in one card update that
    /// replaces its whole set (`idLabels`): a label a user put on since the card was read is
    /// taken off, never kept beside the merged value (the union no side held); the card's
    /// history then shows it lost (`overwritten`). Missing labels are made first.
    pub(super) async fn write_labels(
        &self,
        ctx: &MirrorContext,
        reader: &Reader,
        to: &Target<'_>,
        value: &str,
    ) -> Result<(), Error> {
        let want: Vec<LabelKey> = values::parse("labels", value).map_err(Error::Value)?;
        let (mut ids, add) = diff::labels(to.card, &want);
        let board_id = ctx.board(to.side);
        for key in add {
            let known = reader.labels(board_id).await?;
            let label = match known.iter().find(|l| label_key(l) == key) {
                Some(found) => found.clone(),
                None => {
                    // Among labels of one name the first (CONTRACT §8) gives the colour.
                    let color = match &key.1 {
                        Some(color) => Some(color.clone()),
                        None => (to.twin.labels.iter())
                            .find(|l| label_key(l) == key)
                            .and_then(|l| l.color.clone()),
                    };
                    let made = (self.board)
                        .create_label(board_id, &key.0, color.as_deref())
                        .await?;
                    reader.made_label(board_id, made.clone());
                    made
                }
            };
            ids.push(label.id);
        }
        let update = CardUpdate {
            label_ids: Some(ids),
            ..CardUpdate::default()
        };
        (self.board)
            .update_card(&to.card.id, &update, OnLost::Report)
            .await?;
        Ok(())
    }

    async fn step(&self, card_id: &str, step: Step) -> Result<(), Error> {
        let edit = match step {
            Step::RemoveList { list_id } => ChecklistEdit::RemoveChecklist {
                checklist_id: list_id,
            },
            Step::AddList(list) => return self.add_list(card_id, list).await,
            Step::AddItem {
                list_id,
                name,
                complete,
            } => ChecklistEdit::AddItem {
                checklist_id: list_id,
                name,
                complete,
            },
            Step::UpdateItem {
                item_id,
                name,
                complete,
            } => ChecklistEdit::UpdateItem {
                item_id,
                name,
                complete,
            },
            Step::RemoveItem { list_id, item_id } => ChecklistEdit::RemoveItem {
                checklist_id: list_id,
                item_id,
            },
        };
        self.board.checklist_edit(card_id, &edit).await?;
        Ok(())
    }

    async fn add_list(&self, card_id: &str, list: ListValue) -> Result<(), Error> {
        let add = ChecklistEdit::AddChecklist { name: list.name };
        let made = self.board.checklist_edit(card_id, &add).await?;
        let checklist_id = made.ok_or_else(|| Error::Value("a new checklist without id".into()))?;
        for (name, complete) in list.items {
            let item = ChecklistEdit::AddItem {
                checklist_id: checklist_id.clone(),
                name,
                complete,
            };
            self.board.checklist_edit(card_id, &item).await?;
        }
        Ok(())
    }
}
