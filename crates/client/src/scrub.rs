//! Secrets never leave the device: terminal history and environment
//! variables are scrubbed before they are stored (and so before they sync).
//!
//! Two kinds of rules: values whose *shape* gives them away (AWS keys,
//! GitHub and Slack tokens, JWTs, private keys), wherever they appear; and
//! values whose *name* gives them away (`PASSWORD=…`, `--token …`,
//! `Authorization: Bearer …`, `https://user:pass@host`). A match becomes
//! `<redacted>`; the rest of the command stays as it was.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// A name that says its value is secret (`DB_PASSWORD`, `api_key`, `GITHUB_TOKEN`).
const SECRET_NAME: &str = r"[A-Za-z0-9_]*(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Za-z0-9_]*";

struct Rule {
    pattern: Regex,
    /// The replacement; `$keep` is what precedes the secret.
    replacement: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |pattern: &str, replacement: &'static str| Rule {
        pattern: Regex::new(pattern).expect("a valid scrubbing rule"),
        replacement,
    };
    vec![
        // By shape.
        rule(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", REDACTED),
        rule(r"\bsk-ant-[A-Za-z0-9_\-]{20,}", REDACTED),
        rule(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}", REDACTED),
        rule(r"\bAIza[0-9A-Za-z_\-]{35}\b", REDACTED),
        rule(r"\bhf_[A-Za-z0-9]{30,}\b", REDACTED),
        rule(r"\bnpm_[A-Za-z0-9]{36}\b", REDACTED),
        rule(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", REDACTED),
        rule(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b", REDACTED),
        rule(r"\bglpat-[A-Za-z0-9_\-]{20,}\b", REDACTED),
        rule(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b", REDACTED),
        rule(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b", REDACTED),
        rule(
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            REDACTED,
        ),
        rule(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
            REDACTED,
        ),
        // By name.
        rule(
            r"(?i)(?P<keep>\b(?:proxy-)?authorization:\s*(?:(?:bearer|basic|token|digest|apikey)\s+)?)[^\s'\x22]+",
            "${keep}<redacted>",
        ),
        // Other headers that carry a credential.
        rule(
            r"(?i)(?P<keep>\b(?:x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|x-goog-api-key|x-vault-token|cookie|set-cookie):\s*)(?:[^\s'\x22][^'\x22\n]*)",
            "${keep}<redacted>",
        ),
        // curl's `-u user:password`.
        rule(
            r"(?P<keep>\bcurl\b[^\n|;&]*?\s(?:-u\s*|--user[\s=]+)['\x22]?[^\s:'\x22]*:)[^\s'\x22]+",
            "${keep}<redacted>",
        ),
        // The MySQL clients' `-pSECRET` (a password glued to `-p`).
        rule(
            r"(?P<keep>\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mariadb|mariadb-dump)\b[^\n|;&]*?\s-p)[^\s'\x22]+",
            "${keep}<redacted>",
        ),
        // sshpass's `-p SECRET` and `-pSECRET`.
        rule(
            r"(?P<keep>\bsshpass\b[^\n|;&]*?\s-p\s*)(?:'[^']*'|\x22[^\x22]*\x22|[^\s'\x22]+)",
            "${keep}<redacted>",
        ),
        rule(
            r"(?i)(?P<keep>\b(?:bearer)\s+)[A-Za-z0-9_\-\.=]{16,}",
            "${keep}<redacted>",
        ),
        rule(
            r"(?P<keep>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+(?P<at>@)",
            "${keep}<redacted>${at}",
        ),
        rule(
            &format!(
                r"(?i)(?P<keep>\b{SECRET_NAME}\s*[=:]\s*)(?:'[^']*'|\x22[^\x22]*\x22|[^\s'\x22]+)"
            ),
            "${keep}<redacted>",
        ),
        rule(
            r"(?i)(?P<keep>--?(?:password|passwd|pass|token|secret|api-key|apikey|access-key|auth)(?:=|\s+))(?:'[^']*'|\x22[^\x22]*\x22|[^\s'\x22]+)",
            "${keep}<redacted>",
        ),
    ]
});

static SECRET_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("(?i)^{SECRET_NAME}$")).expect("a valid rule"));

/// `text` with every secret replaced by [`REDACTED`].
#[must_use]
pub fn scrub(text: &str) -> String {
    let mut out = text.to_owned();
    for rule in RULES.iter() {
        if rule.pattern.is_match(&out) {
            out = rule
                .pattern
                .replace_all(&out, rule.replacement)
                .into_owned();
        }
    }
    out
}

/// Environment variables with secret values removed: a secret-sounding name
/// hides its whole value; other values are scrubbed like commands.
#[must_use]
pub fn scrub_env(vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    vars.iter()
        .map(|(name, value)| {
            let value = if SECRET_NAME_RE.is_match(name) {
                REDACTED.to_owned()
            } else {
                scrub(value)
            };
            (name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(scrub(input), expected, "scrubbing {input:?}");
    }

    #[test]
    fn secrets_are_removed() {
        check(
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "export AWS_ACCESS_KEY_ID=<redacted>",
        );
        check(
            "aws s3 ls --profile x AKIAIOSFODNN7EXAMPLE",
            "aws s3 ls --profile x <redacted>",
        );
        check(
            "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "export AWS_SECRET_ACCESS_KEY=<redacted>",
        );
        check(
            "git clone https://ghp_1234567890abcdefghijABCDEFGHIJ123456@github.com/a/b",
            "git clone https://<redacted>@github.com/a/b",
        );
        check(
            "gh auth login --with-token github_pat_11ABCDEFG0123456789_abcdefghij",
            "gh auth login --with-token <redacted>",
        );
        check(
            "curl -H 'Authorization: Bearer abc.def-ghi_123' https://api.example.com",
            "curl -H 'Authorization: Bearer <redacted>' https://api.example.com",
        );
        check(
            "curl -H \"authorization: token 0123456789abcdef\" x",
            "curl -H \"authorization: token <redacted>\" x",
        );
        check(
            "PASSWORD=hunter2 ./deploy.sh",
            "PASSWORD=<redacted> ./deploy.sh",
        );
        check(
            "DB_PASSWORD='s3cr3t pass' psql",
            "DB_PASSWORD=<redacted> psql",
        );
        check(
            "export GITHUB_TOKEN=\"abc123\"",
            "export GITHUB_TOKEN=<redacted>",
        );
        check(
            "mysql -u root --password=hunter2 db",
            "mysql -u root --password=<redacted> db",
        );
        check(
            "vault login --token s.abcdefgh",
            "vault login --token <redacted>",
        );
        check(
            "psql postgres://admin:hunter2@db.internal:5432/app",
            "psql postgres://admin:<redacted>@db.internal:5432/app",
        );
        check(
            "echo eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "echo <redacted>",
        );
        check(
            "slack-cli --t xoxb-123456789012-abcdefghij",
            "slack-cli --t <redacted>",
        );
        check(
            "stripe charges list sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "stripe charges list <redacted>",
        );
        check(
            "cat <<EOF\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nEOF",
            "cat <<EOF\n<redacted>\nEOF",
        );
        check(
            "curl -u ada:hunter2 https://api.example.com",
            "curl -u ada:<redacted> https://api.example.com",
        );
        check(
            "curl -s --user 'ada:s3cr3t' https://x",
            "curl -s --user 'ada:<redacted>' https://x",
        );
        check(
            "curl --user=ada:pw https://x",
            "curl --user=ada:<redacted> https://x",
        );
        check(
            "mysql -u root -pSECRET app",
            "mysql -u root -p<redacted> app",
        );
        check(
            "mysqldump -h db -uroot -phunter2 app > dump.sql",
            "mysqldump -h db -uroot -p<redacted> app > dump.sql",
        );
        check(
            "sshpass -p 'my pass' ssh ada@host",
            "sshpass -p <redacted> ssh ada@host",
        );
        check("sshpass -pSECRET ssh host", "sshpass -p<redacted> ssh host");
        check(
            "curl -H 'x-api-key: abc123' https://api.example.com",
            "curl -H 'x-api-key: <redacted>' https://api.example.com",
        );
        check(
            "curl -H \"X-Auth-Token: t0k3n\" -H 'Cookie: session=abc; id=1' x",
            "curl -H \"X-Auth-Token: <redacted>\" -H 'Cookie: <redacted>' x",
        );
        check(
            "http GET x Authorization:sometoken",
            "http GET x Authorization:<redacted>",
        );
        check(
            "claude --key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
            "claude --key <redacted>",
        );
        check(
            "export OPENAI_KEY=x; echo sk-proj-abcdefghijklmnopqrstuvwx012",
            "export OPENAI_KEY=x; echo <redacted>",
        );
        check(
            "gcloud x AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "gcloud x <redacted>",
        );
        check(
            "huggingface-cli login hf_abcdefghijklmnopqrstuvwxyzABCDEF",
            "huggingface-cli login <redacted>",
        );
        check(
            "npm config set //registry/:_authToken npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "npm config set //registry/:_authToken <redacted>",
        );
        check("aws sts x ASIAIOSFODNN7EXAMPLE", "aws sts x <redacted>");
        check(
            "git push https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/a/b",
            "git push https://<redacted>@github.com/a/b",
        );
        check(
            "git remote add o https://ada:p%40ss@git.example.com/a.git",
            "git remote add o https://ada:<redacted>@git.example.com/a.git",
        );
        check(
            "redis-cli -u redis://:s3cret@cache:6379",
            "redis-cli -u redis://:<redacted>@cache:6379",
        );
    }

    #[test]
    fn ordinary_commands_stay_intact() {
        for command in [
            "cargo test -p stint-db -- --nocapture",
            "git commit -m 'Fix the token refresh race'",
            "ls -la ~/src/app",
            "grep -rn password_hash src/",
            "kubectl get pods -n auth",
            "curl https://example.com/api/v5/health",
            "export RUST_LOG=debug",
            "ssh ada@build-box",
            "make test",
            "echo $PASSWORD",
            "docker run -e PORT=8080 app",
            "git log --author=ada",
            "mkdir -p src/app",
            "tar -pxf backup.tar",
            "docker run -u 1000:1000 app",
            "mysql -u root -p app",
            "git log -p",
            "curl -u ada https://x",
            "cargo add sk-tools",
            "ssh -p 2222 host",
        ] {
            check(command, command);
        }
    }

    #[test]
    fn environment_values_by_name_and_shape() {
        let vars: BTreeMap<String, String> = [
            ("RUST_LOG", "debug"),
            ("API_KEY", "12345"),
            ("github_token", "anything"),
            ("DATABASE_URL", "postgres://app:pw123@localhost/app"),
            ("EDITOR", "vim"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let scrubbed = scrub_env(&vars);
        assert_eq!(scrubbed["RUST_LOG"], "debug");
        assert_eq!(scrubbed["API_KEY"], REDACTED);
        assert_eq!(scrubbed["github_token"], REDACTED);
        assert_eq!(
            scrubbed["DATABASE_URL"],
            "postgres://app:<redacted>@localhost/app"
        );
        assert_eq!(scrubbed["EDITOR"], "vim");
    }
}
