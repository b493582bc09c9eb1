//! PNG copies of the SVG figures, rendered with resvg using only the bundled DejaVu Sans
//! (`assets/fonts/`), so the text never depends on the fonts installed on the machine.

use resvg::{tiny_skia, usvg};
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE-dejavu`).
const FONT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/fonts/DejaVuSans.ttf"
));

fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = usvg::Options::default();
        let fonts = options.fontdb_mut();
        fonts.load_font_data(FONT.to_vec());
        let family = "DejaVu Sans";
        fonts.set_sans_serif_family(family);
        fonts.set_serif_family(family);
        fonts.set_monospace_family(family);
        options.font_family = "DejaVu Sans".into();
        options
    })
}

/// The PNG of an SVG figure, at its own size in pixels.
///
/// # Errors
/// `figure <name>: …` when the SVG cannot be parsed or the image not encoded.
pub fn svg_to_png(name: &str, svg: &str) -> anyhow::Result<Vec<u8>> {
    let fail =
        |e: &dyn std::fmt::Display| anyhow::anyhow!("figure {name}: cannot render the PNG: {e}");
    let tree = usvg::Tree::from_str(svg, options()).map_err(|e| fail(&e))?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| fail(&"empty figure"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| fail(&e))
}

/// Both files of figure `stem`: `<stem>.svg` and `<stem>.png`. Every command writes a figure
/// through this, so a later command never leaves a stale sibling of the other format beside
/// the one it rewrote (issue 13: report.md embeds the PNG).
///
/// # Errors
/// As [`svg_to_png`].
pub fn figure_files(stem: &str, svg: String) -> anyhow::Result<[(String, Vec<u8>); 2]> {
    Ok([
        (format!("{stem}.png"), svg_to_png(stem, &svg)?),
        (format!("{stem}.svg"), svg.into_bytes()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_with_the_bundled_font() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">
            <text x="2" y="15" font-family="sans-serif" font-size="14">Ag</text></svg>"#;
        let png = svg_to_png("t", svg).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        // Text was drawn: some pixel is not white.
        let pixmap = tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert!(pixmap.pixels().iter().any(|p| p.red() < 128));
    }
}
