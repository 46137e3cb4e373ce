//! A Go program with module dependencies, built with the Go toolchain for
//! the tests: the build-info reader compares what it reads with
//! `go version -m`, the end-to-end tests put the binary in an image.

/// A Go binary built by the test suite: the module `example.com/fixture`
/// requiring `golang.org/x/text` (v0.6.0 replaced by v0.7.0) and
/// `example.com/oldtext` (replaced by `example.com/textfork` v1.2.3), served
/// from a file-system GOPROXY made from Debian's `golang-golang-x-text-dev`
/// sources (`/usr/share/gocode/src/golang.org/x/text`). Everything (proxy,
/// module, caches, binary) lives under `dir`; `stripped` builds with
/// `-trimpath -ldflags="-s -w"`. Needs `go` on the PATH; panics when the
/// build fails. A second call with the same `dir` and `stripped` returns the
/// binary already built.
pub fn build(dir: &std::path::Path, stripped: bool) -> std::path::PathBuf {
    use std::fs;
    use std::io::Write as _;
    let bin = dir.join(if stripped {
        "fixture-stripped"
    } else {
        "fixture"
    });
    if bin.is_file() {
        return bin;
    }
    let src =
        std::path::Path::new("/usr/share/gocode/src/golang.org/x/text/transform/transform.go");
    let transform = fs::read(src).expect("golang-golang-x-text-dev sources");
    let proxy = dir.join("proxy");
    let publish = |module: &str, version: &str| {
        let v = proxy.join(module).join("@v");
        fs::create_dir_all(&v).expect("proxy dir");
        let go_mod = format!("module {module}\n\ngo 1.17\n");
        fs::write(v.join(format!("{version}.mod")), &go_mod).expect("write .mod");
        fs::write(
            v.join(format!("{version}.info")),
            format!("{{\"Version\":\"{version}\",\"Time\":\"2023-01-01T00:00:00Z\"}}"),
        )
        .expect("write .info");
        let zip_file = fs::File::create(v.join(format!("{version}.zip"))).expect("create .zip");
        let mut z = zip::ZipWriter::new(zip_file);
        let opts = zip::write::SimpleFileOptions::default();
        let prefix = format!("{module}@{version}");
        z.start_file(format!("{prefix}/go.mod"), opts)
            .expect("zip go.mod");
        z.write_all(go_mod.as_bytes()).expect("zip go.mod");
        z.start_file(format!("{prefix}/transform/transform.go"), opts)
            .expect("zip transform.go");
        z.write_all(&transform).expect("zip transform.go");
        z.finish().expect("finish zip");
        let mut list = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(v.join("list"))
            .expect("open list");
        writeln!(list, "{version}").expect("write list");
    };
    if !proxy.is_dir() {
        publish("golang.org/x/text", "v0.6.0");
        publish("golang.org/x/text", "v0.7.0");
        publish("example.com/textfork", "v1.2.3");
    }
    let app = dir.join(if stripped { "app-stripped" } else { "app" });
    fs::create_dir_all(&app).expect("app dir");
    fs::write(
        app.join("go.mod"),
        "module example.com/fixture\n\ngo 1.19\n\nrequire (\n\tgolang.org/x/text v0.6.0\n\texample.com/oldtext v1.0.0\n)\n\nreplace golang.org/x/text v0.6.0 => golang.org/x/text v0.7.0\n\nreplace example.com/oldtext v1.0.0 => example.com/textfork v1.2.3\n",
    )
    .expect("write go.mod");
    fs::write(
        app.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\tfork \"example.com/oldtext/transform\"\n\t\"golang.org/x/text/transform\"\n)\n\nfunc main() {\n\tfmt.Println(transform.Nop, fork.Nop)\n}\n",
    )
    .expect("write main.go");
    let mut cmd = std::process::Command::new("go");
    cmd.current_dir(&app)
        .env("GOPROXY", format!("file://{}", proxy.display()))
        .env("GOSUMDB", "off")
        .env("GONOSUMDB", "*")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod -modcacherw")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"))
        .env("HOME", dir)
        .args(["build", "-o"])
        .arg(&bin);
    if stripped {
        cmd.args(["-trimpath", "-ldflags=-s -w"]);
    }
    let out = cmd.arg(".").output().expect("run go build");
    assert!(
        out.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}
