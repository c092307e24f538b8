//! Who may call the server: users with argon2-hashed passwords and static API tokens from a
//! config file, and the bearer tokens a handshake hands out (they expire).
//!
//! The users file (YAML):
//!
//! ```yaml
//! users:
//!   - name: alice
//!     password_hash: "$argon2id$v=19$m=19456,t=2,p=1$…"   # lakemeta hash-password
//! tokens:
//!   - name: dashboards
//!     sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::Principal;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserEntry>,
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    password_hash: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    sha256: String,
}

/// The people and programs that may call the server.
#[derive(Debug, Default)]
pub struct Users {
    /// User name → argon2 PHC hash.
    passwords: HashMap<String, String>,
    /// SHA-256 of a static token (hex) → its name.
    tokens: HashMap<String, String>,
}

impl Users {
    /// Reads and checks a users file: every hash must be an argon2 PHC string, every token
    /// digest 64 hex digits, and names unique.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let bad = |m: String| Error::invalid(format!("users file {}: {m}", path.display()));
        let file: UsersFile = serde_yaml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut users = Users::default();
        for u in file.users {
            let hash = PasswordHash::new(&u.password_hash).map_err(|e| {
                bad(format!(
                    "user '{}': password_hash is not an argon2 hash ({e}); make one with \
                     lakemeta hash-password",
                    u.name
                ))
            })?;
            if !hash.algorithm.as_str().starts_with("argon2") {
                return Err(bad(format!(
                    "user '{}': password_hash uses {}, not argon2; make one with lakemeta \
                     hash-password",
                    u.name, hash.algorithm
                )));
            }
            if users
                .passwords
                .insert(u.name.clone(), u.password_hash)
                .is_some()
            {
                return Err(bad(format!("user '{}' is listed twice", u.name)));
            }
        }
        for t in file.tokens {
            let digest = t.sha256.to_ascii_lowercase();
            if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "token '{}': sha256 must be the 64 hex digits of the token's SHA-256 \
                     (printf %s TOKEN | sha256sum)",
                    t.name
                )));
            }
            if users.tokens.insert(digest, t.name.clone()).is_some() {
                return Err(bad(format!("token '{}' repeats another token", t.name)));
            }
        }
        if users.passwords.is_empty() && users.tokens.is_empty() {
            return Err(bad(
                "it lists no users and no tokens; nobody could connect".to_string()
            ));
        }
        Ok(users)
    }

    /// The user, when the password is theirs. A wrong name and a wrong password look the same.
    fn check_password(&self, name: &str, password: &str) -> Option<Principal> {
        let hash = self.passwords.get(name)?;
        let parsed = PasswordHash::new(hash).ok()?;
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .ok()
            .map(|_| Principal::new(name))
    }

    /// The static token's principal.
    fn check_static_token(&self, token: &str) -> Option<Principal> {
        let digest = hex(&Sha256::digest(token.as_bytes()));
        self.tokens.get(&digest).map(Principal::new)
    }
}

/// An argon2id hash of a password, as the users file wants it.
pub fn hash_password(password: &str) -> Result<String> {
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| Error::invalid(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::invalid(format!("cannot hash the password: {e}")))
}

/// `N` random bytes as hex: tokens and handles no one can guess.
pub(crate) fn random_hex<const N: usize>() -> String {
    let bytes: [u8; N] = rand::random();
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a call was refused. The client learns only that it is unauthenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials, or not the kind this call takes.
    Missing,
    /// Credentials that do not match.
    Wrong,
    /// A token that has expired.
    Expired,
}

/// Authentication of the server's calls: the users, and the tokens handed out.
#[derive(Debug)]
pub struct Authenticator {
    users: Option<Users>,
    ttl: Duration,
    issued: Mutex<HashMap<String, (Principal, Instant)>>,
}

