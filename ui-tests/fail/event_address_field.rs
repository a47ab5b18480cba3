use std::net::{IpAddr, SocketAddr};

mod url {
    pub struct Url;
}

#[derive(telemetry::Event)]
struct Connected {
    peer: IpAddr,
    listen: Option<SocketAddr>,
    endpoint: url::Url,
}

fn main() {}
