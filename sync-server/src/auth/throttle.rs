//! Throttling of the account endpoints: too many attempts within a minute
//! answer 429 with `Retry-After`. Every allowance refills continuously
//! (GCRA), so nobody is ever locked out for good, and waits grow with the
//! attempts instead of ending in a hard lock.
//!
//! - Logins, per client address, and per client *and* account: a stranger
//!   failing an account's password on purpose spends their own allowance,
//!   not the owner's. Across all addresses an account has a larger one, so
//!   that guessing from many addresses is slowed too.
//! - Registrations, per client address (each costs a password hash).
//! - Refreshes, per login (token family): a stolen refresh token cannot be
//!   spun thousands of times a minute.
//!
//! Memory is bounded: account keys are cut to the longest email, and keys
//! back to a full allowance are dropped every few thousand attempts (and by
//! the background jobs), so a flood of made-up names does not stay.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use stint_model::validate::MAX_EMAIL_BYTES;
use uuid::Uuid;

/// How many attempts pass between two sweeps of the maps.
const SWEEP_EVERY: u64 = 4_096;

/// Across all addresses, an account may be tried this many times more
/// often than from one.
const ACCOUNT_FACTOR: u32 = 10;

/// The allowances, per minute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Allowances {
    pub(crate) login_per_ip: u32,
    pub(crate) login_per_account: u32,
    pub(crate) register_per_ip: u32,
    pub(crate) refresh_per_login: u32,
}

#[derive(Debug)]
pub(crate) struct Throttle {
    login_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_by_client_account: DefaultKeyedRateLimiter<(Option<IpAddr>, String)>,
    login_by_account: DefaultKeyedRateLimiter<String>,
    register_by_ip: DefaultKeyedRateLimiter<Option<IpAddr>>,
    refresh_by_login: DefaultKeyedRateLimiter<Uuid>,
    attempts: AtomicU64,
    clock: DefaultClock,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("at least 1"))
}

/// A client address as a key: an IPv6 client holds a whole /64, so its
/// network is the client (else each of its addresses would be one).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("checked")),
        v4 => v4,
    }
}

/// An account name as a key: at most as long as an email can be.
fn account_key(account: &str) -> String {
    let mut end = account.len().min(MAX_EMAIL_BYTES);
    while !account.is_char_boundary(end) {
        end -= 1;
    }
    account[..end].to_owned()
}

impl Throttle {
    pub(crate) fn new(allow: Allowances) -> Self {
        Self {
            login_by_ip: RateLimiter::keyed(quota(allow.login_per_ip)),
            login_by_client_account: RateLimiter::keyed(quota(allow.login_per_account)),
            login_by_account: RateLimiter::keyed(quota(
                allow.login_per_account.saturating_mul(ACCOUNT_FACTOR),
            )),
            register_by_ip: RateLimiter::keyed(quota(allow.register_per_ip)),
            refresh_by_login: RateLimiter::keyed(quota(allow.refresh_per_login)),
            attempts: AtomicU64::new(0),
            clock: DefaultClock::default(),
        }
    }

    fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), Duration> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.shrink();
        }
        let now = self.clock.now();
        limiter.check_key(key).map_err(|n| n.wait_time_from(now))
    }

    /// Counts one login attempt; `Err(wait)` when the address, the address
    /// with this account, or the account (unless the attempt comes from one
    /// of its own devices) has used up its allowance.
    pub(crate) fn login(
        &self,
        ip: Option<IpAddr>,
        account: &str,
        own_device: bool,
    ) -> Result<(), Duration> {
        let account = account_key(account);
        let ip = ip.map(client_key);
        if let Some(ip) = ip {
            self.check(&self.login_by_ip, &ip)?;
        }
        self.check(&self.login_by_client_account, &(ip, account.clone()))?;
        if own_device {
            return Ok(());
        }
        self.check(&self.login_by_account, &account)
    }

    /// Counts one registration from `ip`.
    pub(crate) fn register(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        self.check(&self.register_by_ip, &ip.map(client_key))
    }

    /// Counts one refresh of the login (token family) `family`.
    pub(crate) fn refresh(&self, family: Uuid) -> Result<(), Duration> {
        self.check(&self.refresh_by_login, &family)
    }

    /// Forgets keys that are back to a full allowance.
    pub(crate) fn shrink(&self) {
        self.login_by_ip.retain_recent();
        self.login_by_client_account.retain_recent();
        self.login_by_account.retain_recent();
        self.register_by_ip.retain_recent();
        self.refresh_by_login.retain_recent();
    }

    /// How many keys the maps hold (for tests of their bound).
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.login_by_ip.len()
            + self.login_by_client_account.len()
            + self.login_by_account.len()
            + self.register_by_ip.len()
            + self.refresh_by_login.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(login_per_ip: u32, login_per_account: u32) -> Throttle {
        Throttle::new(Allowances {
            login_per_ip,
            login_per_account,
            register_per_ip: 3,
            refresh_per_login: 2,
        })
    }

    #[test]
    fn per_client_and_account_and_per_ip() {
        let throttle = throttle(5, 2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(throttle.login(Some(ip), "a@x.io", false).is_ok());
        assert!(throttle.login(Some(ip), "a@x.io", false).is_ok());
        let wait = throttle.login(Some(ip), "a@x.io", false).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        // Another account from the same address still may, until the address is spent.
        assert!(throttle.login(Some(ip), "b@x.io", false).is_ok());
        assert!(throttle.login(Some(ip), "c@x.io", false).is_ok());
        assert!(
            throttle.login(Some(ip), "d@x.io", false).is_err(),
            "5 per address"
        );
        // The account itself is not locked: its owner, elsewhere, signs in.
        let owner: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(throttle.login(Some(owner), "a@x.io", false).is_ok());
    }

    #[test]
    fn an_account_tried_from_everywhere_is_slowed_too() {
        let throttle = throttle(1_000, 1);
        let tried = (0..=ACCOUNT_FACTOR)
            .map(|n| IpAddr::from([10, 1, 0, u8::try_from(n).unwrap()]))
            .filter(|ip| throttle.login(Some(*ip), "a@x.io", false).is_ok())
            .count();
        assert_eq!(tried, ACCOUNT_FACTOR as usize);
        // Its owner, from one of its own devices, is not held back by that.
        let home = IpAddr::from([10, 2, 0, 1]);
        assert!(throttle.login(Some(home), "a@x.io", false).is_err());
        let home = IpAddr::from([10, 2, 0, 2]);
        assert!(throttle.login(Some(home), "a@x.io", true).is_ok());
    }

    #[test]
    fn registrations_and_refreshes_have_allowances_of_their_own() {
        let throttle = throttle(1, 1);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let registered = (0..5)
            .filter(|_| throttle.register(Some(ip)).is_ok())
            .count();
        assert_eq!(registered, 3);
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        let refreshed = (0..5).filter(|_| throttle.refresh(one).is_ok()).count();
        assert_eq!(refreshed, 2);
        assert!(throttle.refresh(two).is_ok(), "per login");
    }

    #[test]
    fn an_ipv6_client_is_its_network() {
        let throttle = throttle(2, 100);
        let ip = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]));
        assert!(throttle.login(ip(1), "a@x.io", false).is_ok());
        assert!(throttle.login(ip(2), "b@x.io", false).is_ok());
        assert!(
            throttle.login(ip(3), "c@x.io", false).is_err(),
            "one /64, one client"
        );
        let elsewhere = Some(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]));
        assert!(throttle.login(elsewhere, "c@x.io", false).is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let throttle = throttle(1_000_000, 1_000_000);
        let long = "é".repeat(100_000);
        assert!(throttle.login(None, &long, false).is_ok());
        assert!(account_key(&long).len() <= MAX_EMAIL_BYTES);
        // A flood of made-up accounts, each tried once: swept as it goes.
        for n in 0..3 * SWEEP_EVERY {
            let _ = throttle.login(None, &format!("{n}@flood.example"), false);
        }
        throttle.shrink();
        assert!(
            throttle.keys() < 3 * SWEEP_EVERY as usize,
            "{}",
            throttle.keys()
        );
    }
}
