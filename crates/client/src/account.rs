//! The account a device is signed in to: login and registration against
//! the server, tokens kept between runs, access tokens refreshed when they
//! expire, logout.
//!
//! The refresh token is the one long-lived secret: it goes to the OS keyring
//! (the Secret Service on Linux, Keychain on macOS, the Credential Manager
//! on Windows) when one answers. Everything else of the login — who, which
//! server and tenant, the short-lived access token — is in
//! `credentials.json` in the data directory, readable by its owner only
//! (mode 0600). Where no keyring answers (a headless machine, as in CI, or
//! `STINT_KEYRING=off`), the refresh token joins the rest in that file and
//! the device says so once, as gh does.
//!
//! The keyring is read only when the access token must be refreshed, so
//! an ordinary command never waits on it (nor on an unlock prompt). A
//! rotated refresh token is saved *before* the new access token is used,
//! so a crash never leaves the device holding a token the server has
//! already replaced.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stint_model::api::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse, UserProfile};
use stint_model::{DeviceId, ErrorBody, Tenant, Timestamp, UserRole, now};

use crate::error::{ClientError, Result};

const FILE: &str = "credentials.json";

/// Who a device is signed in as (no tokens: safe to show and to pass around).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Account {
    /// The server.
    pub server: String,
    /// The user.
    pub user: UserProfile,
    /// The tenant the device acts in.
    pub tenant: Tenant,
    /// The role there.
    pub role: UserRole,
}

/// What a signed-in device remembers, tokens included.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Credentials {
    pub(crate) server: String,
    pub(crate) user: UserProfile,
    pub(crate) tenant: Tenant,
    pub(crate) role: UserRole,
    /// The device the login is bound to (absent in logins kept before
    /// the server said).
    #[serde(default)]
    pub(crate) device_id: Option<DeviceId>,
    access_token: String,
    access_expires_at: Timestamp,
    /// Absent from the file when the OS keyring keeps it; read from there
    /// when a refresh needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("user", &self.user.email)
            .field("tenant", &self.tenant.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub(crate) fn account(&self) -> Account {
        Account {
            server: self.server.clone(),
            user: self.user.clone(),
            tenant: self.tenant.clone(),
            role: self.role,
        }
    }

    /// Where the refresh token is kept.
    pub(crate) fn kept(&self) -> Kept {
        if self.refresh_token.is_none() {
            Kept::Keyring
        } else {
            Kept::File
        }
    }

    fn from_response(server: &str, r: TokenResponse) -> Self {
        Self {
            server: server.trim_end_matches('/').to_owned(),
            access_expires_at: now()
                + chrono::Duration::seconds(i64::try_from(r.expires_in).unwrap_or(0)),
            access_token: r.access_token,
            refresh_token: Some(r.refresh_token),
            user: r.user,
            tenant: r.tenant,
            role: r.role,
            device_id: Some(r.device_id),
        }
    }
}

/// Where the refresh token was put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    Keyring,
    File,
}

/// Where the credentials live: `credentials.json`, and the OS keyring for
/// the refresh token when one answers.
#[derive(Debug)]
pub(crate) struct Vault {
    path: PathBuf,
    /// This data directory's entry in the OS keyring, looked up on first
    /// use (a connection to the keyring costs a few round trips that most
    /// commands never need); `None` when it is switched off or absent.
    keyring: std::sync::OnceLock<Option<Keyring>>,
}

/// One entry of the OS keyring, named after the data directory so that two
/// devices side by side (two data directories) keep two logins.
struct Keyring(keyring::Entry);

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring")
    }
}

impl Keyring {
    const SERVICE: &str = "stint";

    fn for_dir(dir: &Path) -> Option<Self> {
        if std::env::var("STINT_KEYRING").is_ok_and(|v| v == "off" || v == "0") {
            return None;
        }
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        let user = format!("refresh-token:{}", dir.display());
        keyring::Entry::new(Self::SERVICE, &user).ok().map(Self)
    }

    fn unreachable(e: &keyring::Error) -> ClientError {
        ClientError::NotSignedIn(format!(
            "the OS keyring that keeps this login did not answer ({e}): unlock it, or sign in again"
        ))
    }
}

