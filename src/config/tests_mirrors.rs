//! `[[mirrors]]`: loading, and every invalid mirror named by its key.

use std::io::Write;

use super::*;

const PAIR: &str = r#"
[[pairs]]
name = "sales"
spreadsheet_id = "sheet-1"
sheet = "Leads"
board_id = "board-a"
[pairs.status_lists]
New = "New"
Lost = "Lost"
"#;

fn mirror(name: &str, a: &str, b: &str, lists: &str) -> String {
    format!(
        "\n[[mirrors]]\nname = \"{name}\"\nboard_a = \"{a}\"\nboard_b = \"{b}\"\n\
         conflict_policy = \"prefer_b\"\n[mirrors.lists]\n{lists}\n"
    )
}

fn load_text(text: &str) -> Result<Settings, ConfigError> {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    load(&Sources {
        file: Some(f.path().to_path_buf()),
        ..Sources::default()
    })
}

fn error(text: &str) -> String {
    load_text(text).expect_err("must be refused").to_string()
}

#[test]
fn a_mirror_loads_with_its_boards_policy_and_lists() {
    let text = mirror(
        "client",
        "board-a",
        "board-b",
        "\"To Do\" = \"Backlog\"\nDone = \"Done\"",
    );
    let s = load_text(&format!("{PAIR}{text}")).expect("loads");
    let m = s.mirror("client").expect("the mirror");
    assert_eq!(
        (m.board_a.as_str(), m.board_b.as_str()),
        ("board-a", "board-b")
    );
    assert_eq!(m.conflict_policy, MirrorPolicySetting::PreferB);
    assert_eq!(m.b_list_for("to do"), Some("Backlog"));
    assert_eq!(m.a_list_for("BACKLOG"), Some("To Do"));
    assert_eq!(m.b_list_for("Doing"), None);
}

#[test]
fn the_policy_defaults_to_last_writer_wins_and_a_bad_one_is_named() {
    let text =
        "[[mirrors]]\nname = \"m\"\nboard_a = \"x\"\nboard_b = \"y\"\n[mirrors.lists]\nA = \"B\"\n";
    let s = load_text(text).expect("loads");
    assert_eq!(
        s.mirrors[0].conflict_policy,
        MirrorPolicySetting::LastWriterWins
    );
    let bad = error(&text.replace(
        "[mirrors.lists]",
        "conflict_policy = \"newest\"\n[mirrors.lists]",
    ));
    assert!(bad.contains("mirrors[0].conflict_policy"), "{bad}");
    assert!(bad.contains("prefer_a"), "{bad}");
}

#[test]
fn a_name_used_by_a_pair_or_another_mirror_is_refused() {
    let clash = error(&format!("{PAIR}{}", mirror("sales", "x", "y", "A = \"B\"")));
    assert!(clash.starts_with("mirrors[0].name:"), "{clash}");
    assert!(clash.contains("\"sales\""), "{clash}");
    let twice = mirror("m", "x", "y", "A = \"B\"");
    let dup = error(&format!("{twice}{twice}"));
    assert!(dup.starts_with("mirrors[1].name:"), "{dup}");
}

#[test]
fn the_same_board_on_both_sides_is_refused() {
    let e = error(&mirror("m", "board-x", " board-x", "A = \"B\""));
    assert!(e.starts_with("mirrors[0].board_b:"), "{e}");
    assert!(e.contains("same board"), "{e}");
}

#[test]
fn an_empty_lists_map_and_empty_or_repeated_names_are_refused() {
    let e = error("[[mirrors]]\nname = \"m\"\nboard_a = \"x\"\nboard_b = \"y\"\n");
    assert!(e.starts_with("mirrors[0].lists: empty"), "{e}");
    let e = error(&mirror("m", "x", "y", "A = \"B\"\nC = \"b\""));
    assert!(e.starts_with("mirrors[0].lists:"), "{e}");
    assert!(e.contains("two lists"), "{e}");
    let e = error(&mirror("m", "x", "y", "A = \" \""));
    assert!(e.contains("must not be empty"), "{e}");
    let e = error(&mirror("", "x", "y", "A = \"B\""));
    assert!(e.starts_with("mirrors[0].name: must not be empty"), "{e}");
}

#[test]
fn a_board_reference_that_cannot_be_a_board_is_named() {
    let e = error(&mirror(
        "m",
        "x",
        "https://trello.com/c/AbCd1234/1-card",
        "A = \"B\"",
    ));
    assert!(e.starts_with("mirrors[0].board_b:"), "{e}");
}

#[test]
fn a_list_mapped_by_a_mirror_and_by_a_pair_on_the_same_board_is_refused() {
    let e = error(&format!(
        "{PAIR}{}",
        mirror("m", "board-a", "y", "new = \"Inbox\"")
    ));
    assert!(e.starts_with("mirrors[0].lists:"), "{e}");
    assert!(e.contains("pair \"sales\""), "{e}");
    let e = error(&format!(
        "{PAIR}{}",
        mirror("m", "y", "board-a", "Inbox = \"Lost\"")
    ));
    assert!(e.contains("of board_b"), "{e}");
    // The same list name on another board is no clash.
    load_text(&format!(
        "{PAIR}{}",
        mirror("m", "board-c", "y", "New = \"Inbox\"")
    ))
    .expect("loads");
}
