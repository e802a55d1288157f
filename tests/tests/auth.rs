//! Accounts and tokens against a real server: registration, login, refresh
//! rotation with its grace window and reuse detection, logout, password
//! change, throttling, and forged or tampered access tokens.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use stint_e2e::{Api, PASSWORD, Server};

async fn server(args: &[&str]) -> (Server, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), args).await.unwrap();
    let api = Api::new(&server.url);
    (server, api, dir)
}

#[tokio::test]
async fn register_answers_tokens_and_refuses_bad_input() {
    let (_server, api, _dir) = server(&[]).await;
    let (me, body) = api.register("Ada@Example.com").await;
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() <= 15 * 60);
    assert!(
        body["refresh_token"].as_str().unwrap().len() >= 43,
        "256 bits"
    );
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert!(body["user"].get("password_hash").is_none(), "never sent");
    assert_eq!(body["tenant"]["tenant_type"], "personal");
    assert_eq!(body["role"], "admin");
    let (status, profile) = me.get("/users/me").await;
    assert_eq!(
        (status, profile["email"].clone()),
        (200, json!("ada@example.com"))
    );

    // `check(body, status, field)`
    let check = async |body: Value, status: u16, field: Option<&str>| {
        let (got, answer) = api.post("/auth/register", body.clone()).await;
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(answer["field"].as_str(), field, "{body} → {answer}");
    };
    let ok = |email: &str| json!({"email": email, "password": PASSWORD, "first_name": "A", "last_name": "B"});
    check(ok("ada@example.com"), 409, Some("email")).await;
    check(ok("ADA@EXAMPLE.COM "), 409, Some("email")).await;
    check(ok("not-an-email"), 422, Some("email")).await;
    check(
        json!({"email": "b@example.com", "password": "short", "first_name": "A", "last_name": "B"}),
        422,
        Some("password"),
    )
    .await;
    check(
        json!({"email": "b@example.com", "password": PASSWORD, "first_name": "A\u{7}", "last_name": "B"}),
        422,
        Some("first_name"),
    )
    .await;
    check(
        json!({"email": "b@example.com", "password": PASSWORD, "first_name": "A", "last_name": "x".repeat(201)}),
        422,
        Some("last_name"),
    )
    .await;
    // The names may be left out: the display name is then the email.
    check(
        json!({"email": "b@example.com", "password": PASSWORD}),
        201,
        None,
    )
    .await;
    check(
        json!({"email": "c@example.com", "password": PASSWORD, "first_name": "", "last_name": ""}),
        201,
        None,
    )
    .await;
    let (_, nameless) = api
        .post(
            "/auth/login",
            json!({"email": "b@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(nameless["tenant"]["name"], "b@example.com's workspace");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let (_server, api, _dir) = server(&[]).await;
    api.register("ada@example.com").await;
    let wrong = api
        .post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": "wrong password"}),
        )
        .await;
    let unknown = api
        .post(
            "/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong password"}),
        )
        .await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong, unknown, "the same status and body");

    // Both pay for one Argon2id hash: an unknown account is not noticeably
    // faster (a loose bound: this guards the dummy hash, not performance).
    let time = async |email: &str| {
        let start = Instant::now();
        let (status, _) = api
            .post(
                "/auth/login",
                json!({"email": email, "password": "wrong password"}),
            )
            .await;
        assert_eq!(status, 401);
        start.elapsed()
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        known.push(time("ada@example.com").await);
        unknown.push(time("nobody@example.com").await);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[1]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    assert!(u * 3 > k, "unknown {u:?} vs wrong password {k:?}");
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_family() {
    let (_server, api, _dir) = server(&[]).await;
    let (_, first) = api.register("ada@example.com").await;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = async |token: &str| {
        api.post("/auth/refresh", json!({"refresh_token": token}))
            .await
    };

    let (status, second) = refresh(&r0).await;
    assert_eq!(status, 200, "{second}");
    let r1 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r0);
    // Within the grace window, the same token again yields the same successor
    // (a lost answer, retried), not a second one.
    let (status, again) = refresh(&r0).await;
    assert_eq!(
        (status, again["refresh_token"].as_str().unwrap()),
        (200, r1.as_str())
    );

    let (status, third) = refresh(&r1).await;
    assert_eq!(status, 200);
    let r2 = third["refresh_token"].as_str().unwrap().to_owned();
    let live = api.with_token(third["access_token"].as_str().unwrap());
    assert_eq!(live.get("/users/me").await.0, 200);

    // r0's successor is used now: presenting r0 is a replay. The whole
    // family goes: the newest refresh token and its access token too.
    let (status, body) = refresh(&r0).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(refresh(&r2).await.0, 401);
    assert_eq!(live.get("/users/me").await.0, 401);
    assert_eq!(refresh("made-up-token").await.0, 401);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_one_winner() {
    let (_server, api, _dir) = server(&[]).await;
    let (_, first) = api.register("ada@example.com").await;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    let attempts = (0..8).map(|_| {
        let (api, r0) = (api.clone(), r0.clone());
        tokio::spawn(async move {
            api.post("/auth/refresh", json!({"refresh_token": r0}))
                .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let mut successors = std::collections::BTreeSet::new();
    for result in results {
        let (status, body) = result.unwrap();
        assert_eq!(status, 200, "{body}");
        successors.insert(body["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(successors.len(), 1, "exactly one rotation happened");
}

#[tokio::test]
async fn without_grace_a_second_use_is_a_replay() {
    let (_server, api, _dir) = server(&["--refresh-grace-secs", "0"]).await;
    let (_, first) = api.register("ada@example.com").await;
    let r0 = first["refresh_token"].as_str().unwrap();
    let (status, second) = api
        .post("/auth/refresh", json!({"refresh_token": r0}))
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1_100)).await; // past a 0 s window, at second granularity
    assert_eq!(
        api.post("/auth/refresh", json!({"refresh_token": r0}))
            .await
            .0,
        401
    );
    let r1 = second["refresh_token"].as_str().unwrap();
    assert_eq!(
        api.post("/auth/refresh", json!({"refresh_token": r1}))
            .await
            .0,
        401,
        "family revoked"
    );
}

#[tokio::test]
async fn logout_logout_all_and_password_change_revoke() {
    let (_server, api, _dir) = server(&[]).await;
    let (laptop, laptop_tokens) = api.register("ada@example.com").await;
    let (desktop, desktop_tokens) = api.login("ada@example.com", PASSWORD).await;

    // Logout: this device only.
    assert_eq!(laptop.post("/auth/logout", json!({})).await.0, 204);
    assert_eq!(laptop.get("/users/me").await.0, 401);
    let r = laptop_tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        api.post("/auth/refresh", json!({"refresh_token": r}))
            .await
            .0,
        401
    );
    assert_eq!(desktop.get("/users/me").await.0, 200);

    // Password change: wrong current password refused; then every other login goes.
    let (phone, phone_tokens) = api.login("ada@example.com", PASSWORD).await;
    let (status, body) = desktop
        .put(
            "/users/me/password",
            json!({"current_password": "nope nope", "new_password": "new secret 123"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("current_password"))
    );
    let (status, body) = desktop
        .put(
            "/users/me/password",
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("new_password"))
    );
    assert_eq!(
        desktop
            .put(
                "/users/me/password",
                json!({"current_password": PASSWORD, "new_password": "new secret 123"})
            )
            .await
            .0,
        204
    );
    assert_eq!(
        desktop.get("/users/me").await.0,
        200,
        "the login that changed it stays"
    );
    assert_eq!(phone.get("/users/me").await.0, 401);
    let r = phone_tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        api.post("/auth/refresh", json!({"refresh_token": r}))
            .await
            .0,
        401
    );
    assert_eq!(
        api.post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD})
        )
        .await
        .0,
        401
    );
    let (tablet, _) = api.login("ada@example.com", "new secret 123").await;

    // Logout everywhere.
    assert_eq!(tablet.post("/auth/logout-all", json!({})).await.0, 204);
    assert_eq!(tablet.get("/users/me").await.0, 401);
    assert_eq!(desktop.get("/users/me").await.0, 401);
    let r = desktop_tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        api.post("/auth/refresh", json!({"refresh_token": r}))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn logins_are_throttled_per_account_and_per_address() {
    let (_server, api, _dir) = server(&[
        "--login-per-account-per-minute",
        "3",
        "--login-per-ip-per-minute",
        "6",
    ])
    .await;
    api.register("ada@example.com").await;
    let attempt = async |email: &str| {
        let response = reqwest::Client::new()
            .post(api.url("/auth/login"))
            .json(&json!({"email": email, "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), retry_after)
    };
    for _ in 0..3 {
        assert_eq!(attempt("ada@example.com").await.0, 401);
    }
    let (status, retry_after) = attempt("ada@example.com").await;
    assert_eq!(status, 429);
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&seconds));
    // Another account is not throttled by Ada's failures, until the address is.
    assert_eq!(attempt("bob@example.com").await.0, 401);
    assert_eq!(attempt("carol@example.com").await.0, 401);
    assert_eq!(
        attempt("dave@example.com").await.0,
        429,
        "six attempts from one address"
    );
}

/// A client whose requests come from `ip` (any 127.x address reaches the
/// server on loopback): another machine, as far as the server can tell.
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

async fn status_and_retry_after(response: reqwest::Response) -> (u16, Option<u64>) {
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status().as_u16(), retry)
}

#[tokio::test]
async fn a_stranger_failing_my_password_does_not_lock_me_out() {
    // One attempt a minute per address and account (ten across addresses:
    // one comes back every 6 s), and a small hashing queue: most of the
    // strangers' burst below is answered at once (429 or 503), far within
    // the 6 s the allowance takes to refill, however slow the machine.
    let (_server, api, _dir) = server(&[
        "--login-per-account-per-minute",
        "1",
        "--hashing-queue",
        "2",
    ])
    .await;
    let (_, registered) = api
        .post(
            "/auth/register",
            json!({"email": "ada@example.com", "password": PASSWORD, "first_name": "Ada",
                   "last_name": "L", "device_id": "01a20000-0000-7000-8000-0000000ada01"}),
        )
        .await;
    assert_eq!(
        registered["device_id"],
        "01a20000-0000-7000-8000-0000000ada01"
    );
    let stranger = client_from([127, 0, 0, 2]);
    let mut refused = 0;
    for _ in 0..10 {
        let response = stranger
            .post(api.url("/auth/login"))
            .json(&json!({"email": "ada@example.com", "password": "a guess"}))
            .send()
            .await
            .unwrap();
        let (status, retry) = status_and_retry_after(response).await;
        if status == 429 {
            assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
            refused += 1;
        }
    }
    assert_eq!(refused, 9, "the stranger is slowed");
    // Ada, from her own machine, signs in at once.
    let (status, body) = api
        .post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Strangers on many machines spend the account's allowance across all
    // addresses (ten times one's), and slow a new device of Ada's; but
    // not her own device, wherever it is.
    // All at once.
    let strangers = (3..=40u8).map(|host| {
        client_from([127, 0, 0, host])
            .post(api.url("/auth/login"))
            .json(&json!({"email": "ada@example.com", "password": "a guess"}))
            .send()
    });
    let answers = futures::future::join_all(strangers).await;
    assert!(
        answers.into_iter().any(|a| a.unwrap().status() == 429),
        "the account's allowance across addresses is spent"
    );
    let from = |host: u8, device: Option<&str>| {
        let body = match device {
            Some(d) => json!({"email": "ada@example.com", "password": PASSWORD, "device_id": d}),
            None => json!({"email": "ada@example.com", "password": PASSWORD}),
        };
        let url = api.url("/auth/login");
        async move {
            client_from([127, 0, 1, host])
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(from(1, None).await, 429, "a new device waits");
    assert_eq!(
        from(2, Some("01a20000-0000-7000-8000-0000000ada01")).await,
        200,
        "her own device signs in"
    );
}

#[tokio::test]
async fn refreshes_and_registrations_are_throttled() {
    let (_server, api, _dir) = server(&[
        "--refresh-per-login-per-minute",
        "3",
        "--register-per-ip-per-minute",
        "4",
    ])
    .await;
    // A stolen refresh token spun as fast as it goes: slowed after three.
    let (_, tokens) = api.register("ada@example.com").await;
    let mut token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = api
            .post("/auth/refresh", json!({"refresh_token": token}))
            .await;
        statuses.push(status);
        if status == 200 {
            token = body["refresh_token"].as_str().unwrap().to_owned();
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // Another login refreshes freely.
    let (_, other) = api.login("ada@example.com", PASSWORD).await;
    let (status, _) = api
        .post(
            "/auth/refresh",
            json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 200);

    // Registrations from one address: three more after Ada's, then 429.
    let mut statuses = Vec::new();
    for n in 0..5 {
        let (status, _) = api
            .post(
                "/auth/register",
                json!({"email": format!("flood{n}@example.com"), "password": PASSWORD,
                       "first_name": "F", "last_name": "L"}),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    api.login("flood0@example.com", PASSWORD).await;
}

#[tokio::test]
async fn a_registration_flood_is_answered_503_and_logins_still_get_in() {
    let (_server, api, _dir) = server(&[
        "--register-per-ip-per-minute",
        "100000",
        "--hashing-queue",
        "4",
    ])
    .await;
    api.register("ada@example.com").await;
    let flood: Vec<_> = (0..24)
        .map(|n| {
            let api = api.clone();
            tokio::spawn(async move {
                let response = reqwest::Client::new()
                    .post(api.url("/auth/register"))
                    .json(
                        &json!({"email": format!("flood{n}@example.com"), "password": PASSWORD,
                                  "first_name": "F", "last_name": "L"}),
                    )
                    .send()
                    .await
                    .unwrap();
                status_and_retry_after(response).await
            })
        })
        .collect();
    let (status, body) = api
        .post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let mut answers = Vec::new();
    for one in flood {
        answers.push(one.await.unwrap());
    }
    assert_eq!(status, 200, "a login during the flood: {body}");
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert!(!busy.is_empty(), "{answers:?}");
    assert!(busy.iter().all(|(_, retry)| retry.is_some()), "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 503),
        "{answers:?}"
    );
}

#[derive(Clone, serde::Serialize)]
struct Claims {
    sub: String,
    tid: String,
    fam: String,
    sid: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() {
    let (_server, api, dir) = server(&[]).await;
    let (me, body) = api.register("ada@example.com").await;
    let (_, other) = api.register("bob@example.com").await;
    assert_eq!(me.get("/users/me").await.0, 200);

    // Decode the genuine token's claims, and read the server's key file (the
    // test owns the data directory).
    let genuine = body["access_token"].as_str().unwrap();
    let payload = genuine.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let keys: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("token-keys.json")).unwrap())
            .unwrap();
    let secret = STANDARD
        .decode(keys["jwt_secret"].as_str().unwrap())
        .unwrap();
    let kid = keys["kid"].as_str().unwrap().to_owned();
    let now = claims["iat"].as_i64().unwrap();
    let base = Claims {
        sub: claims["sub"].as_str().unwrap().into(),
        tid: claims["tid"].as_str().unwrap().into(),
        fam: claims["fam"].as_str().unwrap().into(),
        sid: claims["sid"].as_str().unwrap().into(),
        iss: "stint-server".into(),
        aud: "stint".into(),
        iat: now,
        exp: now + 600,
    };
    let sign = |alg: Algorithm, kid: Option<&str>, secret: &[u8], edit: &dyn Fn(&mut Claims)| {
        let mut c = base.clone();
        edit(&mut c);
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(secret)).unwrap()
    };
    // The control: a token we sign the server's way is accepted.
    let control = sign(Algorithm::HS256, Some(&kid), &secret, &|_| {});
    assert_eq!(api.with_token(&control).get("/users/me").await.0, 200);

    let unsigned = {
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"none","typ":"JWT"}"#);
        format!("{header}.{payload}.")
    };
    let tampered = {
        // Another tenant's id in the claims, the original signature kept.
        let mut c: Value = claims.clone();
        c["tid"] = other["tenant"]["id"].clone();
        let p = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&c).unwrap());
        let parts: Vec<&str> = genuine.split('.').collect();
        format!("{}.{p}.{}", parts[0], parts[2])
    };
    let forged = [
        ("alg none", unsigned),
        (
            "wrong algorithm",
            sign(Algorithm::HS512, Some(&kid), &secret, &|_| {}),
        ),
        (
            "wrong key",
            sign(
                Algorithm::HS256,
                Some(&kid),
                b"not the server's key at all......",
                &|_| {},
            ),
        ),
        (
            "unknown kid",
            sign(Algorithm::HS256, Some("0123456789abcdef"), &secret, &|_| {}),
        ),
        ("no kid", sign(Algorithm::HS256, None, &secret, &|_| {})),
        (
            "wrong audience",
            sign(Algorithm::HS256, Some(&kid), &secret, &|c| {
                c.aud = "someone-else".into()
            }),
        ),
        (
            "wrong issuer",
            sign(Algorithm::HS256, Some(&kid), &secret, &|c| {
                c.iss = "evil".into()
            }),
        ),
        (
            "expired",
            sign(Algorithm::HS256, Some(&kid), &secret, &|c| {
                c.exp = now - 120
            }),
        ),
        ("tampered claims", tampered),
        ("garbage", "abc.def.ghi".to_owned()),
    ];
    for (what, token) in forged {
        let (status, body) = api.with_token(&token).get("/users/me").await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["code"], "unauthorized", "{what}");
    }
    assert_eq!(api.get("/users/me").await.0, 401, "no token");
}

#[tokio::test]
async fn profile_updates_and_email_uniqueness() {
    let (_server, api, _dir) = server(&[]).await;
    let (ada, _) = api.register("ada@example.com").await;
    api.register("bob@example.com").await;
    let (status, profile) = ada.put("/users/me", json!({"first_name": "Augusta"})).await;
    assert_eq!(
        (status, profile["first_name"].as_str()),
        (200, Some("Augusta"))
    );
    assert_eq!(
        ada.put("/users/me", json!({"email": "bob@example.com"}))
            .await
            .0,
        409
    );
    let (status, body) = ada.put("/users/me", json!({"email": "nope"})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("email")));
    let (status, profile) = ada
        .put("/users/me", json!({"email": "countess@example.com"}))
        .await;
    assert_eq!(
        (status, profile["email"].as_str()),
        (200, Some("countess@example.com"))
    );
    api.login("countess@example.com", PASSWORD).await;
}