impl Vault {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE),
            keyring: std::sync::OnceLock::new(),
        }
    }

    fn keyring(&self) -> Option<&Keyring> {
        self.keyring
            .get_or_init(|| Keyring::for_dir(self.path.parent().unwrap_or(&self.path)))
            .as_ref()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The login in the file; its refresh token stays in the keyring until
    /// [`Vault::refresh_token`] needs it.
    pub(crate) fn load(&self) -> Result<Option<Credentials>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                ClientError::Profile(format!(
                    "{} is damaged ({e}): sign in again",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClientError::Profile(format!(
                "reading {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// The refresh token, from memory or else from the keyring.
    pub(crate) fn refresh_token(&self, credentials: &Credentials) -> Result<String> {
        if let Some(token) = &credentials.refresh_token {
            return Ok(token.clone());
        }
        let keyring = self.keyring().ok_or_else(|| {
            ClientError::NotSignedIn(
                "this login's refresh token is in the OS keyring, which is switched off or absent here: sign in again".into(),
            )
        })?;
        keyring
            .0
            .get_password()
            .map_err(|e| Keyring::unreachable(&e))
    }

    /// Saves a login: the refresh token to the keyring when it answers
    /// (and then out of memory too, so that memory and disk agree), the
    /// rest, and otherwise the refresh token too, to the file, written
    /// atomically and mode 0600 from the first byte. A login whose refresh
    /// token is already in the keyring only rewrites the file.
    pub(crate) fn save(&self, credentials: &mut Credentials) -> Result<()> {
        if let (Some(token), Some(keyring)) = (&credentials.refresh_token, self.keyring()) {
            match keyring.0.set_password(token) {
                Ok(()) => credentials.refresh_token = None,
                Err(e) => tracing::debug!("no OS keyring: {e}"),
            }
        }
        self.write_file(credentials)
    }

    fn write_file(&self, credentials: &Credentials) -> Result<()> {
        let io = |e: std::io::Error| {
            ClientError::Profile(format!("writing {}: {e}", self.path.display()))
        };
        let tmp = self.path.with_extension("json.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        std::io::Write::write_all(
            &mut file,
            &serde_json::to_vec(credentials).expect("serializes"),
        )
        .map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Forgets the login: the file and the keyring entry.
    pub(crate) fn forget(&self) -> Result<()> {
        if let Some(keyring) = self.keyring() {
            match keyring.0.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => {}
                Err(e) => tracing::debug!("keyring entry not removed: {e}"),
            }
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ClientError::Profile(format!(
                "removing {}: {e}",
                self.path.display()
            ))),
        }
    }
}

/// Talks to the server's account endpoints.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    http: reqwest::Client,
    /// Without an overall timeout: for the live channel, held open.
    stream: reqwest::Client,
    base: String,
}

impl Server {
    pub(crate) fn new(base: &str) -> Result<Self> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Invalid(stint_model::ValidationError::new(
                "server",
                "must be a URL like http://127.0.0.1:8787",
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("stint/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let stream = reqwest::Client::builder()
            .user_agent(concat!("stint/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Ok(Self {
            http,
            stream,
            base: base.to_owned(),
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The address of the API's `path`.
    fn url(&self, path: &str) -> String {
        format!("{}/api/v5{path}", self.base)
    }

    async fn post<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        bearer: Option<&str>,
    ) -> Result<reqwest::Response> {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        request
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{}: {e}", self.base)))
    }

    /// `GET /api/v5{path}` with a bearer token and `query` (name–value
    /// pairs, percent-encoded by reqwest); the raw response.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: &(impl Serialize + ?Sized),
        bearer: &str,
    ) -> Result<reqwest::Response> {
        self.http
            .get(self.url(path))
            .query(query)
            .bearer_auth(bearer)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{}: {e}", self.base)))
    }

    /// `GET /api/v5{path}` with a bearer token, held open (no overall
    /// timeout): for the live channel.
    pub(crate) async fn listen(&self, path: &str, bearer: &str) -> Result<reqwest::Response> {
        let response = self
            .stream
            .get(self.url(path))
            .bearer_auth(bearer)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{}: {e}", self.base)))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(server_error(response).await)
        }
    }

    /// `POST /api/v5{path}` with a bearer token; the decoded answer.
    pub(crate) async fn call<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        bearer: &str,
    ) -> Result<T> {
        answer(self.post(path, body, Some(bearer)).await?).await
    }

    /// [`Server::call`] with a JSON body encoded beforehand: the sync
    /// engine encodes its next push while the server applies this one.
    pub(crate) async fn call_encoded<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        json: Vec<u8>,
        bearer: &str,
    ) -> Result<T> {
        let request = self
            .http
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json)
            .bearer_auth(bearer);
        answer(self.send(request).await?).await
    }

    async fn tokens(&self, path: &str, body: &impl Serialize) -> Result<TokenResponse> {
        let response = self.post(path, body, None).await?;
        answer(response).await
    }

    pub(crate) async fn register(&self, req: &RegisterRequest) -> Result<TokenResponse> {
        self.tokens("/auth/register", req).await
    }

    pub(crate) async fn login(
        &self,
        email: &str,
        password: &str,
        device: DeviceId,
    ) -> Result<TokenResponse> {
        let req = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
            tenant_id: None,
            device_id: Some(device),
        };
        self.tokens("/auth/login", &req).await
    }

    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse> {
        let req = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.tokens("/auth/refresh", &req).await
    }

    pub(crate) async fn logout(&self, access_token: &str) -> Result<()> {
        let response = self
            .post("/auth/logout", &serde_json::json!({}), Some(access_token))
            .await?;
        if response.status().is_success() || response.status() == reqwest::StatusCode::UNAUTHORIZED
        {
            return Ok(()); // already signed out there
        }
        Err(server_error(response).await)
    }
}

