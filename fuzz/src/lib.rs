//! What the fuzz targets share: one runtime whose clock is paused, so per-request timeouts
//! elapse instantly when a fuzzed peer stalls and no input can hang a run.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// The targets' runtime, built once per process.
pub fn paused_runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
    })
}

use readygate::probe::reason::{Garbled, Reason, Verdict};

/// The properties every wire protocol judge keeps, for any bytes: it never panics; a verdict on
/// a prefix stands whatever follows (the judge reads one reply and nothing after it); with
/// `bounded`, it never asks for more once it has that many bytes; `ready_start` holds for every
/// reply judged ready; and every reason is one printable line with the peer's words capped.
///
/// `data`'s first byte picks the prefix length to check against the whole.
pub fn check_judge(
    judge: fn(&[u8]) -> Verdict,
    data: &[u8],
    bounded: Option<usize>,
    ready_start: fn(&[u8]) -> bool,
) {
    let Some((&split, reply)) = data.split_first() else {
        return;
    };
    let whole = judge(reply);
    let cut = usize::from(split).min(reply.len());
    let prefix = judge(&reply[..cut]);
    if prefix != Verdict::NeedMore && !both_foreign(&prefix, &whole) {
        assert_eq!(prefix, whole, "a verdict on {cut} bytes changed with more");
    }
    if let Some(max) = bounded {
        assert!(
            whole != Verdict::NeedMore || reply.len() < max,
            "still needs more after {} bytes",
            reply.len()
        );
    }
    match whole {
        Verdict::Ready(what) => {
            assert!(ready_start(reply), "ready on {reply:?}");
            assert!(!what.chars().any(char::is_control), "{what:?}");
        }
        Verdict::NotReady(reason) => {
            let text = reason.to_string();
            assert!(
                !text.contains('\n') && !text.chars().any(char::is_control),
                "{text:?}"
            );
            match &reason {
                Reason::Refused { said, .. } => {
                    assert!(!said.is_empty() && said.chars().count() <= 120, "{said:?}")
                }
                Reason::Garbled {
                    problem: Garbled::Foreign(Some(text)),
                    ..
                } => assert!(text.chars().count() <= 120, "{text:?}"),
                Reason::Garbled { .. } => {}
                other => panic!("a judge said {other:?}"),
            }
        }
        Verdict::NeedMore => {}
    }
}

/// Both verdicts say "another protocol": the text quoted from it may differ, as more of it came.
fn both_foreign(a: &Verdict, b: &Verdict) -> bool {
    let foreign = |v: &Verdict| match v {
        Verdict::NotReady(Reason::Garbled {
            expected,
            problem: Garbled::Foreign(_),
        }) => Some(*expected),
        _ => None,
    };
    foreign(a).is_some() && foreign(a) == foreign(b)
}
