//! Tests of the domain types: id validation, contract spellings and value hashing.

use super::*;

#[test]
fn lead_ids_accept_the_documented_alphabet_only() {
    assert_eq!(LeadId::parse(" Ab_9-x ").map(|i| i.0), Ok("Ab_9-x".into()));
    assert_eq!(LeadId::parse("  "), Err(InvalidLeadId::Empty));
    assert_eq!(LeadId::parse(&"a".repeat(33)), Err(InvalidLeadId::TooLong));
    assert!(LeadId::parse(&"a".repeat(32)).is_ok());
    assert_eq!(LeadId::parse("a b"), Err(InvalidLeadId::BadCharacter));
    assert_eq!(LeadId::parse("é"), Err(InvalidLeadId::BadCharacter));
}

#[test]
fn generated_lead_ids_are_valid_and_distinct() {
    let a = LeadId::generate();
    let b = LeadId::generate();
    assert_ne!(a, b);
    assert_eq!(a.as_str().len(), 13);
    assert_eq!(LeadId::parse(a.as_str()), Ok(a));
}

#[test]
fn lead_ids_are_validated_when_deserialised() {
    assert!(serde_json::from_str::<LeadId>("\"L1\"").is_ok());
    assert!(serde_json::from_str::<LeadId>("\"no way\"").is_err());
}

#[test]
fn policies_and_sides_use_the_contract_spelling() {
    let p: ConflictPolicy = serde_json::from_str("\"prefer_trello\"").unwrap();
    assert_eq!(p, ConflictPolicy::PreferTrello);
    assert_eq!(
        serde_json::to_string(&ConflictPolicy::LastWriterWins).unwrap(),
        "\"last_writer_wins\""
    );
    assert_eq!(Side::Sheet.as_str(), "sheet");
    assert_eq!(Side::Trello.other(), Side::Sheet);
    assert_eq!(Field::ALL.map(Field::as_str)[5], "company");
}

#[test]
fn whitespace_only_differences_hash_equal() {
    let a = ValueHash::of("first line  \r\nsecond\t\r\n\r\n");
    let b = ValueHash::of("  first line\nsecond");
    // Leading whitespace of the whole value is trimmed too, but not inside lines.
    assert_eq!(a, b);
    assert_ne!(ValueHash::of("a b"), ValueHash::of("a  b"));
    assert_ne!(ValueHash::of("Ada"), ValueHash::of("ada"));
    assert_eq!(ValueHash::of("").as_str().len(), 64);
}
