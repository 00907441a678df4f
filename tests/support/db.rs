//! Real servers from Debian for the dependency tests: redis-server, PostgreSQL and MariaDB, each
//! a throwaway instance of the test's own (its own directory, nothing kept), started inside the
//! test's network namespace on its default port. scripts/install-e2e.sh installs them.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::netns::{which, Netns};
use super::os::{can_run, kill, temp_dir};
use super::process::{eventually, set_up, wait_with_deadline};

/// readygate inside `ns` waiting for the dependency at `url` alone (`--mesh none`: no sidecar
/// stage), with `extra` arguments.
pub fn gate(ns: &Netns, url: &str, extra: &[&str]) -> Command {
    let mut cmd = ns.readygate();
    cmd.args(["--mesh", "none", "--url", url]).args(extra);
    cmd
}

/// How long a server may take to start or to say what a test waits for.
pub const SERVER_DEADLINE: Duration = Duration::from_secs(30);

/// A running server; killed when dropped (and its directory removed, if it owns one).
pub struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    /// The directory to remove with it: a Redis instance's; a PostgreSQL or MariaDB data
    /// directory is its own struct's, which may start a server on it again.
    owned: Option<PathBuf>,
}

impl Daemon {
    /// Starts `cmd` with its output in `dir/server.log`; removes `dir` when dropped if `owns`.
    fn spawn(mut cmd: Command, dir: &Path, owns: bool) -> Daemon {
        let log = dir.join("server.log");
        let out = File::create(&log).expect("create the server log");
        let err = out.try_clone().expect("clone the log handle");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        Daemon {
            child: Some(child),
            log,
            owned: owns.then(|| dir.to_path_buf()),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the server's log has a line containing `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        eventually(
            &format!("{needle:?} in the server's log"),
            SERVER_DEADLINE,
            || self.log().contains(needle),
        );
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: i32) {
        kill(self.pid(), signal);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(None) = child.try_wait() {
                // SIGKILL: nothing of a throwaway instance needs to be saved.
                let _ = child.kill();
            }
            wait_with_deadline(&mut child, SERVER_DEADLINE);
        }
        if let Some(dir) = &self.owned {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// `program`'s path if it is installed; else `None`, after `can_run` (a failure under CI).
fn installed(program: &str, package: &str) -> Option<PathBuf> {
    let path = which(program);
    can_run(
        &format!("{program} (Debian's {package}: scripts/install-e2e.sh)"),
        path.is_some(),
    )
    .then_some(path)
    .flatten()
}

/// A redis-server on `bind`:6379 inside `ns` with `args` added; nothing is persisted.
pub fn redis(ns: &Netns, name: &str, bind: &str, args: &[&str]) -> Option<Daemon> {
    let program = installed("redis-server", "redis-server")?;
    let dir = temp_dir(name);
    let mut cmd = ns.command(program);
    cmd.args(["--bind", bind, "--port", "6379", "--save", ""])
        .args(["--appendonly", "no", "--protected-mode", "no", "--dir"])
        .arg(&dir)
        .args(args);
    Some(Daemon::spawn(cmd, &dir, true))
}

/// PostgreSQL's server programs: the newest /usr/lib/postgresql/N/bin.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// A PostgreSQL data directory, made by initdb as the `postgres` user (the server refuses to
/// run as root).
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
}

impl Postgres {
    /// A new cluster whose TCP clients authenticate with `auth` (`trust`, `scram-sha-256`),
    /// except the `postgres` superuser, trusted so tests can hold sessions.
    pub fn init(name: &str, auth: &str) -> Option<Postgres> {
        let bin = postgres_bin();
        if !can_run(
            "PostgreSQL (Debian's postgresql: scripts/install-e2e.sh)",
            bin.is_some(),
        ) {
            return None;
        }
        let bin = bin?;
        // Under /tmp, not the build's scratch directory: the postgres user must be able to
        // reach it, and a checkout under /root is not reachable.
        let dir = std::env::temp_dir().join(format!(
            "readygate-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        let data = dir.join("data");
        fs::create_dir(&data).expect("mkdir data");
        as_postgres(&dir);
        as_postgres(&data);
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).expect("chmod data");
        set_up(
            "initdb",
            postgres_user(&bin.join("initdb"))
                .args(["--no-sync", "--auth=trust", "-U", "postgres", "-D"])
                .arg(&data),
        );
        let hba = format!(
            "host all postgres 127.0.0.0/8 trust\nhost all all 127.0.0.0/8 {auth}\n\
             host all all ::1/128 {auth}\n"
        );
        fs::write(data.join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        Some(Postgres { bin, dir })
    }

    /// The server on 127.0.0.1:5432 inside `ns`, with `settings` (`name=value`) added; no
    /// Unix socket, no fsync, connections logged.
    pub fn start(&self, ns: &Netns, settings: &[&str]) -> Daemon {
        let mut cmd = ns.command("setpriv");
        cmd.args([
            "--reuid",
            "postgres",
            "--regid",
            "postgres",
            "--clear-groups",
        ])
        .arg(self.bin.join("postgres"))
        .arg("-D")
        .arg(self.dir.join("data"))
        .args(["-h", "127.0.0.1", "-p", "5432"]);
        for setting in [
            "unix_socket_directories=",
            "fsync=off",
            "log_connections=on",
        ]
        .iter()
        .chain(settings)
        {
            cmd.args(["-c", setting]);
        }
        Daemon::spawn(cmd, &self.dir, false)
    }

    /// A psql session as `postgres` inside `ns`, running `sql` (such as a long pg_sleep).
    pub fn session(&self, ns: &Netns, sql: &str) -> Child {
        let psql = self.bin.join("psql");
        let psql = if psql.is_file() { psql } else { "psql".into() };
        ns.command(psql)
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start psql")
    }
}

fn as_postgres(path: &Path) {
    let status = Command::new("chown")
        .args(["postgres:postgres"])
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success(), "chown postgres {}", path.display());
}

/// `program` run as the `postgres` user.
fn postgres_user(program: &Path) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid",
        "postgres",
        "--regid",
        "postgres",
        "--clear-groups",
    ])
    .arg(program)
    .stdin(Stdio::null());
    cmd
}

