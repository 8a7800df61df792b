//! Check of an Airtable pair against the Trello and Airtable emulators: a good table passes, missing
//! fields are reported and then created by `--fix` with the contract's types, a field of the wrong
//! type, an unknown base, a bad token and a select lacking statuses are each one finding.

use std::collections::HashMap;

use super::tests::{FIELDS, LISTS, assert_all_ok, with};
use super::*;
use crate::config::{self, Sources};
use crate::connectors::airtable::sandbox::{AirtableSandbox, FieldSpec, TableSetup};
use crate::connectors::trello::sandbox::{BoardSetup, TrelloSandbox};

const STATUSES: [&str; 4] = ["Contacted", "Lost", "New", "Qualified"];

struct Fixture {
    trello: TrelloSandbox,
    airtable: AirtableSandbox,
    board: BoardSetup,
    table: TableSetup,
    dir: tempfile::TempDir,
}

/// Every mapped field with the contract's type.
fn good_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new("Name", "singleLineText"),
        FieldSpec::new("Lead ID", "singleLineText"),
        FieldSpec::new("Email", "email"),
        FieldSpec::new("Phone", "phoneNumber"),
        FieldSpec::new("Company", "singleLineText"),
        FieldSpec::select("Status", &STATUSES),
        FieldSpec::new("Notes", "multilineText"),
        FieldSpec::new("Trello Card", "url"),
    ]
}

impl Fixture {
    async fn start(fields: &[FieldSpec]) -> Self {
        let trello = TrelloSandbox::start().await.expect("trello sandbox");
        let airtable = AirtableSandbox::start().await.expect("airtable sandbox");
        let board = trello.setup_board("Sales", &LISTS, &FIELDS);
        let base = airtable.create_base("CRM");
        let table = airtable
            .create_table(&base, "Leads", fields)
            .expect("table");
        let dir = tempfile::tempdir().expect("tempdir");
        Self {
            trello,
            airtable,
            board,
            table,
            dir,
        }
    }

