//! What the editor plugins' tests share: headless Neovim with the plugin
//! (and a stand-in for nvim-dap), a `stint rpc` kept open as a plugin
//! keeps it, files written into a workspace, the tabs a session holds,
//! and the agents an editor started.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// nvim-dap's `dap.breakpoints` module (`get()`, `set(opts, buf, line)`),
/// which the plugin uses: nvim-dap is on no registry this machine reaches.
pub const DAP: &str = r"
local M = {}
local by_buf = {}
function M.get() return by_buf end
function M.set(opts, buf, line)
  by_buf[buf] = by_buf[buf] or {}
  table.insert(by_buf[buf], { line = line, condition = opts.condition, logMessage = opts.log_message })
end
return M
";

/// Neovim with the plugin, on one data directory.
#[derive(Debug)]
pub struct Nvim {
    /// The data directory (`STINT_DATA_DIR`).
    pub data: PathBuf,
    /// A folder holding `lua/dap/breakpoints.lua` ([`DAP`]).
    pub dap: PathBuf,
}

impl Nvim {
    /// Runs Neovim headless in `cwd` with the plugin (and the nvim-dap
    /// stand-in when `dap`), running `commands` in order, then quitting.
    ///
    /// # Panics
    /// When Neovim fails.
    pub fn run(&self, cwd: &Path, dap: bool, path: Option<&str>, commands: &[&str]) -> Output {
        let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/nvim");
        let bin = crate::binary("stint");
        let path = path.map_or_else(
            || {
                format!(
                    "{}:{}",
                    bin.parent().unwrap().display(),
                    std::env::var("PATH").unwrap_or_default()
                )
            },
            str::to_owned,
        );
        let mut c = Command::new("timeout");
        c.args(["60", "nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n"])
            .args(["--cmd", &format!("set rtp^={}", plugin.display())]);
        if dap {
            c.args(["--cmd", &format!("set rtp^={}", self.dap.display())]);
        }
        // More than Neovim's ten `-c`: a script, one command a line.
        let script = tempfile::Builder::new().suffix(".vim").tempfile().unwrap();
        std::fs::write(script.path(), format!("{}\nqa!\n", commands.join("\n"))).unwrap();
        c.args(["-c", "runtime! plugin/stint.lua"])
            .args(["-c", &format!("source {}", script.path().display())])
            .current_dir(cwd)
            .env("STINT_DATA_DIR", &self.data)
            .env("STINT_KEYRING", "off")
            .env("PATH", path);
        let out = c
            .output()
            .expect("nvim runs (scripts/install-deps.sh installs it)");
        assert!(
            out.status.success(),
            "nvim: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// Writes `text` into `dir/file`, making its folders.
///
/// # Panics
/// On an I/O error.
pub fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A session's tabs as (file, line, column).
///
/// # Panics
/// When `session` is not a session.
#[must_use]
pub fn tabs(session: &Value) -> Vec<(String, u64, u64)> {
    session["editor_state"]["open_tabs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["file_path"].as_str().unwrap().to_owned(),
                t["cursor"]["line"].as_u64().unwrap(),
                t["cursor"]["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A folder made, then named by its real path.
pub trait CanonicalizeOrCreate {
    /// The folder, made, then its real path.
    fn canonicalize_or_create(self) -> PathBuf;
}

impl CanonicalizeOrCreate for PathBuf {
    /// The folder, made, then its real path (`/tmp` may be a link).
    fn canonicalize_or_create(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self.canonicalize().unwrap()
    }
}

/// The `stint agent` processes serving the data directory `dir`.
///
/// # Panics
/// When `/proc` cannot be read.
#[must_use]
pub fn agents_of(dir: &Path) -> Vec<u32> {
    let wanted = format!("STINT_DATA_DIR={}", dir.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let (Ok(cmdline), Ok(environ)) = (
            std::fs::read(entry.path().join("cmdline")),
            std::fs::read(entry.path().join("environ")),
        ) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_agent = args.get(1).is_some_and(|a| *a == b"agent");
        let serves = environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes());
        if is_agent && serves {
            found.push(pid);
        }
    }
    found
}

/// A Neovim command writing what Neovim shows to `path` as JSON: the cwd,
/// the current file, the cursor, the listed buffers, and the breakpoints
/// of the nvim-dap stand-in as `FILE:LINE:CONDITION:LOG`, sorted.
#[must_use]
pub fn report_command(path: &Path) -> String {
    format!(
        "lua local out = {{ cwd = vim.fn.getcwd(), current = vim.fn.expand('%:.'), cursor = vim.api.nvim_win_get_cursor(0), buffers = {{}}, breakpoints = {{}} }} \
         for _, b in ipairs(vim.api.nvim_list_bufs()) do if vim.bo[b].buflisted then \
           table.insert(out.buffers, vim.fn.fnamemodify(vim.api.nvim_buf_get_name(b), ':.')) end end \
         for b, list in pairs(require('dap.breakpoints').get()) do for _, bp in ipairs(list) do \
           table.insert(out.breakpoints, vim.fn.fnamemodify(vim.api.nvim_buf_get_name(b), ':.') .. ':' .. bp.line .. ':' .. (bp.condition or '') .. ':' .. (bp.logMessage or '')) end end \
         table.sort(out.breakpoints) \
         vim.fn.writefile({{ vim.fn.json_encode(out) }}, '{}')",
        path.display()
    )
}

/// `stint rpc` kept open, as an editor's plugin keeps it: lines in, and
/// lines out (answers, and notices to a window that listens) read as
/// they come.
#[derive(Debug)]
pub struct Plugin {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Plugin {
    /// `stint rpc` on the device in `dir`.
    ///
    /// # Panics
    /// If it cannot be started.
    #[must_use]
    pub fn start(dir: &Path) -> Self {
        let mut c = crate::device::command(dir);
        c.arg("rpc")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().expect("stint rpc starts");
        let out = std::io::BufReader::new(child.stdout.take().expect("its stdout"));
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(out).map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// Sends one line.
    ///
    /// # Panics
    /// If `stint rpc` has gone.
    pub fn send(&mut self, line: &str) {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().expect("its stdin");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("stint rpc reads");
        stdin.flush().expect("stint rpc reads");
    }

    /// The next line it writes, within 30 s.
    ///
    /// # Panics
    /// If none comes, or it is not JSON.
    pub fn read(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("stint rpc says something within 30 s");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    /// Sends `line`, and reads the next line.
    pub fn ask(&mut self, line: &str) -> Value {
        self.send(line);
        self.read()
    }

    /// Says `hello`, then listens as a window of `editor` on `folders`:
    /// whether the owner will tell it of resumes.
    pub fn listen(&mut self, editor: &str, folders: &[&Path]) -> Value {
        let hello = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "hello", "params": {"protocol": 1}});
        assert_eq!(self.ask(&hello.to_string())["result"]["protocol"], 1);
        let listen = serde_json::json!({
            "jsonrpc": "2.0", "id": 2, "method": "listen",
            "params": {"editor": editor, "folders": folders},
        });
        self.ask(&listen.to_string())["result"].clone()
    }

    /// How it ended, its input still open (the owner went away), within
    /// 30 s.
    ///
    /// # Panics
    /// If it is still running then.
    #[must_use]
    pub fn ended_by_itself(mut self) -> std::process::ExitStatus {
        let input = self.child.stdin.take();
        let (tx, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.child.wait());
        });
        let status = ended
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("stint rpc ends within 30 s, its input still open")
            .expect("stint rpc can be waited for");
        drop(input);
        status
    }

    /// Ends its input: what it still had to say, and how it ended.
    ///
    /// # Panics
    /// If it cannot be waited for.
    #[must_use]
    pub fn close(mut self) -> (Vec<Value>, std::process::ExitStatus) {
        drop(self.child.stdin.take());
        let ended = self.child.wait().expect("stint rpc ends");
        let rest = self
            .lines
            .iter()
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect();
        (rest, ended)
    }
}
