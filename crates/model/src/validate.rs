//! Validation rules shared by every record.
//!
//! Records are checked at the edges (the server's handlers, the client's
//! facade) so that storage only ever holds data that passed these rules. A
//! failure names the field, so the HTTP API can answer `422` with `field`.

use std::path::{Component, Path};

use thiserror::Error;

/// Longest display name (tenant, user, session, agent, conversation title).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest path we accept, in bytes (Linux `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 50;
/// Most tags on one record.
pub const MAX_TAGS: usize = 32;
/// Longest note, decision or free text field, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most entries kept in a terminal history.
pub const MAX_HISTORY: usize = 1_000;
/// Longest message content, in bytes (messages larger than one store value
/// are chunked by `stint-db`).
pub const MAX_MESSAGE_BYTES: usize = 1_000_000;
/// Largest JSON value of a setting, in bytes.
pub const MAX_SETTING_VALUE_BYTES: usize = 64 * 1024;
/// Longest email address (RFC 5321).
pub const MAX_EMAIL_BYTES: usize = 254;

/// A field that broke a rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field's name as it appears on the wire (`workspace_path`, `tags[2]`).
    pub field: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl ValidationError {
    /// A failure of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Something that can check its own fields.
pub trait Validate {
    /// `Ok` when every field obeys its rules, else the first broken one.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// A display name: not blank, at most [`MAX_NAME_CHARS`], no control characters.
pub fn name(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    no_control_chars(field, value)
}

/// A name that may be left empty (a person's given or family name: the
/// display name falls back to the email): at most [`MAX_NAME_CHARS`], no
/// control characters.
pub fn optional_name(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() && !value.chars().any(char::is_control) {
        return Ok(());
    }
    name(field, value)
}

/// Free text (notes, descriptions): at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Text that must also not be blank.
pub fn non_empty_text(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    text(field, value, max)
}

fn no_control_chars(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An email address in its normalized form (see [`normalize_email`]).
///
/// Deliberately loose: one `@`, something on each side, a dot in the domain.
/// Whether the mailbox exists is for a verification mail to find out.
pub fn email(field: &str, value: &str) -> Result<(), ValidationError> {
    let bad = || ValidationError::new(field, "must be an email address like name@example.com");
    if value.len() > MAX_EMAIL_BYTES {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_EMAIL_BYTES} bytes"),
        ));
    }
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@');
    if local.is_empty() || !domain_ok || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    Ok(())
}

/// The canonical form of an email: trimmed and lower-cased, so that
/// `Ada@Example.com` and `ada@example.com ` are one account.
#[must_use]
pub fn normalize_email(value: &str) -> String {
    value.trim().to_lowercase()
}

/// An absolute workspace folder (`/home/ada/src/app`, `C:\src\app`).
pub fn workspace_path(field: &str, value: &str) -> Result<(), ValidationError> {
    path_common(field, value)?;
    // Bytes, not a slice of the text: `U&ïx` has a character across 1..3.
    let windows_drive =
        matches!(value.as_bytes(), [drive, b':', b'\\', ..] if drive.is_ascii_alphabetic());
    if !(value.starts_with('/') || windows_drive) {
        return Err(ValidationError::new(field, "must be an absolute path"));
    }
    Ok(())
}

/// A path inside a workspace, relative to its root (`src/main.rs`): no leading
/// `/`, no `..`, so it can never point outside the workspace.
pub fn relative_path(field: &str, value: &str) -> Result<(), ValidationError> {
    path_common(field, value)?;
    let path = Path::new(value);
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(ValidationError::new(field, "must not contain `..`"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ValidationError::new(
                    field,
                    "must be relative to the workspace root",
                ));
            }
        }
    }
    if value.contains('\\') && value.split('\\').any(|part| part == "..") {
        return Err(ValidationError::new(field, "must not contain `..`"));
    }
    Ok(())
}

fn path_common(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.len() > MAX_PATH_BYTES {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_PATH_BYTES} bytes"),
        ));
    }
    if value.contains('\0') {
        return Err(ValidationError::new(field, "must not contain NUL bytes"));
    }
    Ok(())
}

/// A tag: lower-case letters, digits and `-_./`, starting with a letter or
/// digit, at most [`MAX_TAG_CHARS`] (`backend`, `auth`, `v2.1`, `team/infra`).
pub fn tag(field: &str, value: &str) -> Result<(), ValidationError> {
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
    if !first_ok || !rest_ok {
        return Err(ValidationError::new(
            field,
            "a tag is lower-case letters, digits and `-_./`, starting with a letter or digit",
        ));
    }
    if value.len() > MAX_TAG_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_TAG_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A list of tags: each valid, no duplicates, at most [`MAX_TAGS`].
pub fn tags(field: &str, values: &[String]) -> Result<(), ValidationError> {
    if values.len() > MAX_TAGS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    for (i, value) in values.iter().enumerate() {
        tag(&format!("{field}[{i}]"), value)?;
        if values[..i].contains(value) {
            return Err(ValidationError::new(
                format!("{field}[{i}]"),
                format!("duplicate tag `{value}`"),
            ));
        }
    }
    Ok(())
}

/// A SHA-256 digest as 64 lower-case hex digits.
pub fn sha256(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.len() != 64
        || !value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ValidationError::new(
            field,
            "must be a SHA-256 digest: 64 lower-case hex digits",
        ));
    }
    Ok(())
}

