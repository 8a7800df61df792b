//! The shipped Apps Script, run under Node (`apps-script/test/`) against the real server: its
//! deliveries verify, are stored in the inbox, and a resent event is stored once.

use std::process::Stdio;

use crate::ingress_support::*;

#[tokio::test]
async fn the_apps_script_node_suite_passes_against_the_running_server() {
    let app = spawn_ingress_app().await;
    // The checkout cargo runs the tests for (set at run time), not the one this binary was
    // compiled in: CI builds a copy of the files in a temp folder with the same target/ cache.
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let output = tokio::process::Command::new("node")
        .args(["--test", "apps-script/test/"])
        .current_dir(root)
        .env("LEADSYNC_TEST_URL", app.url("/webhooks/sheets"))
        .env("LEADSYNC_TEST_SECRET", SHEETS_SECRET)
        .env("LEADSYNC_TEST_SPREADSHEET_ID", SPREADSHEET)
        .env("LEADSYNC_TEST_SHEET", SHEET)
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node is installed and on PATH (the README names the version)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node --test failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("# fail 0"), "{report}");

    let rows = app.inbox_rows().await;
    assert!(rows.len() >= 8, "{} rows stored", rows.len());
    assert!(rows.iter().all(|(source, key, pair, _)| {
        source == "sheets" && key.starts_with("evt_") && pair == "default"
    }));
    let bodies: Vec<String> = rows
        .iter()
        .map(|row| String::from_utf8(row.3.clone()).expect("utf-8 body"))
        .collect();
    assert!(bodies.iter().any(|b| b.contains("Zoë Ångström – café")));
    assert!(bodies.iter().any(|b| b.contains(r#""kind":"change""#)));
    // The event first sent to an unreachable server and then resent carries this note.
    let resent = bodies.iter().filter(|b| b.contains("called back")).count();
    assert_eq!(resent, 1, "the resent event is stored exactly once");
}
