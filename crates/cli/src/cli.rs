//! The command line's shape (clap). No logic here: see `session.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Stint remembers your workspace sessions (open files and cursors, terminal
/// cwd and history, breakpoints, notes and decisions) and brings them back.
#[derive(Debug, Parser)]
#[command(name = "stint", version, about, long_about = None, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// Where this device keeps its data [env: STINT_DATA_DIR; default: the platform's data directory]
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

const EXAMPLES: &str = "Examples:
  stint session start 'Auth refactor' --tag auth --tag backend
  stint session list
  stint session note 01a2 'Refresh tokens rotate on every use' --decision
  stint session resume 01a2 --open";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Workspace sessions: start, list, change, fork, resume, delete.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Workspaces across devices: which folders here are checkouts of which project.
    ///
    /// A workspace is known by an identity that does not depend on its
    /// path: a git repository's remote and root commit
    /// (`git:github.com/ada/app@903af048f9b2`; every clone and worktree
    /// has it), else a fingerprint of its files (`fp:…`). Each device maps
    /// identities to its own folders, filled in as it sees them (a session
    /// started, `stint watch`, the shell hook in a checkout); a session
    /// started on another device resumes here in this device's folder.
    #[command(
        subcommand,
        after_help = "Examples:\n  stint workspace list\n  stint workspace link 01a2 ~/code/app      # the workspace of session 01a2 is here\n  stint workspace forget 01a2 ~/old/app"
    )]
    Workspace(WorkspaceCommand),
    /// Signs in to a sync server; sessions started before move into your account.
    ///
    /// The login's refresh token goes to the OS keyring when one answers
    /// (`STINT_KEYRING=off` keeps it out), else to a file in the data
    /// directory readable by you only; `stint status` says which.
    #[command(
        after_help = "Examples:\n  stint login https://stint.example.com      # prompts for the email and password\n  echo \"$PASSWORD\" | stint login http://127.0.0.1:8787 --email ada@example.com --password-stdin"
    )]
    Login(Credentials),
    /// Creates an account on a sync server and signs in.
    ///
    /// On a terminal, whatever is not given is asked for (the password
    /// twice); without one, give SERVER, --email and --password-stdin.
    #[command(
        after_help = "Examples:\n  stint register http://127.0.0.1:8787        # prompts for the rest\n  echo \"$PASSWORD\" | stint register http://127.0.0.1:8787 --email ada@example.com --first-name Ada --password-stdin"
    )]
    Register {
        #[command(flatten)]
        credentials: Credentials,
        /// Your given name [prompted on a terminal; may be left empty].
        #[arg(long)]
        first_name: Option<String>,
        /// Your family name [prompted on a terminal; may be left empty].
        #[arg(long)]
        last_name: Option<String>,
    },
    /// Signs out here and revokes this device's login on the server.
    Logout,
    /// The tenants you belong to (your own, and organizations), and which
    /// one this device acts in.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Shows who is signed in.
    Whoami {
        #[command(flatten)]
        output: Output,
    },
    /// Runs in the foreground as the owner of this device's replica, serving
    /// other `stint` commands (and editor plugins) over a local socket.
    #[command(
        after_help = "Run it in the background (e.g. from your login session):\n  stint agent &\nOther commands then go through it; without it they open the replica themselves."
    )]
    Agent,
    /// Speaks the local protocol on stdin and stdout, for editors that can
    /// only start a process: JSON-RPC 2.0, one message per line, relayed
    /// to the agent (or the desktop app), else served here.
    #[command(
        after_help = "Start with a hello that names the protocol version you speak:\n  {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}\nIts answer lists every operation. Messages up to 16 MiB; end of input ends it.\nWithout --agent, and with no agent or desktop app running, this process holds the replica while it runs (other commands wait for it) and does not sync: editors should pass --agent."
    )]
    Rpc {
        /// When neither the agent nor the desktop app runs, start `stint
        /// agent` in the background and relay to it, rather than holding
        /// the replica in this process (what editor plugins want: other
        /// commands keep working while the editor is open).
        #[arg(long)]
        agent: bool,
    },
    /// Shows this device: data, login, server, replica.
    Status {
        #[command(flatten)]
        output: Output,
    },
    /// Syncs with the server: pushes this device's edits, pulls everyone's.
    #[command(
        after_help = "Examples:\n  stint sync            # one round\n  stint sync --watch    # keep syncing (as `stint agent` does)"
    )]
    Sync {
        /// Keep syncing: at once when the server announces changes, with backoff while it is unreachable.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Lists conflicts (values that lost to another device's edit of the same field), or resolves one.
    #[command(
        after_help = "Examples:\n  stint conflicts\n  stint conflicts resolve 01a2 --mine     # my values replace the record's\n  stint conflicts resolve 01a2 --theirs   # keep the record as it is"
    )]
    Conflicts {
        #[command(subcommand)]
        command: Option<ConflictCommand>,
        #[command(flatten)]
        output: Output,
    },
    /// Indexes a workspace folder (every file's size, time and SHA-256) and keeps it current.
    ///
    /// The agent (or the desktop app) watches it from then on, and again
    /// after a restart; without them, this command watches in the
    /// foreground until Ctrl-C. Only files that changed since the last run
    /// are hashed again. `.gitignore`, `.ignore` and `.stintignore` are
    /// honoured; `.git/`, `target/` and `node_modules/` are skipped.
    #[command(
        after_help = "Examples:\n  stint watch                 # the current directory\n  stint watch ~/src/app --once\n  stint watch ~/src/app --stop"
    )]
    Watch {
        /// The workspace folder [default: the current directory].
        path: Option<PathBuf>,
        /// The session to index it for [default: the newest active session of that workspace, started if there is none].
        #[arg(long)]
        session: Option<String>,
        /// Index, then exit (without an agent, the default is to keep watching).
        #[arg(long)]
        once: bool,
        /// Stop watching this workspace.
        #[arg(long, conflicts_with = "once")]
        stop: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Lists a session's files with their checksums, or which sessions touched a file.
    #[command(
        after_help = "Examples:\n  stint files --json\n  stint files --session 01a2 --changed-since 2026-11-01\n  stint files which-sessions src/main.rs\n  stint files which-sessions 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    )]
    Files {
        #[command(subcommand)]
        command: Option<FilesCommand>,
        /// The session [default: the newest active session whose workspace holds the current directory].
        #[arg(long)]
        session: Option<String>,
        /// Only files changed at or after this time (RFC 3339, or a date: 2026-11-01).
        #[arg(long)]
        changed_since: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Prints the shell hook that records each command and its directory
    /// into the active session.
    #[command(after_help = INIT_HELP)]
    Init {
        /// The shell to hook into.
        shell: ShellName,
    },
    /// Records one command into the active session (run by the shell hook).
    #[command(hide = true)]
    Hook {
        /// The working directory after the command ran.
        #[arg(long)]
        cwd: String,
        /// The session to record into [default: the session of the directory's workspace].
        #[arg(long, env = "STINT_SESSION")]
        session: Option<String>,
        /// The command line.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

const INIT_HELP: &str = "Add to your shell's startup file:
  bash (~/.bashrc):                eval \"$(stint init bash)\"
  zsh (~/.zshrc):                  eval \"$(stint init zsh)\"
  fish (~/.config/fish/config.fish): stint init fish | source

Commands are recorded into the session named by $STINT_SESSION, else the
active session whose workspace folder holds the current directory. Commands
typed with a leading space are not recorded; secrets are scrubbed.";

#[derive(Debug, Subcommand)]
pub(crate) enum FilesCommand {
    /// Which sessions touched a file (by path) or a content (by SHA-256): from this device and, signed in, from the server.
    WhichSessions {
        /// A path (absolute, or relative to the current directory), or a SHA-256 in hex.
        target: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConflictCommand {
    /// Resolves a conflict on every device.
    Resolve {
        /// The conflict's id, or its first characters (at least 4).
        id: String,
        /// Take the conflict's values.
        #[arg(long, conflicts_with = "theirs", required_unless_present = "theirs")]
        mine: bool,
        /// Keep the record as it is.
        #[arg(long)]
        theirs: bool,
    },
}

/// The shells `stint init` supports.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ShellName {
    Bash,
    Zsh,
    Fish,
}

/// Where and as whom to sign in.
#[derive(Debug, Args)]
pub(crate) struct Credentials {
    /// The sync server's URL [prompted on a terminal when absent].
    #[arg(value_name = "SERVER")]
    pub(crate) url: Option<String>,
    /// The sync server's URL (the same as SERVER).
    #[arg(long, env = "STINT_SERVER")]
    pub(crate) server: Option<String>,
    /// Your email [prompted when absent].
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// Read the password from the first line of standard input instead of a prompt.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Lists your tenants with your role in each; `*` marks the current one.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Acts in another tenant from now on: sessions listed, started and
    /// synced are that tenant's (each tenant syncs from where it left off).
    Switch {
        /// The tenant's id, or the start of it (see `stint tenant list`).
        id: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// Starts a session for a workspace folder and prints its id.
    #[command(
        after_help = "Examples:\n  stint session start 'Auth refactor' --workspace ~/src/app --tag auth\n  stint session start          # named after the folder and the day"
    )]
    Start {
        /// Its name [default: the workspace folder's name and today's date].
        #[arg(value_name = "NAME", conflicts_with = "name")]
        title: Option<String>,
        /// Its name (the same as NAME).
        #[arg(long)]
        name: Option<String>,
        /// The workspace folder [default: the current directory].
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// A tag (repeat for several).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Lists sessions, newest first.
    #[command(
        after_help = "Examples:\n  stint session list --tag auth\n  stint session list --json | jq '.[].name'"
    )]
    List {
        /// Only sessions of this workspace: a folder (its project's sessions on every device) or an identity.
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Only sessions with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Include archived sessions.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Lists active sessions, most recently changed first.
    Recent {
        /// At most this many.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Shows one session whole.
    #[command(after_help = "ID is the session's id or its first characters (at least 4).")]
    Show {
        /// The session.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Renames, archives or moves a session, or sets its open files and breakpoints.
    #[command(
        after_help = "Examples:\n  stint session update 01a2 --name 'Auth, take two' --archive\n  stint session update 01a2 --tab src/main.rs:42:7 --tab README.md   # the last tab is the active one\n  stint session update 01a2 --breakpoint src/lib.rs:10"
    )]
    Update {
        /// The session.
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// Archive it (hidden from lists and recent).
        #[arg(long, conflicts_with = "unarchive")]
        archive: bool,
        /// Bring it back from the archive.
        #[arg(long)]
        unarchive: bool,
        /// The terminal's working directory.
        #[arg(long)]
        cwd: Option<PathBuf>,
        /// An open file, relative to the workspace, with its cursor: FILE[:LINE[:COLUMN]] (repeat, in tab order; replaces the tabs).
        #[arg(long = "tab", value_name = "FILE:LINE:COLUMN")]
        tabs: Vec<String>,
        /// A breakpoint: FILE:LINE (repeat; replaces the breakpoints).
        #[arg(long = "breakpoint", value_name = "FILE:LINE")]
        breakpoints: Vec<String>,
    },
    /// Notes a fact (or, with --decision, a decision) in a session's memory.
    #[command(
        after_help = "Example:\n  stint session note 01a2 'Use token families' --decision --why 'replays must revoke'"
    )]
    Note {
        /// The session.
        id: String,
        /// What was learned or decided.
        text: String,
        /// It is a decision, not a fact.
        #[arg(long)]
        decision: bool,
        /// Why (for decisions).
        #[arg(long, requires = "decision")]
        why: Option<String>,
    },
    /// Tags a session (or removes a tag).
    Tag {
        /// The session.
        id: String,
        /// The tag: lower-case letters, digits and -_./
        tag: String,
        /// Remove the tag instead.
        #[arg(long)]
        remove: bool,
    },
    /// Forks a session to try another approach; prints the new id.
    #[command(after_help = "Example:\n  stint session fork 01a2 'Auth, with sessions in Redis'")]
    Fork {
        /// The session to fork.
        id: String,
        /// The fork's name [default: the session's name, "(fork)" added].
        #[arg(value_name = "NAME", conflicts_with = "name")]
        title: Option<String>,
        /// The fork's name (the same as NAME).
        #[arg(long)]
        name: Option<String>,
    },
    /// Lists the sessions forked from one.
    Children {
        /// The session.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Lists sessions related to one, with the reasons.
    Related {
        /// The session.
        id: String,
        /// At most this many.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Prints what it takes to bring a session's workspace back, after a preflight.
    ///
    /// The preflight finds this device's checkout of the session's
    /// workspace (asking for it on a terminal when none is known, or
    /// saying which `git clone` makes one), compares the session's files
    /// with it (hashing only what changed since the last index) and says
    /// which files changed, are missing or extra, and whether the branch
    /// or commit differs. Cursors and breakpoints land exactly in files
    /// that match, follow the edit in files that changed, and are dropped
    /// with a warning where the line cannot be found.
    #[command(
        after_help = "With --open, an editor window already open on the workspace (VS Code with\nStint's extension) resumes the session there, and nothing is printed on\nstdout. With no such window, only the command lines are printed, e.g. to run one:\n  eval \"$(stint session resume 01a2 --open | grep '^code ')\"\nWith --json, the session, the preflight and the commands."
    )]
    Resume {
        /// The session.
        id: String,
        /// Resume it in the editor window open on its workspace, else print
        /// only the commands that reopen the files at their cursors.
        #[arg(long)]
        open: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Compares a session's files with this device's checkout of its workspace, changing nothing.
    #[command(
        after_help = "Examples:\n  stint session preflight 01a2\n  stint session preflight 01a2 --json"
    )]
    Preflight {
        /// The session.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Lists the commands recorded into a session, numbered, oldest first.
    #[command(
        after_help = "Examples:\n  stint session history           # the session of the current directory\n  stint session history 01a2 --json"
    )]
    History {
        /// The session [default: the newest active session whose workspace holds the current directory].
        id: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Removes recorded commands from a session, on every device it syncs to.
    #[command(
        after_help = "Example (the numbers are those `stint session history` shows):\n  stint session forget 01a2 --command 12 --command 13"
    )]
    Forget {
        /// The session.
        id: String,
        /// The number of a command in `stint session history` (repeat for several).
        #[arg(long = "command", required = true, value_parser = clap::value_parser!(u32).range(1..))]
        commands: Vec<u32>,
    },
    /// Deletes a session.
    Delete {
        /// The session.
        id: String,
    },
}

/// `stint workspace …`.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkspaceCommand {
    /// Lists the workspaces this device knows, with their folders here.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Says that a folder here is a checkout of a workspace.
    ///
    /// Refused, changing nothing, when the folder does not exist or is a
    /// git checkout of another workspace.
    Link {
        /// The workspace: its identity, or a session of it.
        id: String,
        /// The folder.
        path: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Forgets a folder of a workspace (every folder of it, without PATH).
    Forget {
        /// The workspace: its identity, or a session of it.
        id: String,
        /// The folder.
        path: Option<PathBuf>,
    },
}

/// `--json`.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct Output {
    /// Print JSON, for scripts and editor plugins.
    #[arg(long)]
    pub(crate) json: bool,
}
