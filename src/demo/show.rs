//! What `leadsync demo` prints between its steps: the tracker's leads and the board as each side
//! shows them, and at the end the conflict's decision and the activity log.

use std::fmt::Write as _;

use crate::demo::world::World;
use crate::model::TrackerKind;
use crate::store::activity;
use crate::sync::mapping::split_description;

/// The tracker's leads, then the board's cards.
pub fn world(world: &World, pair: &str) {
    let mut out = String::new();
    tracker(&mut out, world, pair);
    board(&mut out, world, pair);
    crate::outln!("{out}");
}

/// The sheet's rows by their `Lead ID` cell, or the Airtable records by their record id (the
/// lead id of an Airtable pair).
fn tracker(out: &mut String, world: &World, pair: &str) {
    let (title, id_header, width) = match world.tracker() {
        TrackerKind::Sheets => ("sheet \"Leads\"", "Lead ID", 14),
        TrackerKind::Airtable => ("Airtable table \"Leads\"", "Record", 18),
        TrackerKind::Notion => ("Notion database \"Leads\"", "Page", 32),
    };
    let _ = writeln!(out, "  {title}:");
    let _ = writeln!(
        out,
        "    {id_header:<width$} {:<22} {:<10} {:<28} Trello Card",
        "Name", "Status", "Notes"
    );
    for r in world.tracker_rows(pair) {
        let id = match world.tracker() {
            TrackerKind::Sheets => r.cell("Lead ID"),
            TrackerKind::Airtable | TrackerKind::Notion => r.key.as_str(),
        };
        let _ = writeln!(
            out,
            "    {id:<width$} {:<22} {:<10} {:<28} {}",
            r.cell("Name"),
            r.cell("Status"),
            r.cell("Notes").replace('\n', " "),
            r.cell("Trello Card")
        );
    }
}

/// The cards: name, list, the Email custom field and the description with its lead marker.
fn board(out: &mut String, world: &World, pair: &str) {
    let _ = writeln!(out, "  Trello board:");
    let _ = writeln!(
        out,
        "    {:<22} {:<10} {:<18} Description",
        "Card", "List", "Email"
    );
    for c in world.cards(pair) {
        let email = c
            .custom_texts
            .get(&world.field_id(pair, "Email"))
            .cloned()
            .unwrap_or_default();
        let (notes, marker) = split_description(&c.desc);
        let desc = format!(
            "{notes} [leadsync:{}]",
            marker.map(|m| m.to_string()).unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "    {:<22} {:<10} {:<18} {}",
            c.name,
            world.list_name(pair, &c.id_list),
            email,
            desc.replace('\n', " ")
        );
    }
}

/// The conflict's decision and the activity log, as `GET /admin/activity` shows it.
pub async fn activity(world: &World) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let state = world.state().context("daemon stopped")?;
    let entries = activity::recent(&state.db.pool, None, 50).await?;
    let side = world.tracker().side_name();
    if let Some(conflict) = entries.iter().find(|e| e.decision == "conflict") {
        let d = &conflict.detail;
        // The tracker side's time, under its own name where decisions name the side by kind.
        let tracker_at = d[format!("{side}_changed_at")]
            .as_str()
            .or(d["sheet_changed_at"].as_str());
        crate::outln!(
            "conflict on {} decided: winner {} by policy {} ({side} changed {}, trello changed {})\n",
            conflict.field.as_deref().unwrap_or("?"),
            d["winner"].as_str().unwrap_or("?"),
            d["policy"].as_str().unwrap_or("?"),
            tracker_at.unwrap_or("?"),
            d["trello_changed_at"].as_str().unwrap_or("?"),
        );
    }
    crate::outln!("Activity log (newest first, as GET /admin/activity shows it):");
    for e in entries.iter().filter(|e| e.decision != "echo").take(12) {
        crate::outln!(
            "  {}  {:<8} {:<16} {}",
            e.at,
            e.field.as_deref().unwrap_or("-"),
            e.decision,
            e.lead_id.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
