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
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Password hashes checked so far (known names and unknown ones alike).
    checked: AtomicU64,
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
        let file: UsersFile = serde_norway::from_str(&text).map_err(|e| bad(e.to_string()))?;
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

    /// The user, when the password is theirs. A wrong name and a wrong password look the same
    /// and cost the same: for a name that is no user's, the password is checked against a
    /// user's hash all the same (and never accepted), so the time a refusal takes does not tell
    /// which names exist.
    fn check_password(&self, name: &str, password: &str) -> Option<Principal> {
        let known = self.passwords.get(name);
        let hash = known.or_else(|| self.passwords.values().next())?;
        let parsed = PasswordHash::new(hash).ok()?;
        self.checked.fetch_add(1, Ordering::Relaxed);
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        (matches && known.is_some()).then(|| Principal::new(name))
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
    /// Too many failed handshakes from the client's address in a short time.
    Throttled,
    /// Too many handshakes waiting for their password check.
    Busy,
}

/// The bounds on handshakes: password checks (argon2, deliberately slow) run on blocking
/// threads, at most one per core at once, with a bounded number waiting; a client address
/// whose handshakes keep failing is refused for a while.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeLimits {
    /// Failed handshakes one address may make in `window` before it is refused.
    pub max_failures: u32,
    /// The window the failures are counted in; an address refused stays refused until its
    /// window ends.
    pub window: Duration,
    /// Handshakes waiting for (or in) a password check at once; more are refused as busy.
    pub max_waiting: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(60),
            max_waiting: 64,
        }
    }
}

/// Counts a handshake as waiting while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Authentication of the server's calls: the users, and the tokens handed out.
#[derive(Debug)]
pub struct Authenticator {
    users: Option<Users>,
    ttl: Duration,
    issued: Mutex<HashMap<String, (Principal, Instant)>>,
    limits: HandshakeLimits,
    /// Failed handshakes by client address: how many, since when.
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    /// Password checks running at once.
    checking: Arc<tokio::sync::Semaphore>,
    /// Handshakes waiting for or in a password check.
    waiting: AtomicUsize,
}

