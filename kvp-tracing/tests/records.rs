//! What the layer writes: spans and events as `DIAG_V1` (or cloud-init)
//! records that kvp_report's reader decodes with the right names, kinds,
//! ids, durations, results and payloads.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kvp_report::{CloudInitVariant, Event, Format, Kind, Machine, Outcome};
use kvp_tracing::{Error, KvpLayer, LevelFilter};
use support::{builder, events, payload, temp_pool, AGENT, VM, WAIT};
use tracing::{debug_span, error, info, info_span, instrument, warn};
use tracing_subscriber::layer::SubscriberExt;

/// Runs `body` with a subscriber holding `layer`, then drains the queue.
fn traced(layer: KvpLayer, guard: kvp_tracing::KvpGuard, body: impl FnOnce()) {
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, body);
    let stats = guard.shutdown(WAIT).expect("shutdown drains");
    assert_eq!(stats.dropped(), 0, "{stats:?}");
}

fn finish_of<'a>(events: &'a [Event], name: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.kind == Kind::Finish && e.name == name)
        .unwrap_or_else(|| panic!("no finish of {name}"))
}

fn micros(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros() as u64)
}

#[test]
fn a_span_writes_start_and_finish_around_its_events() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path()).build().expect("build");
    let (mut inner, mut outer) = (Duration::ZERO, Duration::ZERO);
    traced(layer, guard, || {
        let around = Instant::now();
        {
            let _span = info_span!("provision", attempt = 1).entered();
            let within = Instant::now();
            info!(key = "value", "fetched metadata");
            std::thread::sleep(Duration::from_millis(2));
            inner = within.elapsed();
        }
        outer = around.elapsed();
    });

    let events = events(dir.path());
    let shape: Vec<(Kind, &str)> = events.iter().map(|e| (e.kind, e.name.as_str())).collect();
    assert_eq!(
        shape,
        [
            (Kind::Start, "provision"),
            (Kind::Event, "provision"),
            (Kind::Finish, "provision"),
        ]
    );
    let (start, event, finish) = (&events[0], &events[1], &events[2]);
    for e in &events {
        assert_eq!(e.format, Format::DiagV1);
        assert_eq!(e.agent, AGENT);
        assert_eq!(e.vm_id.as_deref(), Some(VM));
        assert_eq!(e.chunks.count, 1);
    }
    assert_eq!(
        start.event_id, finish.event_id,
        "a span's records share an id"
    );
    assert_ne!(start.event_id, event.event_id);
    assert_eq!((start.result.as_ref(), start.duration), (None, None));
    assert_eq!((event.result.as_ref(), event.duration), (None, None));
    assert_eq!(finish.result, Some(Outcome::Success));

    // The span lived around the inner measurement and within the outer
    // one; DIAG_V1 carries whole microseconds.
    let duration = finish.duration.expect("a finish has a duration");
    assert!(micros(inner) <= duration, "{inner:?} <= {duration:?}");
    assert!(duration <= outer, "{duration:?} <= {outer:?}");

    let start = payload(start);
    assert_eq!(start["level"], "INFO");
    assert_eq!(start["target"], module_path!());
    assert_eq!(start["fields"]["attempt"], 1);
    let event = payload(event);
    assert_eq!(event["fields"]["message"], "fetched metadata");
    assert_eq!(event["fields"]["key"], "value");
    assert_eq!(payload(finish)["fields"]["attempt"], 1);
}

#[test]
fn events_outside_spans_are_named_by_their_callsite() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path()).build().expect("build");
    traced(layer, guard, || warn!(code = 7, "disk almost full"));
    let events = events(dir.path());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, Kind::Event);
    assert!(events[0].name.starts_with("event "), "{}", events[0].name);
    assert_eq!(payload(&events[0])["level"], "WARN");
}

#[instrument(err)]
fn configure(ok: bool) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err("bad config".to_owned())
    }
}

#[test]
fn results_come_from_fields_error_events_and_panics() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path()).build().expect("build");
    traced(layer, guard, || {
        drop(info_span!("plain").entered());
        drop(info_span!("explicit-fail", diagnostic.result = "fail").entered());
        info_span!("error-event").in_scope(|| error!("boom"));
        info_span!("overridden", diagnostic.result = "success").in_scope(|| error!("handled"));
        let span = info_span!("error-field", error = tracing::field::Empty);
        span.record("error", "no lease");
        drop(span);
        let late = info_span!("late-result", diagnostic.result = tracing::field::Empty);
        late.record("diagnostic.result", "fail");
        drop(late);
        info_span!("parent").in_scope(|| info_span!("child").in_scope(|| error!("in child")));
        info_span!("above-untracked")
            .in_scope(|| debug_span!("untracked").in_scope(|| error!("deep")));
        let _ = std::panic::catch_unwind(|| {
            let _span = info_span!("panicked").entered();
            panic!("expected by the test");
        });
        let _ = configure(true);
        let _ = configure(false);
        info!(diagnostic.result = "fail", "a failed step");
        info!("a plain step");
    });

    let events = events(dir.path());
    let result = |name: &str| finish_of(&events, name).result.clone();
    let fail = Some(Outcome::Fail);
    let success = Some(Outcome::Success);
    assert_eq!(result("plain"), success);
    assert_eq!(result("explicit-fail"), fail);
    assert_eq!(result("error-event"), fail);
    assert_eq!(result("overridden"), success);
    assert_eq!(result("error-field"), fail);
    assert_eq!(result("late-result"), fail);
    assert_eq!(result("child"), fail);
    assert_eq!(result("parent"), success, "the error belongs to the child");
    assert_eq!(result("above-untracked"), fail);
    assert_eq!(result("panicked"), fail);
    let configures: Vec<_> = events
        .iter()
        .filter(|e| e.kind == Kind::Finish && e.name == "configure")
        .map(|e| e.result.clone())
        .collect();
    assert_eq!(configures, [success.clone(), fail.clone()]);

    let point = |message: &str| {
        events
            .iter()
            .find(|e| e.kind == Kind::Event && payload(e)["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no event {message}"))
            .result
            .clone()
    };
    assert_eq!(point("a failed step"), fail);
    assert_eq!(point("a plain step"), None);
    assert!(events
        .iter()
        .all(|e| e.kind != Kind::Start || e.result.is_none()));
}

