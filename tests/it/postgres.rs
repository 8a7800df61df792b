//! `database.url = "postgres://…"` (CONTRACT §9) as the binary takes it so far: `leadsync
//! migrate` builds the schema on a real server (`LEADSYNC_TEST_PG_URL`, from `.ci/pg-cluster
//! start`; without it the test says so on the terminal and checks nothing), and `serve` refuses
//! to start on it rather than run half a backend.

use std::io::Write;
use std::process::Command;

use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");

fn leadsync(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env("LEADSYNC__TRELLO__API_BASE", "http://127.0.0.1:9/1")
        .env("LEADSYNC__GOOGLE__SHEETS_API_BASE", "http://127.0.0.1:9/v4")
        .env("LEADSYNC__DATABASE__URL", url);
    cmd
}

#[tokio::test]
async fn migrate_builds_the_postgres_schema_once() {
    let Ok(server) = std::env::var("LEADSYNC_TEST_PG_URL") else {
        // Straight to the terminal: libtest captures eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED postgres::migrate_builds_the_postgres_schema_once: LEADSYNC_TEST_PG_URL is \
             not set (url=$(.ci/pg-cluster start) gives one)"
        );
        return;
    };
    let name = format!("leadsync_it_{}", uuid::Uuid::new_v4().simple());
    let mut admin = leadsync::store::postgres::connect(&server)
        .await
        .expect("connect");
    // The name is ours (a UUID), never input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let base = server.split('?').next().unwrap_or(&server);
    let url = format!("{}/{name}", &base[..base.rfind('/').expect("a database")]);
    let dir = tempfile::tempdir().expect("tempdir");

    let first = leadsync(dir.path(), &url)
        .arg("migrate")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for applied in [
        "1 initial",
        "4 trackers",
        "7 notion",
        "8 mirrors",
        "9 record tombstones",
        "10 mirror pending",
        "11 sheet blanks",
    ] {
        assert!(stdout.contains(&format!("applied {applied}")), "{stdout}");
    }
    let second = leadsync(dir.path(), &url)
        .arg("migrate")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.starts_with("0 migration(s) applied, 11 already present"),
        "{stdout}"
    );
    let mut conn = leadsync::store::postgres::connect(&url)
        .await
        .expect("connect");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_name IN ('inbox', 'outbox', 'links', 'field_states', 'mirror_links')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count");
    assert_eq!(tables, 5);
    conn.close().await.expect("close");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
}

#[test]
fn serve_on_postgres_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Port 9 on loopback: nothing is contacted, the refusal comes first.
    let out = leadsync(dir.path(), "postgres://ls:s3cret@127.0.0.1:9/leads")
        .arg("serve")
        .env("LEADSYNC__SERVER__BIND", "127.0.0.1:0")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PostgreSQL is supported by `leadsync migrate` only so far"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}
