//! What the editor plugins' tests share: headless Neovim with the plugin
//! (and a stand-in for nvim-dap), files written into a workspace, the
//! tabs a session holds, and the agents an editor started.

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
