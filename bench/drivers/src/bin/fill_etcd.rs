//! Fills an etcd with Secrets as the API server stores them, for
//! bench/etcd.sh: `fill_etcd URL COUNT KEY_BASE64` writes COUNT Secrets
//! under /registry/secrets/ns-<i % 1000>/secret-<i>, nine in ten sealed
//! with aesgcm under the key name `k1`, one in ten plaintext protobuf.
//! Plain HTTP (the benchmark's etcd listens on loopback without TLS).

use base64::Engine as _;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: fill_etcd URL COUNT KEY_BASE64");
        std::process::exit(2);
    }
    let count: usize = args[2].parse().expect("COUNT is a number");
    let key = base64::engine::general_purpose::STANDARD
        .decode(&args[3])
        .expect("KEY_BASE64 is base64");
    let options = palisade_etcd::EtcdOptions {
        endpoints: vec![args[1].clone()],
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut etcd = palisade_etcd::Etcd::connect(&options)
            .await
            .expect("etcd answers");
        for i in 0..count {
            let (ns, name) = (format!("ns-{}", i % 1000), format!("secret-{i}"));
            let k = format!("/registry/secrets/{ns}/{name}");
            let token = format!("token-{i:08}-0123456789abcdef0123456789abcdef");
            let plain = palisade_etcd::envelope::encode_secret(
                &ns,
                &name,
                &[("token", token.as_bytes()), ("ca.crt", &[b'x'; 600])],
            );
            let value = if i % 10 == 0 {
                plain
            } else {
                let mut v = b"k8s:enc:aesgcm:v1:k1:".to_vec();
                v.extend(palisade_etcd::decrypt::seal(
                    palisade_etcd::stored::Provider::Aesgcm,
                    &key,
                    &plain,
                    k.as_bytes(),
                ));
                v
            };
            etcd.put(k.as_bytes(), &value).await.expect("put");
        }
    });
}
