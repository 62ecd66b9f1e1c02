//! Public types are `Send + Sync + Debug`: policy sets are shared across rollout workers.

fn assert_send_sync<T: Send + Sync + std::fmt::Debug>() {}

#[test]
fn public_types_are_send_sync_debug() {
    use fleet_policy::*;
    assert_send_sync::<PolicySet>();
    assert_send_sync::<Decision>();
    assert_send_sync::<RuleResult>();
    assert_send_sync::<Missing>();
    assert_send_sync::<Approval>();
    assert_send_sync::<StaticDirectory>();
    assert_send_sync::<Override>();
    assert_send_sync::<Artifact>();
    assert_send_sync::<Evidence>();
    assert_send_sync::<PolicyError>();
    assert_send_sync::<LoadProblem>();
    assert_send_sync::<Cron>();
    assert_send_sync::<CronError>();
    assert_send_sync::<BulkDecision>();
    assert_send_sync::<Summary>();
    assert_send_sync::<ConcurrencyLimit>();
    assert_send_sync::<Verifier>();
    assert_send_sync::<spec::PolicyFile>();
}