    /// An Airtable pair on the table's base (`base_id` replaced when given), no Google settings.
    fn settings(&self, base_id: Option<&str>, extra: &[(&str, &str)]) -> Settings {
        let file = self.dir.path().join("leadsync.toml");
        let toml = format!(
            "[[pairs]]\nname = \"agency\"\ntracker = \"airtable\"\nbase_id = \"{}\"\n\
             table = \"leads\"\nboard_id = \"{}\"\n[pairs.status_lists]\nNew = \"New\"\n\
             Contacted = \"Contacted\"\nQualified = \"Qualified\"\nLost = \"Lost\"\n",
            base_id.unwrap_or(&self.table.base_id),
            self.board.board_id
        );
        std::fs::write(&file, toml).expect("config file");
        let mut env: HashMap<String, String> = [
            ("LEADSYNC__TRELLO__API_BASE", self.trello.api_base()),
            ("LEADSYNC__TRELLO__API_KEY", self.trello.api_key().into()),
            (
                "LEADSYNC__TRELLO__API_TOKEN",
                self.trello.api_token().into(),
            ),
            (
                "LEADSYNC__TRELLO__API_SECRET",
                self.trello.api_secret().into(),
            ),
            ("LEADSYNC__AIRTABLE__API_BASE", self.airtable.api_base()),
            ("LEADSYNC__AIRTABLE__TOKEN", self.airtable.token().into()),
            (
                "LEADSYNC__SERVER__PUBLIC_URL",
                "https://leads.acme.test".into(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        config::load(&Sources {
            file: Some(file),
            dotenv: HashMap::new(),
            env,
        })
        .expect("valid settings")
    }

    /// (type, choices) of each field of the table, by name.
    fn fields(&self) -> HashMap<String, (String, Vec<String>)> {
        let tables = self.airtable.tables(&self.table.base_id);
        let table = tables.iter().find(|t| t.id == self.table.table_id);
        let fields = table.expect("table").fields.iter();
        fields
            .map(|f| {
                let choices = f.choices.iter().map(|c| c.name.clone()).collect();
                (f.name.clone(), (f.field_type.clone(), choices))
            })
            .collect()
    }
}

fn text(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_good_airtable_pair_is_all_ok_and_its_sheet_is_not_checked() {
    let fx = Fixture::start(&good_fields()).await;
    let findings = run(&fx.settings(None, &[]), false).await;
    assert_all_ok(&findings);
    let lines = text(&findings);
    let base = &fx.table.base_id;
    for line in [
        "[agency] ok: airtable: token accepted, granted 1 base(s)".to_owned(),
        format!("[agency] ok: base \"CRM\" ({base}), table \"Leads\" reachable"),
        "[agency] ok: field \"Email\" (email, for columns.email)".to_owned(),
        "[agency] ok: field \"Status\" (singleSelect, for columns.status)".to_owned(),
        "[agency] ok: field \"Trello Card\" (url, for columns.card)".to_owned(),
    ] {
        assert!(lines.contains(&line), "{line:?} not in {lines:#?}");
    }
    assert!(!lines.iter().any(|l| l.contains("google")), "{lines:#?}");
    // 1 config + 2 accounts + board + 4 lists + 3 custom fields + table + 8 fields.
    assert_eq!(findings.len(), 20, "{lines:#?}");
}

#[tokio::test]
async fn missing_fields_are_reported_then_created_by_fix_with_the_contract_types() {
    let fx = Fixture::start(&[FieldSpec::new("Name", "singleLineText")]).await;
    // Three runs back to back are three clients, each pacing only its own calls (as separate
    // `check` processes would); together they may pass 5 calls a second on the base, which
    // would cost a 30 s lockout unrelated to what this test checks.
    fx.airtable.set_rate_limit(None);
    let settings = fx.settings(None, &[]);
    let first = run(&settings, false).await;
    assert_eq!(
        with(&first, Outcome::Missing),
        [
            "field \"Email\" (email, for columns.email)",
            "field \"Phone\" (phoneNumber, for columns.phone)",
            "field \"Company\" (singleLineText, for columns.company)",
            "field \"Status\" (singleSelect, for columns.status)",
            "field \"Notes\" (multilineText, for columns.notes)",
            "field \"Trello Card\" (url, for columns.card)",
        ]
    );
    // The id field is optional: its absence does not make the pair unusable.
    let ok = with(&first, Outcome::Ok);
    assert!(
        ok.iter().any(|w| w
            .starts_with("field \"Lead ID\" (singleLineText, for columns.id) is absent: optional")),
        "{ok:#?}"
    );
    assert!(!usable(&first));
    assert_eq!(fx.fields().len(), 1, "check alone changes nothing");

    let fixed = run(&settings, true).await;
    assert_eq!(with(&fixed, Outcome::Fixed).len(), 7, "{:#?}", text(&fixed));
    assert!(usable(&fixed), "{:#?}", text(&fixed));
    let fields = fx.fields();
    for (name, field_type) in [
        ("Lead ID", "singleLineText"),
        ("Email", "email"),
        ("Phone", "phoneNumber"),
        ("Company", "singleLineText"),
        ("Notes", "multilineText"),
        ("Trello Card", "url"),
    ] {
        assert_eq!(fields[name], (field_type.to_owned(), vec![]), "{name}");
    }
    let status = (
        String::from("singleSelect"),
        STATUSES.map(String::from).to_vec(),
    );
    assert_eq!(fields["Status"], status);
    assert_all_ok(&run(&settings, false).await);
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_an_error_that_fix_leaves_alone() {
    let mut specs = good_fields();
    specs[2] = FieldSpec::new("Email", "url");
    // Text works for every field.
    specs[3] = FieldSpec::new("Phone", "singleLineText");
    let fx = Fixture::start(&specs).await;
    let findings = run(&fx.settings(None, &[]), true).await;
    assert_eq!(
        with(&findings, Outcome::Error),
        [
            "field \"Email\" (url, for columns.email): leadsync needs a field of type email or text \
          (singleLineText, multilineText); change its type in Airtable, or map columns.email to \
          another field"
        ]
    );
    assert!(with(&findings, Outcome::Fixed).is_empty());
    assert_eq!(fx.fields()["Email"].0, "url");
    assert!(
        with(&findings, Outcome::Ok)
            .contains(&"field \"Phone\" (singleLineText, for columns.phone)".to_owned())
    );
}

#[tokio::test]
async fn an_unknown_or_unshared_base_is_an_error_and_no_field_is_checked() {
    let fx = Fixture::start(&good_fields()).await;
    let unknown = "appNotThere000000";
    let findings = run(&fx.settings(Some(unknown), &[]), true).await;
    assert_eq!(
        with(&findings, Outcome::Error),
        [format!(
            "base {unknown} not found or not shared with the token (base_id; grant the token \
             access to the base in Airtable's token settings)"
        )]
    );
    assert!(!findings.iter().any(|f| f.what.starts_with("field ")));

    fx.airtable.set_base_access(&fx.table.base_id, false);
    let errors = with(&run(&fx.settings(None, &[]), false).await, Outcome::Error);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("not found or not shared with the token"),
        "{errors:#?}"
    );
}

#[tokio::test]
async fn an_unknown_table_is_an_error_naming_the_tables_of_the_base() {
    let fx = Fixture::start(&good_fields()).await;
    let mut settings = fx.settings(None, &[]);
    settings.pairs[0].table = Some("Prospects".into());
    let errors = with(&run(&settings, true).await, Outcome::Error);
    assert_eq!(
        errors,
        [format!(
            "table \"Prospects\" not found in base \"CRM\" ({}) (it has \"Leads\"; table)",
            fx.table.base_id
        )]
    );
}

#[tokio::test]
async fn a_refused_token_is_named_without_being_printed() {
    let fx = Fixture::start(&good_fields()).await;
    let bad = "patBadToken.0123456789abcdef";
    let findings = run(
        &fx.settings(None, &[("LEADSYNC__AIRTABLE__TOKEN", bad)]),
        false,
    )
    .await;
    let errors = with(&findings, Outcome::Error);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("airtable: token refused, check airtable.token: it must be"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("HTTP 401"), "{}", errors[0]);
    let all = text(&findings).join("\n") + &summary(&findings);
    for secret in [bad, fx.airtable.token()] {
        assert!(!all.contains(secret), "a token leaked into: {all}");
    }
}

#[tokio::test]
async fn a_select_lacking_statuses_is_a_warning_that_leaves_the_pair_usable() {
    let mut specs = good_fields();
    specs[5] = FieldSpec::select("Status", &["New", "contacted"]);
    let fx = Fixture::start(&specs).await;
    let findings = run(&fx.settings(None, &[]), true).await;
    assert_eq!(
        with(&findings, Outcome::Warning),
        [
            "field \"Status\" (singleSelect, for columns.status) lacks the choices \"Contacted\", \
          \"Lost\", \"Qualified\": Airtable's API cannot add choices to a field, so --fix cannot \
          either; leadsync's writes add a missing choice when they first use it (typecast), or \
          add them in Airtable now"
        ]
    );
    assert!(usable(&findings));
    assert_eq!(fx.fields()["Status"].1, ["New", "contacted"]);
    let last = summary(&findings);
    assert_eq!(
        last,
        "check: 19 ok, 0 fixed, 1 warning(s), 0 missing, 0 error(s): usable"
    );
    assert_eq!(findings[0].pair, "agency");
    assert!(
        text(&findings)
            .iter()
            .any(|l| l.starts_with("[agency] warning: field \"Status\""))
    );
}