/// Decodes base64 with or without padding (ADBC sends it unpadded).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Authenticator {
    /// Checks calls against `users`; `None` lets everyone in as `anonymous`.
    pub fn new(users: Option<Users>, ttl: Duration) -> Self {
        Self::with_limits(users, ttl, HandshakeLimits::default())
    }

    /// [`Authenticator::new`] with other bounds on handshakes.
    pub fn with_limits(users: Option<Users>, ttl: Duration, limits: HandshakeLimits) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            users,
            ttl,
            issued: Mutex::new(HashMap::new()),
            limits,
            failures: Mutex::new(HashMap::new()),
            checking: Arc::new(tokio::sync::Semaphore::new(cores)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The handshake as the server runs it for a client at `client`: refused at once while
    /// the address is throttled or too many handshakes wait; else the password is checked on
    /// a blocking thread (never on the async workers that serve queries), and a failure counts
    /// against the address.
    pub async fn handshake_from(
        self: &Arc<Self>,
        authorization: Option<String>,
        client: Option<IpAddr>,
    ) -> std::result::Result<(Principal, String), Refusal> {
        if let Some(ip) = client
            && self.throttled(ip)
        {
            return Err(Refusal::Throttled);
        }
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        if before >= self.limits.max_waiting {
            return Err(Refusal::Busy);
        }
        let permit = Arc::clone(&self.checking)
            .acquire_owned()
            .await
            .map_err(|_| Refusal::Busy)?;
        let me = Arc::clone(self);
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            me.handshake(authorization.as_deref())
        })
        .await
        .map_err(|_| Refusal::Busy)?;
        if let (Some(ip), Err(Refusal::Wrong)) = (client, &result) {
            self.failed(ip);
        }
        result
    }

    /// True while `ip` has made too many failed handshakes in its window.
    fn throttled(&self, ip: IpAddr) -> bool {
        let failures = match self.failures.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        failures.get(&ip).is_some_and(|(n, since)| {
            *n >= self.limits.max_failures && since.elapsed() < self.limits.window
        })
    }

    /// Counts a failed handshake of `ip`.
    fn failed(&self, ip: IpAddr) {
        let mut failures = match self.failures.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let window = self.limits.window;
        // forget the windows that ended while here
        failures.retain(|_, (_, since)| since.elapsed() < window);
        let entry = failures.entry(ip).or_insert((0, Instant::now()));
        entry.0 = entry.0.saturating_add(1);
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
        // a lifetime past what the clock can hold is as good as none ending
        let until = now
            .checked_add(self.ttl)
            .unwrap_or_else(|| now + Duration::from_secs(366 * 86_400));
        issued.insert(token.clone(), (principal, until));
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

    #[test]
    fn an_unknown_name_costs_a_password_check_and_is_never_accepted() {
        let auth = Authenticator::new(Some(users()), Duration::from_secs(60));
        let users = auth.users.as_ref().unwrap();
        let checked = || users.checked.load(Ordering::Relaxed);
        let attempt = |credentials: &str| {
            let basic = BASE64.encode(credentials);
            auth.handshake(Some(&format!("Basic {basic}")))
        };
        assert_eq!(attempt("alice:nope").unwrap_err(), Refusal::Wrong);
        assert_eq!(checked(), 1);
        // a name that is no user's: a check all the same, even with another user's password
        assert_eq!(attempt("bob:nope").unwrap_err(), Refusal::Wrong);
        assert_eq!(attempt("bob:s3cret").unwrap_err(), Refusal::Wrong);
        assert_eq!(checked(), 3);
        assert_eq!(attempt("alice:s3cret").unwrap().0.name, "alice");
    }

    #[tokio::test]
    async fn failed_handshakes_throttle_their_address_only() {
        let limits = HandshakeLimits {
            max_failures: 3,
            window: Duration::from_secs(600),
            max_waiting: 64,
        };
        let auth = Arc::new(Authenticator::with_limits(
            Some(users()),
            Duration::from_secs(60),
            limits,
        ));
        let basic = |credentials: &str| Some(format!("Basic {}", BASE64.encode(credentials)));
        let (one, other): (IpAddr, IpAddr) =
            ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        for _ in 0..3 {
            let refused = auth.handshake_from(basic("alice:nope"), Some(one)).await;
            assert_eq!(refused.unwrap_err(), Refusal::Wrong);
        }
        // the right password too, from that address, until its window ends
        let throttled = auth.handshake_from(basic("alice:s3cret"), Some(one)).await;
        assert_eq!(throttled.unwrap_err(), Refusal::Throttled);
        let elsewhere = auth
            .handshake_from(basic("alice:s3cret"), Some(other))
            .await;
        assert_eq!(elsewhere.unwrap().0.name, "alice");
        // no credentials at all is not a failed password
        let fresh = Arc::new(Authenticator::with_limits(
            Some(users()),
            Duration::from_secs(60),
            limits,
        ));
        for _ in 0..5 {
            let missing = fresh.handshake_from(None, Some(one)).await;
            assert_eq!(missing.unwrap_err(), Refusal::Missing);
        }
        let ok = fresh.handshake_from(basic("alice:s3cret"), Some(one)).await;
        assert_eq!(ok.unwrap().0.name, "alice");
    }

    #[tokio::test]
    async fn handshakes_beyond_the_waiting_bound_are_refused_as_busy() {
        let limits = HandshakeLimits {
            max_waiting: 0,
            ..HandshakeLimits::default()
        };
        let auth = Arc::new(Authenticator::with_limits(
            Some(users()),
            Duration::from_secs(60),
            limits,
        ));
        let basic = Some(format!("Basic {}", BASE64.encode("alice:s3cret")));
        let busy = auth.handshake_from(basic, None).await;
        assert_eq!(busy.unwrap_err(), Refusal::Busy);
        assert_eq!(auth.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(
            auth.users.as_ref().unwrap().checked.load(Ordering::Relaxed),
            0
        );
    }
}
