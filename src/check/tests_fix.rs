//! `check --fix` against the emulators: what is missing is reported, created once by `--fix`, and a
//! second run is all ok; what cannot be fixed stays an error.

use super::tests::{FIELDS, Fixture, HEADER, LISTS, SPREADSHEET, assert_all_ok, with};
use super::*;

#[tokio::test]
async fn a_missing_list_is_reported_then_created_by_fix_and_a_second_run_is_all_ok() {
    let fx = Fixture::start(&["New", "Contacted", "Lost"], &FIELDS, &HEADER).await;
    let settings = fx.settings("Leads", &[]);

    let first = run(&settings, false).await;
    assert_eq!(
        with(&first, Outcome::Missing),
        vec!["list \"Qualified\" (status Qualified)".to_owned()]
    );
    assert!(!usable(&first));
    assert_eq!(
        fx.trello.lists(&fx.board.board_id).len(),
        3,
        "check alone changes nothing"
    );

    let fixed = run(&settings, true).await;
    assert_eq!(
        with(&fixed, Outcome::Fixed),
        vec!["list \"Qualified\" (status Qualified) created".to_owned()]
    );
    assert!(usable(&fixed));
    let names: Vec<String> = fx
        .trello
        .lists(&fx.board.board_id)
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["New", "Contacted", "Lost", "Qualified"]);

    assert_all_ok(&run(&settings, false).await);
}

#[tokio::test]
async fn two_statuses_mapped_to_one_missing_list_create_it_once() {
    let fx = Fixture::start(&["New", "Contacted", "Qualified"], &FIELDS, &HEADER).await;
    let mut settings = fx.settings("Leads", &[]);
    settings.pairs[0]
        .status_lists
        .insert("Dead".into(), "Lost".into());
    let findings = run(&settings, true).await;
    assert_eq!(
        with(&findings, Outcome::Fixed),
        vec!["list \"Lost\" (status Dead) created".to_owned()]
    );
    let ok = with(&findings, Outcome::Ok);
    assert!(
        ok.contains(&"list \"Lost\" (status Lost)".to_owned()),
        "{ok:#?}"
    );
    let lost = fx
        .trello
        .lists(&fx.board.board_id)
        .into_iter()
        .filter(|l| l.name == "Lost")
        .count();
    assert_eq!(lost, 1);
}

#[tokio::test]
async fn a_missing_custom_field_and_header_columns_are_fixed_with_one_sheet_write() {
    let header = ["Name", "Lead ID", "", "Status", "Email", "Phone", "Company"];
    let fx = Fixture::start(&LISTS, &["Email", "Company"], &header).await;
    let settings = fx.settings("Leads", &[]);

    let first = run(&settings, false).await;
    assert_eq!(
        with(&first, Outcome::Missing),
        vec![
            "custom field \"Phone\" (text, for columns.phone)".to_owned(),
            "column \"Notes\" (columns.notes) in the header row".to_owned(),
            "column \"Trello Card\" (columns.card) in the header row".to_owned(),
        ]
    );

    let writes_before = fx.google.gate().calls().count("POST", "/v4/spreadsheets");
    let fixed = run(&settings, true).await;
    assert_eq!(
        with(&fixed, Outcome::Fixed),
        vec![
            "custom field \"Phone\" (text, for columns.phone) created".to_owned(),
            "column \"Notes\" (columns.notes) added to the header row at H1".to_owned(),
            "column \"Trello Card\" (columns.card) added to the header row at I1".to_owned(),
        ]
    );
    let writes = fx.google.gate().calls().count("POST", "/v4/spreadsheets") - writes_before;
    assert_eq!(writes, 1, "header cells are added in one batchUpdate");
    let row1 = &fx.google.grid(SPREADSHEET, "Leads").expect("grid")[0];
    assert_eq!(
        row1,
        &[
            "Name",
            "Lead ID",
            "",
            "Status",
            "Email",
            "Phone",
            "Company",
            "Notes",
            "Trello Card"
        ]
    );
    let phone = fx
        .trello
        .custom_fields(&fx.board.board_id)
        .into_iter()
        .find(|f| f.name == "Phone")
        .expect("Phone field created");
    assert_eq!(phone.field_type, "text");

    assert_all_ok(&run(&settings, false).await);
}

#[tokio::test]
async fn a_custom_field_of_another_type_is_an_error_that_fix_leaves_alone() {
    let fx = Fixture::start(&LISTS, &["Email", "Company"], &HEADER).await;
    let made = reqwest::Client::new()
        .post(format!("{}/customFields", fx.trello.api_base()))
        .header(
            "Authorization",
            format!(
                "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
                fx.trello.api_key(),
                fx.trello.api_token()
            ),
        )
        .json(
            &serde_json::json!({"idModel": fx.board.board_id, "modelType": "board",
            "name": "Phone", "type": "number"}),
        )
        .send()
        .await
        .expect("create field");
    assert!(made.status().is_success());

    let findings = run(&fx.settings("Leads", &[]), true).await;
    let errors = with(&findings, Outcome::Error);
    assert_eq!(errors.len(), 1, "{findings:#?}");
    assert!(errors[0].contains("is of type number"), "{}", errors[0]);
    assert!(with(&findings, Outcome::Fixed).is_empty());
    assert_eq!(fx.trello.custom_fields(&fx.board.board_id).len(), 3);
}

#[tokio::test]
async fn header_columns_that_do_not_fit_the_grid_are_an_error_not_a_write() {
    // The sandbox's sheets are 26 columns wide: fill them all with other headers.
    let mut header: Vec<String> = HEADER[..7].iter().map(|h| (*h).to_owned()).collect();
    header.extend((header.len()..26).map(|i| format!("Other {i}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let fx = Fixture::start(&LISTS, &FIELDS, &header).await;
    let writes_before = fx.google.gate().calls().count("POST", "/v4/spreadsheets");
    let findings = run(&fx.settings("Leads", &[]), true).await;
    assert_eq!(
        with(&findings, Outcome::Error),
        vec![
            "column \"Trello Card\" (columns.card) in the header row: no room after column Z \
             (the sheet has 26 columns; add columns in Google Sheets)"
                .to_owned()
        ]
    );
    assert_eq!(
        fx.google.gate().calls().count("POST", "/v4/spreadsheets"),
        writes_before
    );
}
