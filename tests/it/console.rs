//! The console over plain HTTP: the shell holds no data and, page by page, every data route
//! answers a missing or wrong admin token with 401 and nothing else.

use leadsync::demo::world::World;
use secrecy::ExposeSecret;

use crate::console_support::leads_alone;
use crate::e2e::world;
use crate::helpers::spawn_app;

/// The data routes behind each of the console's pages: what a page shows, and what it does.
const OVERVIEW: &[(&str, &str)] = &[("GET", "/admin/ui/overview"), ("GET", "/admin/ui/webhooks")];
const ACTIVITY: &[(&str, &str)] = &[
    ("GET", "/admin/ui/activity?pair=default"),
    ("POST", "/admin/ui/conflict/apply?id=1"),
];
const LEAD: &[(&str, &str)] = &[
    ("GET", "/admin/ui/lead?pair=default&lead=L1"),
    ("POST", "/admin/ui/lead/resync?pair=default&lead=L1"),
];
const ACTIONS: &[(&str, &str)] = &[
    ("GET", "/admin/ui/actions"),
    ("GET", "/admin/ui/apps-script?pair=default"),
    ("POST", "/admin/ui/reconcile/preview?pair=default"),
    ("POST", "/admin/ui/reconcile?pair=default"),
    ("POST", "/admin/ui/dead-letters/requeue?pair=default"),
    ("POST", "/admin/ui/webhooks/register"),
];

