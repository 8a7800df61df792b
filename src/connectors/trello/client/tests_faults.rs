//! The Trello client under injected faults, bad credentials and enforced quotas.

use std::time::Duration;

use tokio::task::JoinSet;

use super::tests::{client_with, fast_policy, setup};
use super::*;
use crate::connectors::trello::sandbox::{SandboxQuotas, TrelloSandbox};
use crate::sandbox::common::{Faults, Quota};

fn fail_next(statuses: &[u16], retry_after_secs: Option<u64>) -> Faults {
    Faults {
        fail_next: statuses.to_vec(),
        retry_after_secs,
        ..Faults::default()
    }
}

#[tokio::test]
async fn retries_a_429_with_and_without_retry_after() {
    let (sb, c, _) = setup().await;
    sb.gate().set_faults(fail_next(&[429], Some(0)));
    assert_eq!(c.me().await.unwrap().id, sb.api_member_id());
    sb.gate().set_faults(fail_next(&[429, 429], None));
    assert_eq!(c.me().await.unwrap().id, sb.api_member_id());
    assert_eq!(sb.gate().calls().count_status(429), 3);
    assert_eq!(sb.gate().calls().count("GET", "/1/members/me"), 5);
}

#[tokio::test]
async fn retries_a_500_then_succeeds() {
    let (sb, c, b) = setup().await;
    sb.gate().set_faults(fail_next(&[500, 503], None));
    assert_eq!(c.board(&b.board_id).await.unwrap().id, b.board_id);
    assert_eq!(sb.gate().calls().count("GET", "/1/boards/"), 3);
}

#[tokio::test]
async fn retries_a_reset_connection_then_succeeds() {
    let (sb, c, _) = setup().await;
    sb.gate().set_faults(fail_next(&[0], None));
    c.me().await.unwrap();
    assert_eq!(sb.gate().calls().count_status(0), 1);
}

#[tokio::test]
async fn retries_after_a_hang_then_succeeds() {
    let (sb, _, _) = setup().await;
    let policy = RetryPolicy {
        total_timeout: Duration::from_millis(300),
        max_attempts: 10,
        ..fast_policy()
    };
    let c = client_with(&sb, sb.api_token(), policy, TrelloLimits::default());
    let hang = Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_millis(600),
        ..Faults::default()
    };
    sb.gate().set_faults(hang);
    // A hung call is never logged (the client hangs up first), so the fault is lifted on a
    // timer; the first attempt surely hangs, later ones succeed once it is lifted.
    let gate = sb.gate().clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        gate.set_faults(Faults::default());
    });
    let result = c.me().await;
    assert_eq!(result.unwrap().id, sb.api_member_id());
}

#[tokio::test]
async fn a_hang_past_the_total_timeout_ends_in_a_classified_error() {
    let (sb, _, _) = setup().await;
    let policy = RetryPolicy {
        total_timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..fast_policy()
    };
    let c = client_with(&sb, sb.api_token(), policy, TrelloLimits::default());
    sb.gate().set_faults(Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_secs(3),
        ..Faults::default()
    });
    let err = c.me().await.unwrap_err();
    assert!(
        err.is_timeout_or_connection() && err.is_retryable(),
        "{err}"
    );
    assert!(
        matches!(err, ClientError::Retryable { attempts: 2, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_token_is_an_auth_error_sent_once() {
    let (sb, _, _) = setup().await;
    let c = client_with(
        &sb,
        "ATTAnottherighttoken",
        fast_policy(),
        TrelloLimits::default(),
    );
    let err = c.me().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Auth { status: 401, .. }),
        "{err}"
    );
    assert_eq!(sb.gate().calls().count("GET", "/1/members/me"), 1);
}

#[tokio::test]
async fn no_secret_appears_in_any_error_or_in_the_client() {
    let (sb, good, b) = setup().await;
    let mut errors = vec![good.card("0123456789abcdef01234567").await.unwrap_err()];
    let bad = NewCard {
        id_list: "0123456789abcdef01234567".into(),
        name: "x".into(),
        desc: String::new(),
        pos: None,
    };
    errors.push(good.create_card(&bad).await.unwrap_err());
    sb.gate().set_faults(fail_next(&[500, 500, 500, 500], None));
    errors.push(good.board(&b.board_id).await.unwrap_err());
    sb.gate().set_faults(fail_next(&[0, 0, 0, 0], None));
    errors.push(good.webhooks().await.unwrap_err());
    sb.gate().set_faults(Faults::default());
    let wrong = client_with(
        &sb,
        &format!("{}x", sb.api_token()),
        fast_policy(),
        TrelloLimits::default(),
    );
    errors.push(wrong.webhooks().await.unwrap_err());
    let dead = TrelloClient::new(
        "http://127.0.0.1:9/1".into(),
        SecretString::from(sb.api_key().to_owned()),
        SecretString::from(sb.api_token().to_owned()),
        RetryPolicy {
            max_attempts: 1,
            ..fast_policy()
        },
        TrelloLimits::default(),
    )
    .unwrap();
    errors.push(dead.webhooks().await.unwrap_err());
    assert!(errors[3].is_timeout_or_connection() && errors[5].is_timeout_or_connection());
    let mut texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}")])
        .collect();
    texts.push(format!("{good:?}"));
    for text in texts {
        assert!(
            !text.contains(sb.api_token()) && !text.contains(sb.api_key()),
            "secret in: {text}"
        );
        assert!(!text.contains("/tokens/"), "URL in: {text}");
    }
}

