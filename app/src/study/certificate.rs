//! The QR code on a 审验证明, drawn on the server by the `qrcode` crate as an inline SVG.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG QR code for `url`, with medium error correction so a creased printout still scans.
pub fn qr_svg(url: &str) -> String {
    match QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(160, 160)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(e) => {
            // Only data far longer than any verification URL can fail.
            tracing::error!(error = %e, "QR code could not be drawn");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_code_is_an_svg_that_grows_with_its_data() {
        let short = super::qr_svg("https://x.cn/verify/0123456789abcdef0123456789abcdef");
        assert!(short.starts_with("<?xml") && short.contains("<svg"), "{short}");
        let long = super::qr_svg(&format!("https://x.cn/verify/{}", "a".repeat(300)));
        assert_ne!(short.len(), long.len());
    }
}