async fn call(w: &World, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", w.base_url());
    let mut request = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    };
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Every route of a page answers a missing, wrong or empty token with 401 and nothing else;
/// the page's first route, with the token, answers 200 and its body (so the refusals are the
/// token's doing).
async fn refused_without_the_token(w: &World, routes: &[(&str, &str)]) -> String {
    for (method, path) in routes {
        for token in [None, Some("wrong"), Some("")] {
            let (status, body) = call(w, method, path, token).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
            assert_eq!(
                body, r#"{"error":"missing or invalid admin token"}"#,
                "{method} {path}: nothing but the refusal"
            );
        }
    }
    let right = w.settings.server.admin_token.expose_secret();
    let (method, path) = routes[0];
    let (status, body) = call(w, method, path, Some(right)).await;
    assert_eq!(status, 200, "{method} {path}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_gives_a_missing_or_wrong_token_no_data() {
    let w = world().await;
    let overview = refused_without_the_token(&w, OVERVIEW).await;
    assert!(overview.contains("data-pair=\"default\""), "{overview}");
    // One process on SQLite: it leads, and says it is the only one (on PostgreSQL, that it
    // leads the replicas there may be).
    let leads = format!(
        r#"<span id="leadership" data-leader="true">{}"#,
        leads_alone(&w)
    );
    assert!(overview.contains(&leads), "{overview}");
    assert!(
        overview.contains(r#"Trello API budget: <span class="budget" data-scope="per token">"#),
        "{overview}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_gives_a_missing_or_wrong_token_no_data() {
    let w = world().await;
    crate::e2e::add_lead(&w, crate::e2e::P, 2, "Ada", "New").await;
    let activity = refused_without_the_token(&w, ACTIVITY).await;
    assert!(activity.contains("<tr data-decision"), "{activity}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lead_page_gives_a_missing_or_wrong_token_no_data() {
    let w = world().await;
    let lead = refused_without_the_token(&w, LEAD).await;
    assert!(lead.contains("Lead L1"), "{lead}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actions_page_gives_a_missing_or_wrong_token_no_data() {
    let w = world().await;
    let actions = refused_without_the_token(&w, ACTIONS).await;
    assert!(actions.contains("data-pair=\"default\""), "{actions}");
    // Its other routes answer with the token too (the requeue and reconcile ones change
    // things, so they are left out).
    let right = w.settings.server.admin_token.expose_secret();
    for (method, path) in &ACTIONS[1..3] {
        let (status, body) = call(&w, method, path, Some(right)).await;
        assert_eq!(status, 200, "{method} {path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_page_needs_no_token_and_holds_no_data() {
    let w = world().await;
    let response = reqwest::get(format!("{}/admin/ui", w.base_url()))
        .await
        .expect("shell");
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.expect("html");
    assert!(html.contains("<form id=\"login\""), "a login form");
    let token = w.settings.server.admin_token.expose_secret();
    let board = &w.pair("default").board.board_id;
    for secret_or_data in [token, board.as_str(), "data-pair"] {
        assert!(
            !html.contains(secret_or_data),
            "the shell shows {secret_or_data}"
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external asset"
    );
}

#[tokio::test]
async fn without_an_admin_token_the_console_does_not_exist() {
    let app = spawn_app().await;
    for path in ["/admin/ui", "/admin/ui/overview"] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

/// The console URL and the token of a running `leadsync demo --keep-running`, which it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_demo_prints_the_console_url_and_token_that_open_it() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .args(["demo", "--keep-running"])
        .current_dir(dir.path())
        .env_remove("LEADSYNC_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("demo starts");
    let mut lines = tokio::io::BufReader::new(demo.stdout.take().expect("stdout")).lines();
    let (mut console, mut token) = (None, None);
    let read = async {
        while let Some(line) = lines.next_line().await.expect("a line") {
            if let Some(rest) = line.strip_prefix("Console: ") {
                console = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(rest) = line.strip_prefix("Admin token: ") {
                token = rest.split_whitespace().next().map(str::to_owned);
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), read)
        .await
        .expect("the demo prints its console within 2 minutes");
    let (console, token) = (console.expect("a console line"), token.expect("a token"));
    assert!(console.ends_with("/admin/ui"), "{console}");
    let client = reqwest::Client::new();
    let shell = client.get(&console).send().await.expect("shell");
    assert_eq!(shell.status(), 200);
    let overview = client
        .get(format!("{console}/overview"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("overview");
    assert_eq!(overview.status(), 200);
    assert!(overview.text().await.expect("html").contains("data-pair="));
    demo.kill().await.expect("stopped");
}

/// The activity page over HTTP: filters narrow it, a conflict shows both sides and the winner,
/// and the "Older" button's URL carries on where the page ended.
#[tokio::test]
async fn the_activity_page_filters_pages_and_shows_conflicts_in_full() {
    use leadsync::store::activity::{NewActivity, insert};
    let app = crate::helpers::spawn_app_with(&[("LEADSYNC__SERVER__ADMIN_TOKEN", "s3cret")]).await;
    let pool = &app.state.db.pool;
    for i in 0..60 {
        let copy = NewActivity {
            pair: "a".into(),
            lead_id: Some(format!("L{i}")),
            card_id: None,
            field: Some("email".into()),
            decision: "copy_to_trello".into(),
            detail: serde_json::json!({ "value": format!("v{i}@example.com") }),
        };
        insert(pool, &copy).await.expect("copy");
    }
    let conflict = NewActivity {
        pair: "b".into(),
        lead_id: Some("L99".into()),
        card_id: Some("C99".into()),
        field: Some("name".into()),
        decision: "conflict".into(),
        detail: serde_json::json!({
            "winner": "trello", "sheet_value": "Ada L", "trello_value": "Ada K",
            "sheet_changed_at": "2025-11-21T10:15:02.123Z",
            "trello_changed_at": "2025-11-21T10:16:00.000Z",
        }),
    };
    insert(pool, &conflict).await.expect("conflict");
    let get = |path: String| {
        let client = app.client.clone();
        let url = app.url(&path);
        async move {
            let r = client
                .get(url)
                .bearer_auth("s3cret")
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.expect("html")
        }
    };
    let conflicts = get("/admin/ui/activity?decision=conflict".into()).await;
    assert_eq!(
        conflicts.matches("<tr data-decision").count(),
        1,
        "{conflicts}"
    );
    assert!(
        conflicts.contains("sheet: Ada L (changed 2025-11-21T10:15:02.123Z)"),
        "{conflicts}"
    );
    assert!(conflicts.contains("trello: Ada K (changed 2025-11-21T10:16:00.000Z) — winner"));

    let first = get("/admin/ui/activity?pair=a".into()).await;
    assert_eq!(
        first.matches("<tr data-decision").count(),
        50,
        "a page is 50"
    );
    assert!(
        first.contains("v59@example.com") && !first.contains("Ada"),
        "newest first, pair a"
    );
    let older = first
        .split("data-page=\"older\"")
        .nth(1)
        .and_then(|rest| rest.split("data-get=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("an Older button")
        .replace("&amp;", "&");
    let second = get(older).await;
    assert_eq!(second.matches("<tr data-decision").count(), 10, "{second}");
    assert!(
        second.contains("v9@example.com") && !second.contains("v10@"),
        "{second}"
    );
    let bad = app
        .client
        .get(app.url("/admin/ui/activity?before=yesterday"))
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("bad cursor");
    assert_eq!(bad.status(), 400);
}
