//! Login throttling per client address and per account: too many attempts
//! within a minute answer 429 with `Retry-After`; the allowance refills
//! continuously, so nobody is ever locked out for good.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Debug)]
pub(crate) struct LoginThrottle {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl LoginThrottle {
    pub(crate) fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).expect("checked by the config"));
        Self {
            by_ip: RateLimiter::keyed(quota(per_ip_per_minute)),
            by_account: RateLimiter::keyed(quota(per_account_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `Err(wait)` when the address or the account has
    /// used up its allowance.
    pub(crate) fn attempt(&self, ip: Option<IpAddr>, account: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        if let Some(ip) = ip {
            self.by_ip
                .check_key(&ip)
                .map_err(|n| n.wait_time_from(now))?;
        }
        self.by_account
            .check_key(&account.to_owned())
            .map_err(|n| n.wait_time_from(now))
    }

    /// Forgets keys that are back to a full allowance (a background job).
    pub(crate) fn shrink(&self) {
        self.by_ip.retain_recent();
        self.by_account.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_account_and_per_ip() {
        let throttle = LoginThrottle::new(5, 2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(throttle.attempt(Some(ip), "a@x.io").is_ok());
        assert!(throttle.attempt(Some(ip), "a@x.io").is_ok());
        let wait = throttle.attempt(Some(ip), "a@x.io").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        // Another account from the same address still may, until the address is spent.
        assert!(throttle.attempt(Some(ip), "b@x.io").is_ok());
        assert!(throttle.attempt(Some(ip), "c@x.io").is_ok());
        assert!(
            throttle.attempt(Some(ip), "d@x.io").is_err(),
            "5 per address"
        );
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(throttle.attempt(Some(other), "d@x.io").is_ok());
    }
}
