//! `Db::begin_write` serialises decisions on both backends: a second write transaction reads
//! nothing until the first commits, and then reads what it committed. The worker's decision
//! and the dispatcher's landing check (`sync/outbox/superseded.rs`) each read, then write, in
//! one; were the second's read taken before the first's commit, neither would see the other
//! (on PostgreSQL a plain `BEGIN` reads at once under READ COMMITTED; the transaction's
//! advisory lock is what makes it wait, as SQLite's `BEGIN IMMEDIATE` does).

use std::time::Duration;

use super::testdb::temp_db;

#[tokio::test]
async fn a_second_write_transaction_reads_only_after_the_first_commits() {
    let db = temp_db().await;
    sqlx::query("CREATE TABLE lock_probe (v BIGINT NOT NULL)")
        .execute(&db.pool)
        .await
        .expect("table");
    sqlx::query("INSERT INTO lock_probe (v) VALUES (1)")
        .execute(&db.pool)
        .await
        .expect("row");
    let mut first = db.begin_write().await.expect("first");
    sqlx::query("UPDATE lock_probe SET v = 2")
        .execute(&mut *first)
        .await
        .expect("update");
    let pool = db.db.clone();
    let mut second = tokio::spawn(async move {
        let mut tx = pool.begin_write().await.expect("second");
        let v: i64 = sqlx::query_scalar("SELECT v FROM lock_probe")
            .fetch_one(&mut *tx)
            .await
            .expect("read");
        tx.commit().await.expect("commit");
        v
    });
    // Bounded: still waiting for the first's lock after this long.
    let early = tokio::time::timeout(Duration::from_millis(400), &mut second).await;
    assert!(early.is_err(), "the second read before the first committed");
    first.commit().await.expect("commit");
    let v = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the second went on once the first committed")
        .expect("join");
    assert_eq!(v, 2, "the second reads what the first committed");
}
