//! Authentication: passwords, tokens, throttling, and the account flows.

pub(crate) mod accounts;
pub(crate) mod passwords;
pub(crate) mod throttle;
pub(crate) mod tokens;
