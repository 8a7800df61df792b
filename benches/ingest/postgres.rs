//! The app part on PostgreSQL, beside SQLite's in the same run: the real app in this process
//! (engine off) on a fresh database of the server named by `LEADSYNC_BENCH_PG_URL` (else
//! `LEADSYNC_TEST_PG_URL`, which CI's cluster sets), first as one replica, then as two replicas
//! sharing that database with the load generator's connections spread across both, as a load
//! balancer would. Every accepted event must be in the shared inbox afterwards.

use std::io::Write as _;

use sqlx::Connection as _;
use tokio_util::sync::CancellationToken;

use crate::load::{self, drive, drive_spread};
use crate::{WARMUP, deliveries, print_ratio, start_app_on};

pub async fn part(events: usize, levels: &[usize], bare_url: &str) -> anyhow::Result<()> {
    let server =
        std::env::var("LEADSYNC_BENCH_PG_URL").or_else(|_| std::env::var("LEADSYNC_TEST_PG_URL"));
    let Ok(server) = server else {
        let _ = writeln!(
            std::io::stdout(),
            "ingest on PostgreSQL: SKIPPED, neither LEADSYNC_BENCH_PG_URL nor LEADSYNC_TEST_PG_URL \
             is set (url=$(.ci/pg-cluster start) gives one)"
        );
        return Ok(());
    };
    for replicas in [1, 2] {
        replicas_part(&server, replicas, events, levels, bare_url).await?;
    }
    Ok(())
}

async fn replicas_part(
    server: &str,
    replicas: usize,
    events: usize,
    levels: &[usize],
    bare_url: &str,
) -> anyhow::Result<()> {
    let database =
        leadsync::store::postgres::create_scratch_database(server, "leadsync_bench").await?;
    let shutdown = CancellationToken::new();
    let (mut urls, mut tasks, mut dirs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..replicas {
        let dir = tempfile::tempdir()?;
        let (app, url) = start_app_on(dir.path(), &database).await?;
        urls.push(url);
        tasks.push(tokio::spawn(app.run_until_stopped(shutdown.clone())));
        dirs.push(dir);
    }
    println!(
        "ingest, app in this process (engine off) on PostgreSQL, {replicas} replica(s) sharing \
         one database: {events} signed Trello webhooks per level, loopback"
    );
    let mut accepted = 0;
    for (round, &concurrency) in levels.iter().enumerate() {
        let client = load::client(concurrency)?;
        let targets: Vec<&str> = urls.iter().map(String::as_str).collect();
        let warm = deliveries(&format!("pw{replicas}{round}"), WARMUP)?;
        let warmed = drive_spread(&client, &targets, warm, concurrency).await;
        anyhow::ensure!(
            warmed.accepted == WARMUP,
            "PostgreSQL: warm-up requests failed"
        );
        let bare = drive(
            &client,
            bare_url,
            deliveries(&format!("pb{replicas}{round}-"), events)?,
            concurrency,
        )
        .await;
        let batch = deliveries(&format!("p{replicas}{round}-"), events)?;
        let app = drive_spread(&client, &targets, batch, concurrency).await;
        println!("-- app on PostgreSQL, {replicas} replica(s), concurrency {concurrency}");
        bare.print("bare axum 200");
        app.print("leadsync ingest");
        print_ratio("leadsync/bare", concurrency, &app, &bare);
        accepted += app.accepted + WARMUP;
    }
    let mut conn = leadsync::store::postgres::connect(&database).await?;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    println!("inbox rows: {stored} (accepted, warm-ups included: {accepted})");
    anyhow::ensure!(
        usize::try_from(stored).unwrap_or(0) >= accepted,
        "an acknowledged event is missing from PostgreSQL's inbox"
    );
    shutdown.cancel();
    for task in tasks {
        task.await??;
    }
    drop(dirs);
    Ok(())
}