/// Decodes base64 with or without padding (ADBC sends it unpadded).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Authenticator {
    /// Checks calls against `users`; `None` lets everyone in as `anonymous`.
    pub fn new(users: Option<Users>, ttl: Duration) -> Self {
        Self {
            users,
            ttl,
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// True when calls need credentials.
    pub fn required(&self) -> bool {
        self.users.is_some()
    }

    /// The handshake: `Basic` credentials (or a static token as `Bearer`) give a new bearer
    /// token that expires after the configured time.
    pub fn handshake(
        &self,
        authorization: Option<&str>,
    ) -> std::result::Result<(Principal, String), Refusal> {
        let Some(users) = &self.users else {
            return Ok((
                Principal::new("anonymous"),
                self.issue(Principal::new("anonymous")),
            ));
        };
        let header = authorization.ok_or(Refusal::Missing)?;
        let principal = if let Some(basic) = strip_scheme(header, "Basic") {
            let decoded = BASE64.decode(basic.trim()).map_err(|_| Refusal::Wrong)?;
            let text = String::from_utf8(decoded).map_err(|_| Refusal::Wrong)?;
            let (name, password) = text.split_once(':').ok_or(Refusal::Wrong)?;
            users.check_password(name, password).ok_or(Refusal::Wrong)?
        } else if let Some(token) = strip_scheme(header, "Bearer") {
            users
                .check_static_token(token.trim())
                .ok_or(Refusal::Wrong)?
        } else {
            return Err(Refusal::Missing);
        };
        let token = self.issue(principal.clone());
        Ok((principal, token))
    }

    /// The principal of a call's `Bearer` token (one the handshake issued, or a static one).
    pub fn check(&self, authorization: Option<&str>) -> std::result::Result<Principal, Refusal> {
        let Some(users) = &self.users else {
            return Ok(Principal::new("anonymous"));
        };
        let header = authorization.ok_or(Refusal::Missing)?;
        let token = strip_scheme(header, "Bearer")
            .ok_or(Refusal::Missing)?
            .trim();
        {
            let mut issued = match self.issued.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some((principal, expires)) = issued.get(token) {
                if Instant::now() < *expires {
                    return Ok(principal.clone());
                }
                issued.remove(token);
                return Err(Refusal::Expired);
            }
        }
        users.check_static_token(token).ok_or(Refusal::Wrong)
    }

    fn issue(&self, principal: Principal) -> String {
        let token = random_hex::<32>();
        let now = Instant::now();
        let mut issued = match self.issued.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        // forget the expired ones while here
        issued.retain(|_, (_, expires)| *expires > now);
        issued.insert(token.clone(), (principal, now + self.ttl));
        token
    }
}

/// The user name a `Basic` header claims (never its password), for the audit of a refused
/// handshake.
pub fn claimed_user(authorization: Option<&str>) -> Option<String> {
    let basic = strip_scheme(authorization?, "Basic")?;
    let decoded = BASE64.decode(basic.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, _) = text.split_once(':')?;
    Some(name.chars().take(128).collect())
}

/// The credentials after `scheme ` (the scheme's case does not matter).
fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = header.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Users {
        let mut u = Users::default();
        u.passwords
            .insert("alice".into(), hash_password("s3cret").unwrap());
        u.tokens
            .insert(hex(&Sha256::digest(b"static-token")), "dashboards".into());
        u
    }

    #[test]
    fn basic_credentials_padded_or_not_give_an_expiring_token() {
        let auth = Authenticator::new(Some(users()), Duration::from_secs(60));
        // 13 bytes: the base64 ends in "==", which ADBC leaves out
        let padded = BASE64.encode("alice:s3cret!");
        assert!(padded.ends_with("=="));
        let unpadded = padded.trim_end_matches('=');
        let mut u = users();
        u.passwords
            .insert("alice".into(), hash_password("s3cret!").unwrap());
        let auth_bang = Authenticator::new(Some(u), Duration::from_secs(60));
        for encoded in [padded.as_str(), unpadded] {
            let (who, token) = auth_bang
                .handshake(Some(&format!("Basic {encoded}")))
                .unwrap();
            assert_eq!(who.name, "alice");
            assert_eq!(
                auth_bang
                    .check(Some(&format!("Bearer {token}")))
                    .unwrap()
                    .name,
                "alice"
            );
        }
        let wrong = BASE64.encode("alice:nope");
        assert_eq!(
            auth.handshake(Some(&format!("Basic {wrong}"))).unwrap_err(),
            Refusal::Wrong
        );
        let nobody = BASE64.encode("bob:s3cret");
        assert_eq!(
            auth.handshake(Some(&format!("Basic {nobody}")))
                .unwrap_err(),
            Refusal::Wrong
        );
        assert_eq!(auth.check(None).unwrap_err(), Refusal::Missing);
        assert_eq!(
            auth.check(Some("Bearer made-up")).unwrap_err(),
            Refusal::Wrong
        );
        assert_eq!(
            auth.check(Some("Bearer static-token")).unwrap().name,
            "dashboards"
        );
        // a token that lives for no time at all is expired when it is used
        let instant = Authenticator::new(Some(users()), Duration::ZERO);
        let basic = BASE64.encode("alice:s3cret");
        let (_, token) = instant.handshake(Some(&format!("Basic {basic}"))).unwrap();
        assert_eq!(
            instant.check(Some(&format!("Bearer {token}"))).unwrap_err(),
            Refusal::Expired
        );
    }
}