/// A MariaDB data directory made by mariadb-install-db.
pub struct Mariadb {
    server: PathBuf,
    dir: PathBuf,
}

/// Small InnoDB files: a throwaway instance needs no 96 MiB redo log.
const INNODB_SMALL: [&str; 2] = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=8M"];

impl Mariadb {
    /// A new data directory.
    pub fn install(name: &str) -> Option<Mariadb> {
        let install = installed("mariadb-install-db", "mariadb-server")?;
        let server = installed("mariadbd", "mariadb-server")?;
        let dir = temp_dir(name);
        // A temporary directory of its own: the bootstrap's temporary tables in the shared /tmp
        // were seen deleted under it while another instance ran ("Error on delete of
        // '/tmp/#sql-temptable-...'").
        fs::create_dir_all(dir.join("tmp")).expect("mkdir tmp");
        set_up(
            "mariadb-install-db",
            Command::new(install)
                .args(["--no-defaults", "--user=root", "--skip-test-db"])
                .arg("--auth-root-authentication-method=normal")
                .arg(format!("--datadir={}", dir.join("data").display()))
                .arg(format!("--tmpdir={}", dir.join("tmp").display()))
                .args(INNODB_SMALL),
        );
        Some(Mariadb { server, dir })
    }

    /// The server on 127.0.0.1:3306 inside `ns`, with `args` added.
    pub fn start(&self, ns: &Netns, args: &[&str]) -> Daemon {
        let path = |name: &str| self.dir.join(name).display().to_string();
        let mut cmd = ns.command(&self.server);
        cmd.args(["--no-defaults", "--user=root", "--skip-log-bin"])
            .arg(format!("--datadir={}", path("data")))
            .arg(format!("--socket={}", path("mysqld.sock")))
            .arg(format!("--pid-file={}", path("mysqld.pid")))
            .arg(format!("--tmpdir={}", path("tmp")))
            .args(["--bind-address=127.0.0.1", "--port=3306"])
            .args(INNODB_SMALL)
            .args(args);
        Daemon::spawn(cmd, &self.dir, false)
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
