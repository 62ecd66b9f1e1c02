//! API guarantees that would be breaking changes to lose.

use fleet_selectors::*;

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Selector>();
    send_sync::<CompiledSelector>();
    send_sync::<BoundSelector<'_>>();
    send_sync::<SelectorIndex>();
    send_sync::<TargetSet>();
    send_sync::<SelectorError>();
    send_sync::<Explanation>();
    send_sync::<LabelSelector>();
    send_sync::<LabelSelectorSpec>();
    send_sync::<TargetSelectorSpec>();
    send_sync::<QueryError>();
}
