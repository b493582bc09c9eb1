//! The load generator speaks every protocol the server does: the same images sent by
//! `pcee-load`'s engine as `/v1/classify` raw pixels, as Open Inference Protocol binary tensor
//! data and as its JSON form leave at the same exits (the built-in model decides alike whatever
//! the batch), every request answered.
use crate::common;

use common::{fixture, options, pixels, start};
use pcee_serve::load::{run, Api, Arrival, LoadOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_gives_the_same_exits() {
    let f = fixture();
    let server = start(&f.pcee, options()).await;
    let mut histograms = Vec::new();
    for api in [Api::V1Raw, Api::OipBinary, Api::OipJson] {
        let report = run(LoadOptions {
            addr: server.addr,
            images: pixels(0..120),
            per_request: 8,
            delta: Some(0.9),
            arrival: Arrival::Closed { clients: 3 },
            requests: 15,
            duration: Duration::from_secs(60),
            seed: 0,
            api,
            model: "msdnet-small".into(),
        })
        .await
        .unwrap();
        assert_eq!(
            (report.ok, report.failed),
            (15, 0),
            "{api:?}: {:?}",
            report.last_error
        );
        histograms.push(report.exits.clone());
    }
    assert_eq!(histograms[0].iter().sum::<u64>(), 120);
    assert_eq!(histograms[0], histograms[1]);
    assert_eq!(histograms[0], histograms[2]);
    server.stop().await.unwrap();
}
