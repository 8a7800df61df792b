//! `leadsync webhooks …` and `leadsync apps-script` as a user runs them, against the Trello
//! emulator and the app (which answers Trello's HEAD check) started in this test process.

use serde_json::{Value, json};

use crate::admin::assert_filled_in;
use crate::admin_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `config` and its own database in the config's folder.
async fn leadsync(env: &AdminEnv, config: &std::path::Path, args: &[&str]) -> Run {
    let dir = config.parent().expect("config folder");
    let out = tokio::process::Command::new(BIN)
        .current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env(
            "LEADSYNC__DATABASE__URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .await
        .expect("leadsync runs");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for secret in [
        env.trello.api_key(),
        env.trello.api_token(),
        env.trello.api_secret(),
    ] {
        assert!(
            !run.stderr.contains(secret),
            "secret in stderr: {}",
            run.stderr
        );
    }
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_register_twice_list_and_delete_through_the_cli() {
    let env = admin_env(Options::default()).await;
    let config = env.config.clone();
    let first = leadsync(&env, &config, &["webhooks", "register"]).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let second = leadsync(&env, &config, &["webhooks", "register"]).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let hooks = env.trello.webhooks();
    assert_eq!(hooks.len(), 1, "registering twice leaves one webhook");
    let expected = json!({"webhooks": [{
        "system": "trello", "id": hooks[0].id, "board_id": env.board.board_id,
        "callback_url": env.callback_url(), "active": true
    }]});
    for run in [&first, &second] {
        let printed: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
        assert_eq!(printed, expected);
    }

    let list = leadsync(&env, &config, &["webhooks", "list"]).await;
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    let printed: Value = serde_json::from_str(&list.stdout).expect("JSON on stdout");
    assert_eq!(printed, expected);

    let id = hooks[0].id.clone();
    let deleted = leadsync(&env, &config, &["webhooks", "delete", &id]).await;
    assert_eq!(deleted.code, Some(0), "{}", deleted.stderr);
    assert_eq!(deleted.stdout.trim(), format!("deleted {id}"));
    assert!(env.trello.webhooks().is_empty());

    let again = leadsync(&env, &config, &["webhooks", "delete", &id]).await;
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains(&id), "{}", again.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_database_forgets_a_deleted_webhook() {
    let env = admin_env(Options::default()).await;
    let config = env.config.clone();
    let run = leadsync(&env, &config, &["webhooks", "register"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let id = env.trello.webhooks()[0].id.clone();
    let db_url = format!(
        "sqlite://{}",
        config.parent().expect("dir").join("cli.db").display()
    );
    let stored = || async {
        let db = leadsync::store::Db::connect(&db_url).await.expect("db");
        let rows = leadsync::store::webhooks::list(&db.pool)
            .await
            .expect("rows");
        db.close().await;
        rows.into_iter().map(|w| w.id).collect::<Vec<_>>()
    };
    assert_eq!(stored().await, std::slice::from_ref(&id));
    let run = leadsync(&env, &config, &["webhooks", "delete", &id]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(stored().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_script_prints_the_filled_in_script_and_exits_2_on_a_bad_pair_or_secret() {
    let env = admin_env(Options::default()).await;
    let config = env.config.clone();
    for args in [&["apps-script"][..], &["apps-script", "--pair", PAIR][..]] {
        let run = leadsync(&env, &config, args).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_filled_in(&run.stdout, &env.public_url);
        // The test's public_url is loopback: the script would never reach it from Google.
        assert!(
            run.stderr
                .starts_with("leadsync: warning: server.public_url: http://127.0.0.1:"),
            "{}",
            run.stderr
        );
    }
    let unknown = leadsync(&env, &config, &["apps-script", "--pair", "nope"]).await;
    assert_eq!(unknown.code, Some(2));
    assert!(unknown.stdout.is_empty());
    assert!(unknown.stderr.contains("\"nope\""), "{}", unknown.stderr);

    let no_secret = Options {
        sheets_secret: "",
        ..Options::default()
    };
    let env = admin_env(no_secret).await;
    let config = env.config.clone();
    let run = leadsync(&env, &config, &["apps-script"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("apps_script.secret"), "{}", run.stderr);
}
