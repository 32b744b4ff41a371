//! Who the client is, for per-client limits: the TCP peer, or behind a configured trusted proxy the address that
//! proxy saw. An address a client wrote itself into `X-Forwarded-For` never counts.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`: addresses or CIDR ranges, comma-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `TRUSTED_PROXIES`; an empty list trusts nobody, so the TCP peer is the client.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| item.to_string())?,
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the right-most `X-Forwarded-For` hop
/// that is not itself a trusted proxy (hops further left were written by whoever the client is, and may be forged).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.trusts(peer) {
        return peer;
    }
    let mut nearest = peer;
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    let hops: Vec<&str> = hops.collect();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // A trusted proxy appends what it saw; text that is no address is nobody's, so the proxy answers for it.
            return nearest;
        };
        if !trusted.trusts(ip) {
            return ip;
        }
        nearest = ip;
    }
    nearest
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The key a client's limits count under: an IPv4 address, or an IPv6 client's /64, since one subscriber usually
/// holds a whole /64 and could otherwise take a new address per request.
pub fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = IpNet::new(IpAddr::V6(v6), 64).expect("64 is a valid IPv6 prefix length").trunc();
            prefix.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(client_address(ip("198.51.100.7"), &forwarded(&["203.0.113.9"]), &none), ip("198.51.100.7"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_address_it_saw_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let peer = ip("10.0.0.5");
        assert_eq!(client_address(peer, &forwarded(&["203.0.113.9"]), &trusted), ip("203.0.113.9"));
        // A client that writes its own header gets the proxy's append after it: the forged part is ignored.
        assert_eq!(client_address(peer, &forwarded(&["1.2.3.4, 203.0.113.9"]), &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(peer, &forwarded(&["1.2.3.4", "203.0.113.9"]), &trusted), ip("203.0.113.9"));
        // Two proxies in a row: the right-most untrusted hop.
        assert_eq!(client_address(peer, &forwarded(&["203.0.113.9, 10.1.2.3"]), &trusted), ip("203.0.113.9"));
        // No header, or garbage where the proxy's entry should be: the proxy itself.
        assert_eq!(client_address(peer, &HeaderMap::new(), &trusted), peer);
        assert_eq!(client_address(peer, &forwarded(&["203.0.113.9, unknown"]), &trusted), peer);
        assert_eq!(client_address(peer, &forwarded(&["[2001:db8::1]:443"]), &trusted), ip("2001:db8::1"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_and_anything_else_is_refused() {
        assert_eq!(TrustedProxies::parse("").unwrap(), TrustedProxies::default());
        assert!(TrustedProxies::parse("10.0.0.0/8,::1,192.168.1.1").is_ok());
        assert_eq!(TrustedProxies::parse("10.0.0.0/8,proxy.local").unwrap_err(), "proxy.local");
    }

    #[test]
    fn ipv6_clients_are_limited_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), limit_key(ip("2001:db8:1:2:bbbb::9")));
        assert_ne!(limit_key(ip("2001:db8:1:2::1")), limit_key(ip("2001:db8:1:3::1")));
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(limit_key(ip("203.0.113.9")), "203.0.113.9");
        let peer = ip("::ffff:203.0.113.9");
        assert_eq!(limit_key(client_address(peer, &HeaderMap::new(), &TrustedProxies::default())), "203.0.113.9");
    }
}
