//! The HTTPS edge of the production smoke test: what a reverse proxy does in front of the app in production (TLS
//! with a certificate, `X-Forwarded-For`, passing everything else through), so the app runs with its production
//! settings (`https://` base URL, `Secure` cookies) on loopback. Its certificate is self-signed, made at start.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A TLS listener for `axum::serve`: each accepted connection is handshaken before it is handed on, and a failed
/// handshake (a client that does not trust the certificate) is dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else { continue };
            if let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(5), self.acceptor.accept(stream)).await
            {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The client's address, as the edge saw it.
#[derive(Clone, Copy)]
struct Peer(SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

#[derive(Clone)]
struct Upstream {
    base: Arc<str>,
    http: reqwest::Client,
}

/// Serves HTTPS on `listener` and passes every request to the app at `upstream` (`http://127.0.0.1:PORT`).
pub async fn serve(listener: TcpListener, upstream: String) -> std::io::Result<()> {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .map_err(std::io::Error::other)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let chain = vec![CertificateDer::from(cert.cert.der().to_vec())];
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(std::io::Error::other)?;
    let router =
        Router::new().fallback(pass).with_state(Upstream { base: upstream.trim_end_matches('/').into(), http });
    let listener = TlsListener { tcp: listener, acceptor: TlsAcceptor::from(Arc::new(config)) };
    axum::serve(listener, router.into_make_service_with_connect_info::<Peer>()).await
}

const HOP_BY_HOP: [&str; 4] = ["connection", "transfer-encoding", "keep-alive", "upgrade"];

async fn pass(
    State(upstream): State<Upstream>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    request: Request<Body>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 << 20).await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut forwarded = upstream.http.request(parts.method.clone(), format!("{}{path}", upstream.base));
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "x-forwarded-for" {
            forwarded = forwarded.header(name, value);
        }
    }
    forwarded = forwarded.header("x-forwarded-for", peer.ip().to_string()).header("x-forwarded-proto", "https");
    let Ok(answer) = forwarded.body(body).send().await else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(name.clone(), value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_else(|_| Bytes::new());
    response.body(Body::from(bytes)).unwrap_or_else(|_| status(StatusCode::BAD_GATEWAY))
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use axum::routing::get;

    #[tokio::test]
    async fn the_edge_terminates_tls_and_names_the_client_to_the_app() {
        let app = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app_addr = app.local_addr().unwrap();
        let echo = axum::Router::new().route(
            "/hello",
            get(|headers: HeaderMap| async move {
                let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).unwrap_or("none").to_string();
                (
                    axum::response::AppendHeaders([("set-cookie", "a=1"), ("set-cookie", "b=2")]),
                    format!("forwarded-for={xff}"),
                )
            }),
        );
        tokio::spawn(async move { axum::serve(app, echo).await });
        let edge = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let edge_addr = edge.local_addr().unwrap();
        tokio::spawn(super::serve(edge, format!("http://{app_addr}")));
        let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        let answer =
            client.get(format!("https://{edge_addr}/hello")).header("x-forwarded-for", "6.6.6.6").send().await.unwrap();
        assert_eq!(answer.headers().get_all("set-cookie").iter().count(), 2, "every cookie passes");
        assert_eq!(answer.text().await.unwrap(), "forwarded-for=127.0.0.1", "the client's own claim is replaced");
        let plain = reqwest::Client::new().get(format!("https://{edge_addr}/hello")).send().await;
        assert!(plain.is_err(), "a client that checks certificates does not trust the self-signed one");
    }
}
