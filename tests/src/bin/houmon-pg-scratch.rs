//! `houmon-pg-scratch -- CMD [ARGS...]`: run CMD with `HOUMON_PG_URL` naming a throwaway
//! PostgreSQL cluster (see `houmon_tests::pg_cluster`), then stop and remove the cluster and
//! exit with CMD's status. With `HOUMON_PG_URL` already set, CMD runs against that server.

use houmon_tests::pg_cluster::PgCluster;
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).skip_while(|a| a == "--").collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("usage: houmon-pg-scratch -- CMD [ARGS...]");
        std::process::exit(2);
    };
    let cluster = if std::env::var_os("HOUMON_PG_URL").is_some() {
        None
    } else {
        match PgCluster::start() {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("houmon-pg-scratch: PostgreSQL を起動できません / cannot start PostgreSQL: {e}");
                std::process::exit(2);
            }
        }
    };
    let mut c = Command::new(cmd);
    c.args(rest);
    if let Some(cl) = &cluster {
        c.env("HOUMON_PG_URL", cl.url());
    }
    let code = match c.status() {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("houmon-pg-scratch: {cmd}: {e}");
            127
        }
    };
    drop(cluster);
    std::process::exit(code);
}
