//! Access tokens (JWT) and refresh tokens.
//!
//! Access tokens are HS256 JWTs of at most 15 minutes, with `iss`, `aud`,
//! `exp`, `kid` and the tenant, user, token family and auth session in the
//! claims. Verification pins the algorithm and the key id before it looks at
//! anything else, so `alg: none`, another algorithm or another key are
//! refused outright.
//!
//! Refresh tokens are opaque 256-bit values: the HMAC-SHA256 of the auth
//! session's id under the server's refresh secret. Only their SHA-256 is
//! stored. Deriving rather than drawing them lets the server hand out the
//! *same* successor again when a client retries a refresh whose answer was
//! lost (within a short grace window), so concurrent or retried refreshes of
//! one token end with exactly one new token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stint_model::{AuthSession, AuthSessionId, TenantId, TokenFamily, TokenLifetimes, UserId};

use crate::keys::Keys;

pub(crate) const ISSUER: &str = "stint-server";
pub(crate) const AUDIENCE: &str = "stint";

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: UserId,
    pub(crate) tid: TenantId,
    pub(crate) fam: TokenFamily,
    pub(crate) sid: AuthSessionId,
    pub(crate) iss: String,
    pub(crate) aud: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
}

/// Why a token was refused (logged, never sent: the client only learns 401).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(Algorithm),
    #[error("unknown key id")]
    UnknownKey,
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

pub(crate) struct Tokens {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    refresh_secret: [u8; 32],
    pub(crate) lifetimes: TokenLifetimes,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("kid", &self.kid)
            .field("lifetimes", &self.lifetimes)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(keys: &Keys, lifetimes: TokenLifetimes) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            kid: keys.kid.clone(),
            encoding: EncodingKey::from_secret(&keys.jwt_secret),
            decoding: DecodingKey::from_secret(&keys.jwt_secret),
            validation,
            refresh_secret: keys.refresh_secret,
            lifetimes,
        }
    }

    /// An access token for `session`, and its lifetime in seconds.
    pub(crate) fn access_token(
        &self,
        session: &AuthSession,
        now: stint_model::Timestamp,
    ) -> anyhow::Result<(String, u64)> {
        let exp = (now + self.lifetimes.access).min(session.refresh_expires_at);
        let claims = Claims {
            sub: session.user_id,
            tid: session.tenant_id,
            fam: session.token_family,
            sid: session.id,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: exp.timestamp(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)?;
        Ok((token, u64::try_from((exp - now).num_seconds()).unwrap_or(0)))
    }

    /// The claims of a valid access token.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Algorithm(header.alg));
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::UnknownKey);
        }
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims)
    }

    /// The refresh token of the auth session `id`.
    pub(crate) fn refresh_token(&self, id: AuthSessionId) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.refresh_secret).expect("any key length");
        mac.update(b"stint-refresh-v1");
        mac.update(id.as_uuid().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// How a refresh token is stored: hex SHA-256.
pub(crate) fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::load_or_create(dir.path()).unwrap();
        Tokens::new(&keys, TokenLifetimes::default())
    }

    #[test]
    fn round_trip_and_refusals() {
        let tokens = tokens();
        let session = AuthSession::new(
            TenantId::new(),
            UserId::new(),
            "0".repeat(64),
            tokens.lifetimes,
        );
        let now = stint_model::now();
        let (jwt, expires_in) = tokens.access_token(&session, now).unwrap();
        assert_eq!(expires_in, 15 * 60);
        let claims = tokens.verify(&jwt).unwrap();
        assert_eq!(
            (claims.sub, claims.tid, claims.fam, claims.sid),
            (
                session.user_id,
                session.tenant_id,
                session.token_family,
                session.id
            )
        );

        assert!(matches!(
            tokens.verify("not a token"),
            Err(TokenError::Malformed)
        ));
        // Another server's key: unknown kid.
        assert!(matches!(
            self::tokens().verify(&jwt),
            Err(TokenError::UnknownKey)
        ));
        // A flipped signature byte.
        let mut bad = jwt.into_bytes();
        let last = bad.len() - 2;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            tokens.verify(std::str::from_utf8(&bad).unwrap()),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn refresh_tokens_are_per_session_and_stable() {
        let tokens = tokens();
        let (a, b) = (AuthSessionId::new(), AuthSessionId::new());
        assert_eq!(tokens.refresh_token(a), tokens.refresh_token(a));
        assert_ne!(tokens.refresh_token(a), tokens.refresh_token(b));
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(tokens.refresh_token(a))
                .unwrap()
                .len(),
            32
        );
        assert_eq!(hash_refresh_token("x").len(), 64);
    }
}
