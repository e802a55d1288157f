//! Finding a line again after its file changed, from hashes of the lines
//! around it: how a cursor or a breakpoint recorded on one device lands on
//! the same code on another, where the file has been edited since.
//!
//! Only hashes travel (32 bits a line, whitespace at the ends ignored), so
//! the content never leaves the device. A window of lines is the anchor;
//! the line is found again where the most of its window matches, provided
//! that is its own line and at least half the window, and that no other
//! place matches as well. Otherwise it is lost, and the caller says so.

/// Lines kept on each side of the anchored one.
pub const CONTEXT: usize = 3;

/// The hashed lines around one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// A hash per line, in order.
    pub hashes: Vec<u32>,
    /// Which of them is the anchored line.
    pub at: usize,
}

/// The hash of a line: FNV-1a over its text, trimmed.
fn hash(line: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in line.trim().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn hashes(text: &str) -> Vec<u32> {
    text.lines().map(hash).collect()
}

/// The window around 1-based `line` of `text`; `None` past its end.
#[must_use]
pub fn window(text: &str, line: u32) -> Option<Window> {
    let all = hashes(text);
    let i = usize::try_from(line).ok()?.checked_sub(1)?;
    if i >= all.len() {
        return None;
    }
    let start = i.saturating_sub(CONTEXT);
    let end = (i + CONTEXT + 1).min(all.len());
    Some(Window {
        hashes: all[start..end].to_vec(),
        at: i - start,
    })
}

/// Where the line of `window`, recorded at 1-based `line`, is in `text`
/// now: a 1-based line, or `None` when it cannot be told.
#[must_use]
pub fn find(window: &Window, line: u32, text: &str) -> Option<u32> {
    let now = hashes(text);
    let target = *window.hashes.get(window.at)?;
    let need = window.hashes.len().div_ceil(2).max(1);
    let mut best: Option<(usize, usize)> = None; // (score, index)
    let mut tied = false;
    let was = usize::try_from(line)
        .unwrap_or(usize::MAX)
        .saturating_sub(1);
    for (i, h) in now.iter().enumerate() {
        if *h != target {
            continue;
        }
        let score = window
            .hashes
            .iter()
            .enumerate()
            .filter(|(k, expected)| {
                (i + k)
                    .checked_sub(window.at)
                    .and_then(|j| now.get(j))
                    .is_some_and(|h| h == *expected)
            })
            .count();
        match best {
            Some((s, j)) if score == s => {
                // Two places match alike: the nearer the recorded line
                // wins only if it is the recorded line itself.
                if i == was {
                    best = Some((score, i));
                    tied = false;
                } else if j != was {
                    tied = true;
                }
            }
            Some((s, _)) if score < s => {}
            _ => {
                best = Some((score, i));
                tied = false;
            }
        }
    }
    match best {
        Some((score, i)) if score >= need && !tied => u32::try_from(i + 1).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str =
        "use std::io;\n\nfn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n\nfn other() {}\n";

    /// `check(edited, expected)`: the cursor on line 5 of `FILE` is at
    /// `expected` in `edited`.
    fn check(edited: &str, expected: Option<u32>) {
        let w = window(FILE, 5).unwrap();
        assert_eq!(find(&w, 5, edited), expected, "{edited:?}");
    }

    #[test]
    fn a_line_follows_the_edits_around_it() {
        check(FILE, Some(5));
        // Two lines added above: it moves down two.
        check(&format!("// a\n// b\n{FILE}"), Some(7));
        // A line removed above.
        check(&FILE.replacen("use std::io;\n", "", 1), Some(4));
        // Indentation changed: still found.
        check(&FILE.replace("    println", "\tprintln"), Some(5));
        // Edited below and above but its neighbourhood kept.
        check(&format!("//x\n{FILE}fn more() {{}}\n"), Some(6));
        // The line itself is gone.
        check(&FILE.replace("println!(\"{x}\");", "dbg!(x);"), None);
        // Rewritten.
        check("completely\ndifferent\ncontent\n", None);
        check("", None);
    }

    #[test]
    fn a_repeated_line_is_not_guessed() {
        let text = "a\nx\nb\nc\nx\nd\n";
        let w = window(text, 2).unwrap();
        // The window is a, x, b, c, x: only line 2 matches it whole.
        assert_eq!(find(&w, 2, text), Some(2));
        let w = Window {
            hashes: vec![hash("x")],
            at: 0,
        };
        // One line alone, twice in the file: the recorded place wins...
        assert_eq!(find(&w, 5, text), Some(5));
        // ...and elsewhere it is ambiguous.
        assert_eq!(find(&w, 3, text), None);
        assert_eq!(window(text, 0), None);
        assert_eq!(window(text, 7), None);
    }
}
