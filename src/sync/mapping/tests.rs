//! Tests of the field mapping: statuses, the description marker, columns and cards.

use super::*;

fn statuses() -> StatusLists {
    StatusLists::new([
        ("New".into(), "Inbox".into()),
        ("Contacted".into(), "Contacted".into()),
        ("Lost".into(), "Lost".into()),
        ("Dead".into(), "lost".into()),
    ])
}

fn id(s: &str) -> LeadId {
    LeadId::parse(s).unwrap()
}

#[test]
fn statuses_and_lists_match_ignoring_case_and_spaces() {
    let s = statuses();
    assert_eq!(s.list_for_status(" contacted "), Some("Contacted"));
    assert_eq!(s.list_for_status("new"), Some("Inbox"));
    assert_eq!(s.list_for_status("Qualified"), None);
    assert_eq!(s.status_for_list("INBOX"), Some("New"));
    assert_eq!(s.status_for_list("Doing"), None);
    assert_eq!(s.canonical_status("LOST "), Some("Lost"));
}

#[test]
fn a_list_shared_by_two_statuses_reads_as_the_first_configured() {
    assert_eq!(statuses().status_for_list("Lost"), Some("Lost"));
}

#[test]
fn descriptions_round_trip_through_the_marker() {
    let lead = id("L0123456789ab");
    for notes in [
        "",
        "Met at the fair.",
        "two\nlines",
        "ends with blank lines\n\n",
        "ends with a newline\n",
        "crlf\r\nnotes\r\n",
        "stray cr\r",
        "\n",
        "Ünïcödé — 日本語 🎉",
        "leadsync:Lother\nnot the last line",
        "  leading and trailing spaces  ",
    ] {
        let desc = compose_description(notes, &lead);
        assert!(desc.ends_with("leadsync:L0123456789ab"));
        assert_eq!(
            split_description(&desc),
            (notes.to_owned(), Some(lead.clone())),
            "{notes:?}"
        );
    }
}

#[test]
fn empty_notes_give_the_marker_alone() {
    assert_eq!(compose_description("", &id("L1")), "leadsync:L1");
}

#[test]
fn a_marker_is_found_after_trello_trims_or_crlf_reformats() {
    assert_eq!(
        split_description("hi\r\n\r\nleadsync:L1\r\n"),
        ("hi".into(), Some(id("L1")))
    );
    assert_eq!(
        split_description("hi\n\nleadsync:L1  \n\n"),
        ("hi".into(), Some(id("L1")))
    );
}

#[test]
fn a_description_without_a_valid_last_line_marker_is_all_notes() {
    for desc in [
        "plain notes",
        "leadsync:L1\nthen more",
        "bad id\n\nleadsync:not valid",
        "leadsync:",
        "",
    ] {
        assert_eq!(split_description(desc), (desc.to_owned(), None));
    }
}

fn names() -> ColumnNames {
    ColumnNames {
        id: "Lead ID".into(),
        name: "Name".into(),
        email: "Email".into(),
        phone: "Phone".into(),
        company: "Company".into(),
        status: "Status".into(),
        notes: "Notes".into(),
        card: Some("Trello Card".into()),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn columns_are_found_by_header_text_in_any_order() {
    let header = strings(&[
        "Extra",
        " name ",
        "EMAIL",
        "Phone",
        "Company",
        "Lead ID",
        "Notes",
        "status",
        "Trello Card",
    ]);
    let map = ColumnMap::from_header(&header, &names()).unwrap();
    assert_eq!(map.id, 5);
    assert_eq!(map.card, Some(8));
    let row = map.read_row(&strings(&[
        "x", "Ada", "ada@x", "", "ACME", " L7 ", "hi", "New",
    ]));
    assert_eq!(row.id, "L7");
    assert_eq!(row.fields.get(Field::Name), Some("Ada"));
    assert_eq!(row.fields.get(Field::Status), Some("New"));
    assert_eq!(row.fields.get(Field::Phone), Some(""));
    assert_eq!(row.card_url, None, "a cell past the row's end is empty");
    assert!(row.is_lead());
}

#[test]
fn missing_columns_are_all_named() {
    let header = strings(&["Name", "Email", "Status", "Notes", "Company"]);
    let err = ColumnMap::from_header(&header, &names()).unwrap_err();
    assert_eq!(err.0, strings(&["Lead ID", "Phone", "Trello Card"]));
    assert_eq!(
        err.to_string(),
        "sheet header row lacks column(s): Lead ID, Phone, Trello Card"
    );
}

#[test]
fn a_row_without_a_name_is_not_a_lead() {
    let header = strings(&[
        "Lead ID", "Name", "Email", "Phone", "Company", "Status", "Notes",
    ]);
    let names = ColumnNames {
        card: None,
        ..names()
    };
    let map = ColumnMap::from_header(&header, &names).unwrap();
    assert!(!map.read_row(&strings(&["L1", "  ", "a@b"])).is_lead());
}

#[test]
fn apps_script_values_are_read_by_header_text() {
    let values: HashMap<String, String> = [("lead id", "L2"), ("NAME", "Bo"), ("Status", "Lost")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lead = read_values(&values, &names());
    assert_eq!(lead.id, "L2");
    assert_eq!(lead.fields.get(Field::Name), Some("Bo"));
    assert_eq!(
        lead.fields.get(Field::Email),
        None,
        "absent cells are not observed"
    );
}

fn board() -> BoardNames {
    BoardNames {
        lists: [("l1", "Inbox"), ("l2", "Doing")]
            .iter()
            .map(|(i, n)| ((*i).to_owned(), (*n).to_owned()))
            .collect(),
        custom_fields: [("cf-e", Field::Email), ("cf-p", Field::Phone)]
            .iter()
            .map(|(i, f)| ((*i).to_owned(), *f))
            .collect(),
    }
}

#[test]
fn a_card_reads_as_lead_fields() {
    let custom = vec![("cf-e".to_owned(), "x@y".to_owned())];
    let card = CardInput {
        name: "Ada",
        desc: "notes\n\nleadsync:L9",
        list_id: "l1",
        custom_fields: &custom,
    };
    let lead = card_fields(card, &board(), &statuses());
    assert_eq!(lead.lead_id, Some(id("L9")));
    assert_eq!(lead.fields.get(Field::Status), Some("New"));
    assert_eq!(lead.fields.get(Field::Notes), Some("notes"));
    assert_eq!(lead.fields.get(Field::Email), Some("x@y"));
    assert_eq!(lead.fields.get(Field::Phone), Some(""), "no value is empty");
    assert_eq!(
        lead.fields.get(Field::Company),
        None,
        "no such custom field"
    );
    assert_eq!(lead.unmapped_list, None);
}

#[test]
fn a_card_in_an_unmapped_list_has_no_status_and_names_the_list() {
    let card = CardInput {
        name: "Bo",
        desc: "",
        list_id: "l2",
        custom_fields: &[],
    };
    let lead = card_fields(card, &board(), &statuses());
    assert_eq!(lead.fields.get(Field::Status), None);
    assert_eq!(lead.unmapped_list.as_deref(), Some("Doing"));
    assert_eq!(lead.lead_id, None);
}
