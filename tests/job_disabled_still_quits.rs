//! READYGATE_DISABLED skips the wait but never the quit: a Job run without waiting still
//! needs its sidecar shut down afterwards.

mod support;

use support::proxy::{Proxy, QuitReply};
use support::{readygate, run, sh};

#[test]
fn disabled_skips_the_wait_but_still_quits_the_sidecar() {
    // Never ready: had readygate waited, it would have timed out instead of running the command.
    let proxy = Proxy::start(false, QuitReply::Ok);
    let result = run(readygate()
        .args(proxy.args())
        .args(["-t", "5s", "-S", "--"])
        .args(sh("exit 5"))
        .env("READYGATE_DISABLED", "true"));
    result.assert_code(5);
    assert_eq!(proxy.probes(), 0, "no readiness probe when disabled");
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}
