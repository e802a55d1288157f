//! Scans of real temp trees, checked against `sha256sum` and against
//! themselves (an incremental scan hashes only what changed).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use stint_watch::{Index, Options, ProblemKind, Report, scan};

/// Writes `files` (relative path → content) under `root`.
fn write_tree(root: &Path, files: &[(&str, Vec<u8>)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

fn full_scan(root: &Path, index: &mut Index) -> Report {
    scan(root, index, &Options::default(), &mut |_| {})
}

fn checksums(index: &Index) -> BTreeMap<String, String> {
    index
        .iter()
        .map(|(p, e)| (p.to_owned(), e.sha256_hex()))
        .collect()
}

/// `sha256sum` over every regular file under `root`, except those in
/// `skipped` folders, as path → checksum.
fn sha256sum(root: &Path) -> BTreeMap<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("find . -type f -not -path './skipped/*' -print0 | xargs -0 sha256sum")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (sum, path) = line.split_once("  ").unwrap();
            (path.trim_start_matches("./").to_owned(), sum.to_owned())
        })
        .collect()
}

/// Deterministic bytes of any length.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn checksums_equal_sha256sums_on_a_generated_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..300_u64 {
        let len = match i % 7 {
            0 => 0,
            1 => 1,
            2 => 255 * 1024 + 7,
            3 => 256 * 1024,
            _ => usize::try_from(i * 37 % 20_000).unwrap(),
        };
        files.push((format!("d{}/e{}/f{i}.bin", i % 5, i % 3), bytes(i, len)));
    }
    files.push(("big.bin".into(), bytes(99, 3 * 1024 * 1024 + 1)));
    files.push((".hidden".into(), b"hidden files count".to_vec()));
    let borrowed: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(p, c)| (p.as_str(), c.clone())).collect();
    write_tree(root, &borrowed);

    let mut index = Index::default();
    let report = full_scan(root, &mut index);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.files_hashed, files.len());
    assert_eq!(checksums(&index), sha256sum(root));
    assert_eq!(
        index.get("d0/e0/f0.bin").unwrap().sha256_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "the empty file"
    );
}

#[test]
fn ignore_rules_and_skipped_folders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(
        root,
        &[
            (".gitignore", b"*.log\n/build/\n".to_vec()),
            ("sub/.ignore", b"secret.txt\n".to_vec()),
            (".stintignore", b"*.tmp\n".to_vec()),
            ("src/main.rs", b"fn main() {}".to_vec()),
            ("app.log", b"noise".to_vec()),
            ("build/out.o", b"obj".to_vec()),
            ("sub/secret.txt", b"ignored by .ignore".to_vec()),
            ("sub/kept.txt", b"kept".to_vec()),
            ("scratch.tmp", b"ignored by .stintignore".to_vec()),
            (".git/HEAD", b"ref: refs/heads/main".to_vec()),
            ("target/debug/app", b"binary".to_vec()),
            ("web/node_modules/x/index.js", b"dep".to_vec()),
            ("web/index.js", b"app".to_vec()),
        ],
    );
    let mut index = Index::default();
    full_scan(root, &mut index);
    let paths: Vec<&str> = index.iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            ".gitignore",
            ".stintignore",
            "src/main.rs",
            "sub/.ignore",
            "sub/kept.txt",
            "web/index.js"
        ]
    );
}

#[test]
fn a_rescan_hashes_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let files: Vec<(String, Vec<u8>)> = (0..200_u64)
        .map(|i| (format!("f{i}.txt"), bytes(i, 100)))
        .collect();
    let borrowed: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(p, c)| (p.as_str(), c.clone())).collect();
    write_tree(root, &borrowed);
    let mut index = Index::default();
    full_scan(root, &mut index);
    // Files written within the racy window of their hash are hashed once
    // more; after that, a rescan of an unchanged tree hashes nothing.
    full_scan(root, &mut index);
    let report = full_scan(root, &mut index);
    assert_eq!((report.files_hashed, report.changes.len()), (0, 0));

    std::fs::write(root.join("f1.txt"), b"changed").unwrap();
    std::fs::remove_file(root.join("f2.txt")).unwrap();
    std::fs::write(root.join("new.txt"), b"new").unwrap();
    // Same size and a new inode: caught by the inode.
    std::fs::write(root.join("f3.tmp"), bytes(1000, 100)).unwrap();
    std::fs::rename(root.join("f3.tmp"), root.join("f3.txt")).unwrap();
    // Same size, same inode, and the modification time put back (as
    // some tools do): caught by the change time.
    let f4 = root.join("f4.txt");
    let modified = std::fs::metadata(&f4).unwrap().modified().unwrap();
    std::fs::write(&f4, bytes(4000, 100)).unwrap();
    let file = std::fs::File::options().write(true).open(&f4).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    let report = full_scan(root, &mut index);
    let mut touched: Vec<&str> = report.changes.iter().map(|c| c.path()).collect();
    touched.sort_unstable();
    assert_eq!(touched, ["f1.txt", "f2.txt", "f3.txt", "f4.txt", "new.txt"]);
    assert_eq!(report.files_hashed, 4);
    assert_eq!(checksums(&index), sha256sum(root));

    // A restart from what was persisted (files only) is incremental too.
    let mut restarted = Index::from_files(index.iter().map(|(p, e)| (p.to_owned(), *e)));
    full_scan(root, &mut restarted);
    let report = full_scan(root, &mut restarted);
    assert_eq!(report.files_hashed, 0);
}

#[test]
fn odd_trees_are_reported_never_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(root, &[("ok.txt", b"fine".to_vec()), ("empty", Vec::new())]);
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(root.join(odd), b"latin-1 name").unwrap();
    std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("outside")).unwrap();
    std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();

    let mut index = Index::default();
    let report = full_scan(root, &mut index);
    let kinds: Vec<ProblemKind> = report.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::NotUtf8]);
    let paths: Vec<&str> = index.iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["empty", "ok.txt"], "links are not followed");

    // Followed on request: the loop is reported, the tree still indexed,
    // and a link out of the root is indexed under its own name.
    let options = Options {
        follow_links: true,
        ..Options::default()
    };
    let mut index = Index::default();
    let report = scan(root, &mut index, &options, &mut |_| {});
    assert!(
        report.problems.iter().any(|p| p.kind == ProblemKind::Loop),
        "{:?}",
        report.problems
    );
    assert!(index.get("ok.txt").is_some());
    assert!(index.get("outside").is_some());
}

#[test]
fn progress_counts_files_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_tree(
        root,
        &[
            ("a", bytes(1, 1000)),
            ("b", bytes(2, 2000)),
            ("c", Vec::new()),
        ],
    );
    let mut seen = Vec::new();
    scan(root, &mut Index::default(), &Options::default(), &mut |p| {
        seen.push(p)
    });
    let last = seen.last().copied().unwrap();
    assert_eq!(
        (last.files_seen, last.files_to_hash, last.files_hashed),
        (3, 3, 3)
    );
    assert_eq!((last.bytes_to_hash, last.bytes_hashed), (3000, 3000));
}