#[tokio::test]
async fn a_burst_of_200_calls_stays_under_the_enforced_quota() {
    let second = Duration::from_secs(1);
    let quotas = SandboxQuotas {
        per_token: Some(Quota {
            max_requests: 100,
            per: second,
        }),
        per_key: Some(Quota {
            max_requests: 300,
            per: second,
        }),
    };
    let sb = TrelloSandbox::start_with(quotas).await.unwrap();
    let limits = TrelloLimits {
        per_token: (90, second),
        per_key: (270, second),
    };
    let policy = RetryPolicy {
        max_attempts: 1,
        ..fast_policy()
    };
    let c = client_with(&sb, sb.api_token(), policy, limits);
    let mut calls = JoinSet::new();
    for _ in 0..200 {
        let c = c.clone();
        calls.spawn(async move { c.me().await });
    }
    let results = calls.join_all().await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(sb.gate().calls().count_status(429), 0);
    assert_eq!(sb.gate().calls().count("GET", "/1/members/me"), 200);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_posted_twice() {
    let (sb, c, b) = setup().await;
    sb.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let list = b.lists["New"].clone();
    let new = NewCard {
        id_list: list,
        name: "Ada".into(),
        desc: String::new(),
        pos: None,
    };
    let err = c.create_card(&new).await.expect_err("the answer was lost");
    assert!(err.is_timeout_or_connection(), "{err}");
    assert_eq!(
        sb.gate().calls().count("POST", "/1/cards"),
        1,
        "no blind second POST"
    );
    assert_eq!(sb.cards(&b.board_id).len(), 1, "the card was made once");
}

#[tokio::test]
async fn a_create_refused_with_429_is_retried() {
    let (sb, c, b) = setup().await;
    sb.gate().set_faults(fail_next(&[429], Some(0)));
    let new = NewCard {
        id_list: b.lists["New"].clone(),
        name: "Ada".into(),
        desc: String::new(),
        pos: None,
    };
    c.create_card(&new).await.expect("created after the 429");
    assert_eq!(sb.cards(&b.board_id).len(), 1);
}

/// The batch custom-field write is a PUT of values: when its answer is lost after Trello made
/// the change, the client sends it again, and the second PUT changes nothing more.
#[tokio::test]
async fn a_custom_fields_write_whose_answer_is_lost_is_retried_safely() {
    let (sb, c, _) = setup().await;
    let b = sb.setup_board("More", &["New"], &["Email", "Phone"]);
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    sb.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let texts = std::collections::BTreeMap::from([
        (b.fields["Email"].clone(), "ada@example.com".to_owned()),
        (b.fields["Phone"].clone(), "+44 1".to_owned()),
    ]);
    c.set_custom_texts(&card, &texts).await.expect("sent again");
    let path = format!("/1/cards/{card}/customFields");
    let calls = sb.gate().calls();
    assert_eq!(calls.count("PUT", &path), 2, "{:?}", calls.records());
    assert_eq!(calls.count_status(0), 1, "the first answer was lost");
    assert_eq!(sb.card(&card).unwrap().custom_texts, texts);
    let actions: Vec<_> = sb
        .card_actions(&card)
        .into_iter()
        .filter(|a| a["type"] == "updateCustomFieldItem")
        .collect();
    assert_eq!(actions.len(), 2, "one per field, none from the retry");
}

#[tokio::test]
async fn update_card_once_answers_a_lost_answer_as_unknown_instead_of_writing_again() {
    let (sb, c, b) = setup().await;
    let card = sb.user_create_card(&b.lists["New"], "Grace", "").unwrap();
    let update = CardUpdate {
        desc: Some("leadsync marker".into()),
        ..CardUpdate::default()
    };
    // The change is made and the answer lost: a second PUT could undo what a user typed since.
    sb.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let err = c.update_card_once(&card, &update).await.unwrap_err();
    assert!(err.is_timeout_or_connection(), "{err}");
    assert_eq!(sb.gate().calls().count("PUT", "/1/cards/"), 1);
    assert_eq!(sb.card(&card).unwrap().desc, "leadsync marker");
    // A refusal (429) is retried: the server did not act on it.
    sb.gate().set_faults(fail_next(&[429], Some(0)));
    c.update_card_once(&card, &update).await.unwrap();
    assert_eq!(sb.gate().calls().count("PUT", "/1/cards/"), 3);
}