/// At most `max` items in a list.
pub fn max_items<T>(field: &str, values: &[T], max: usize) -> Result<(), ValidationError> {
    if values.len() > max {
        return Err(ValidationError::new(field, format!("at most {max} items")));
    }
    Ok(())
}

/// A setting key or category-like identifier: `[a-z0-9_.-]{1,64}`.
pub fn identifier(field: &str, value: &str) -> Result<(), ValidationError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if !ok {
        return Err(ValidationError::new(
            field,
            "must be 1 to 64 of `a-z 0-9 _ . -`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check(rule, input, expected)`: `None` means valid, `Some(fragment)`
    /// means invalid with a message containing `fragment`.
    fn check(
        rule: fn(&str, &str) -> Result<(), ValidationError>,
        input: &str,
        expected: Option<&str>,
    ) {
        match (rule("f", input), expected) {
            (Ok(()), None) => {}
            (Err(e), Some(fragment)) => assert!(
                e.message.contains(fragment),
                "{input:?}: message {:?} lacks {fragment:?}",
                e.message
            ),
            (got, want) => panic!("{input:?}: got {got:?}, want error {want:?}"),
        }
    }

    #[test]
    fn names() {
        check(name, "Backend refactor", None);
        check(name, "", Some("empty"));
        check(name, "   ", Some("empty"));
        check(name, &"x".repeat(201), Some("at most 200"));
        check(name, "a\u{7}b", Some("control"));
        check(name, &"é".repeat(200), None);
    }

    #[test]
    fn emails() {
        check(email, "ada@example.com", None);
        check(email, "ada.lovelace+stint@mail.example.org", None);
        check(email, "ada", Some("email address"));
        check(email, "@example.com", Some("email address"));
        check(email, "ada@example", Some("email address"));
        check(email, "ada@.com", Some("email address"));
        check(email, "a da@example.com", Some("email address"));
        check(email, "a@b@example.com", Some("email address"));
        check(
            email,
            &format!("{}@example.com", "a".repeat(250)),
            Some("at most"),
        );
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn workspace_paths() {
        check(workspace_path, "/home/ada/src/app", None);
        check(workspace_path, "C:\\src\\app", None);
        check(workspace_path, "src/app", Some("absolute"));
        // A character across bytes 1..3 (once a panic).
        check(workspace_path, "U&ïx/app", Some("absolute"));
        check(workspace_path, "Cï\\app", Some("absolute"));
        check(workspace_path, "/ünï/cødé", None);
        check(workspace_path, "", Some("empty"));
        check(workspace_path, "/a\0b", Some("NUL"));
        check(
            workspace_path,
            &format!("/{}", "a".repeat(4096)),
            Some("at most"),
        );
    }

    #[test]
    fn relative_paths() {
        check(relative_path, "src/main.rs", None);
        check(relative_path, "./README.md", None);
        check(relative_path, "/etc/passwd", Some("relative"));
        check(relative_path, "../secret", Some("`..`"));
        check(relative_path, "src/../../secret", Some("`..`"));
        check(relative_path, "src\\..\\secret", Some("`..`"));
        check(relative_path, "", Some("empty"));
    }

    #[test]
    fn tag_syntax() {
        check(tag, "backend", None);
        check(tag, "v2.1", None);
        check(tag, "team/infra", None);
        check(tag, "Backend", Some("lower-case"));
        check(tag, "-x", Some("starting with"));
        check(tag, "", Some("starting with"));
        check(tag, "a b", Some("lower-case"));
        check(tag, &"a".repeat(51), Some("at most 50"));
    }

    #[test]
    fn tag_lists() {
        let list = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(tags("tags", &list(&["a", "b"])).is_ok());
        let dup = tags("tags", &list(&["a", "b", "a"])).unwrap_err();
        assert_eq!(dup.field, "tags[2]");
        let bad = tags("tags", &list(&["a", "B"])).unwrap_err();
        assert_eq!(bad.field, "tags[1]");
        let many: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
        assert!(
            tags("tags", &many)
                .unwrap_err()
                .message
                .contains("at most 32")
        );
    }

    #[test]
    fn digests_and_identifiers() {
        check(sha256, &"ab".repeat(32), None);
        check(sha256, &"AB".repeat(32), Some("lower-case hex"));
        check(sha256, "abc", Some("64"));
        check(identifier, "font_size", None);
        check(identifier, "Font", Some("a-z"));
        check(identifier, "", Some("a-z"));
    }
}