#[test]
fn the_level_filter_leaves_out_what_is_more_verbose() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .level(LevelFilter::WARN)
        .build()
        .expect("build");
    let handle = guard.handle();
    traced(layer, guard, || {
        info_span!("quiet").in_scope(|| {
            info!("left out");
            warn!("kept");
        });
    });
    let events = events(dir.path());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name, "quiet", "named after its span all the same");
    assert_eq!(handle.stats().accepted, 1);
}

#[test]
fn a_per_layer_filter_works_too() {
    use tracing_subscriber::Layer;
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .level(LevelFilter::TRACE)
        .build()
        .expect("build");
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(LevelFilter::WARN));
    tracing::subscriber::with_default(subscriber, || {
        info_span!("filtered").in_scope(|| {
            info!("left out");
            error!("kept");
        });
    });
    guard.shutdown(WAIT).expect("shutdown");
    let events = events(dir.path());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, Kind::Event);
}

#[test]
fn cloud_init_format_on_request() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .cloud_init(CloudInitVariant::V26_1)
        .build()
        .expect("build");
    traced(layer, guard, || {
        info_span!("init-local").in_scope(|| info!("hello"));
    });
    let events = events(dir.path());
    let shape: Vec<(Kind, &str, &str)> = events
        .iter()
        .map(|e| (e.kind, e.name.as_str(), e.event_type.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            (Kind::Start, "init-local", "start"),
            (Kind::Event, "init-local", "diagnostic"),
            (Kind::Finish, "init-local", "finish"),
        ]
    );
    for e in &events {
        assert_eq!(e.format, Format::CloudInit(CloudInitVariant::V26_1));
        assert_eq!(e.vm_id.as_deref(), Some(VM));
    }
    assert_eq!(events[2].result, Some(Outcome::Success));
    assert!(events[2].duration.is_some());
}

#[test]
fn threads_share_one_layer_and_lose_nothing() {
    let (dir, _) = temp_pool();
    // Room for every record, so none can be dropped however slow the
    // writer is.
    let (layer, guard) = builder(dir.path())
        .queue_capacity(2048)
        .build()
        .expect("build");
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let dispatch = dispatch.clone();
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..100 {
                        info_span!("worker", t, i).in_scope(|| info!(t, i, "step"));
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().expect("join");
    }
    drop(dispatch);
    let stats = guard.shutdown(WAIT).expect("shutdown");
    assert_eq!((stats.written, stats.dropped()), (1200, 0));
    let events = events(dir.path());
    assert_eq!(events.len(), 1200);
    let ids: HashSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids.len(), 800, "one id per span, one per event");
}

#[test]
fn the_vm_id_is_read_from_the_machine() {
    let root = tempfile::tempdir().expect("tempdir");
    let dmi = root.path().join("sys/class/dmi/id");
    std::fs::create_dir_all(&dmi).expect("mkdir");
    std::fs::create_dir_all(root.path().join("sys/firmware/efi")).expect("mkdir"); // Gen2
    std::fs::write(
        dmi.join("product_uuid"),
        "0E5E179D-5341-478B-8456-FBB90621BDF8\n",
    )
    .expect("write");
    let (dir, _) = temp_pool();
    let (layer, guard) = KvpLayer::builder(AGENT)
        .pool_dir(dir.path())
        .machine(Machine::with_root(root.path()))
        .build()
        .expect("build");
    traced(layer, guard, || info!("hello"));
    let events = events(dir.path());
    assert_eq!(
        events[0].vm_id.as_deref(),
        Some("0e5e179d-5341-478b-8456-fbb90621bdf8")
    );
}

#[test]
fn bad_settings_fail_the_build_not_the_caller() {
    let (dir, _) = temp_pool();
    let missing = Machine::with_root(dir.path().join("no-such-root"));
    let cases = [
        KvpLayer::builder(AGENT)
            .pool_dir(dir.path())
            .machine(missing.clone()),
        KvpLayer::builder("a|b").pool_dir(dir.path()).vm_id(VM),
        KvpLayer::builder("x".repeat(33))
            .pool_dir(dir.path())
            .vm_id(VM),
        KvpLayer::builder(AGENT)
            .pool_dir(dir.path())
            .vm_id("not-a-uuid"),
        KvpLayer::builder(AGENT)
            .pool_dir(dir.path())
            .vm_id("not-a-uuid")
            .cloud_init(CloudInitVariant::V26_1),
    ];
    for builder in cases {
        assert!(matches!(builder.build(), Err(Error::Report(_))));
    }
    assert!(matches!(
        builder(dir.path()).queue_capacity(0).build(),
        Err(Error::InvalidOption {
            option: "queue_capacity",
            ..
        })
    ));
    // cloud-init 22.4 keys carry no VM id, so none is needed.
    let (_layer, guard) = KvpLayer::builder(AGENT)
        .pool_dir(dir.path())
        .machine(missing)
        .cloud_init(CloudInitVariant::V22_4)
        .build()
        .expect("no VM id needed");
    guard.shutdown(WAIT).expect("shutdown");
}