pub(crate) async fn answer<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T> {
    if response.status().is_success() {
        return response.json().await.map_err(|e| {
            ClientError::Unreachable(format!("unexpected answer from the server: {e}"))
        });
    }
    Err(server_error(response).await)
}

pub(crate) async fn server_error(response: reqwest::Response) -> ClientError {
    let status = response.status();
    let body: Option<ErrorBody> = response.json().await.ok();
    let message = body
        .as_ref()
        .map_or_else(|| status.to_string(), |b| b.message.clone());
    match status.as_u16() {
        401 => ClientError::NotSignedIn(message),
        404 => ClientError::NotFound(message),
        413 => ClientError::TooLarge(message),
        // A 409 that names a field (the device id is another account's,
        // the email is taken) is `Invalid` at that field: the device can
        // take a new id, a form can show it at the email.
        409 | 422 => match body.and_then(|b| b.field.map(|f| (f, b.message))) {
            Some((field, message)) => {
                ClientError::Invalid(stint_model::ValidationError::new(field, message))
            }
            None => ClientError::Rejected(message),
        },
        _ => ClientError::Rejected(format!("{status}: {message}")),
    }
}

/// Signs in (or keeps signed in): a fresh access token, refreshing and
/// saving the rotated refresh token first when the old one expired.
pub(crate) async fn fresh_access(vault: &Vault, credentials: &mut Credentials) -> Result<String> {
    if credentials.access_expires_at > now() + chrono::Duration::seconds(30) {
        return Ok(credentials.access_token.clone());
    }
    let server = Server::new(&credentials.server)?;
    let refresh_token = vault.refresh_token(credentials)?;
    let mut renewed =
        Credentials::from_response(&credentials.server, server.refresh(&refresh_token).await?);
    vault.save(&mut renewed)?;
    *credentials = renewed;
    Ok(credentials.access_token.clone())
}

/// Stores the tokens of a login or registration.
pub(crate) fn remember(
    vault: &Vault,
    server: &str,
    response: TokenResponse,
) -> Result<Credentials> {
    let mut credentials = Credentials::from_response(server, response);
    vault.save(&mut credentials)?;
    Ok(credentials)
}

/// Forces the next call to refresh (tests, and after a 401).
pub(crate) fn expire(credentials: &mut Credentials) {
    credentials.access_expires_at = now() - chrono::Duration::seconds(1);
}