#[tokio::test]
async fn secrets_never_reach_the_log() {
    let (server, api, dir) = server(&["--log", "debug"]).await;
    let (_, registered) = api.register("ada@example.com").await;
    let (me, logged_in) = api.login("ada@example.com", PASSWORD).await;
    let (_, refreshed) = api
        .post(
            "/auth/refresh",
            json!({"refresh_token": logged_in["refresh_token"]}),
        )
        .await;
    me.get("/users/me").await;
    assert_eq!(
        api.post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": "wrong password"})
        )
        .await
        .0,
        401
    );
    assert!(server.stop().await.unwrap().success());

    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("DEBUG"), "the log ran at debug level");
    let keys = std::fs::read_to_string(dir.path().join("token-keys.json")).unwrap();
    let keys: Value = serde_json::from_str(&keys).unwrap();
    let mut secrets = vec![PASSWORD.to_owned(), "wrong password".to_owned()];
    for tokens in [&registered, &logged_in, &refreshed] {
        secrets.push(tokens["access_token"].as_str().unwrap().to_owned());
        secrets.push(tokens["refresh_token"].as_str().unwrap().to_owned());
    }
    secrets.push(keys["jwt_secret"].as_str().unwrap().to_owned());
    secrets.push(keys["refresh_secret"].as_str().unwrap().to_owned());
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "the log holds a secret ({} chars)",
            secret.len()
        );
    }
}
