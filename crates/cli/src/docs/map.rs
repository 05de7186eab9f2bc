//! The context map as SVG: each service a box marked core, supporting or generic (and read
//! model where it is one); an arrow from publisher to subscriber for pub/sub, labelled with the
//! event types and the correlation key; a dashed arrow from caller to callee for each
//! request-response call behind a circuit breaker.

use super::{SystemModel, event_words, words, xml};
use kernel::manifest::Domain;
use kernel::model::{Contract, Role};
use std::f64::consts::PI;
use std::fmt::Write as _;

const WIDTH: f64 = 1280.0;
const HEIGHT: f64 = 1000.0;
const BOX_W: f64 = 210.0;
const BOX_H: f64 = 74.0;

fn style(domain: Domain) -> (&'static str, &'static str, &'static str) {
    match domain {
        Domain::Core => ("#fff8e1", "#f9a825", "core 핵심"),
        Domain::Supporting => ("#e3f2fd", "#1e88e5", "supporting 지원"),
        Domain::Generic => ("#f5f5f5", "#757575", "generic 일반"),
    }
}

/// Where the segment from the centre of a box towards `(dx, dy)` leaves the box.
fn border(dx: f64, dy: f64) -> f64 {
    let sx = if dx.abs() > f64::EPSILON {
        (BOX_W / 2.0 + 8.0) / dx.abs()
    } else {
        f64::INFINITY
    };
    let sy = if dy.abs() > f64::EPSILON {
        (BOX_H / 2.0 + 8.0) / dy.abs()
    } else {
        f64::INFINITY
    };
    sx.min(sy)
}

/// The context map of `model`.
pub(crate) fn render(model: &SystemModel) -> String {
    let count = model.parts.len().max(1) as f64;
    let (cx, cy) = (WIDTH / 2.0, HEIGHT / 2.0 + 30.0);
    let (rx, ry) = (WIDTH / 2.0 - 200.0, HEIGHT / 2.0 - 170.0);
    let centres: Vec<(f64, f64)> = (0..model.parts.len())
        .map(|i| {
            let angle = -PI / 2.0 + 2.0 * PI * i as f64 / count;
            (cx + rx * angle.cos(), cy + ry * angle.sin())
        })
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="'Noto Sans KR', 'Noto Sans CJK KR', 'Malgun Gothic', sans-serif" role="img" aria-labelledby="map-title">
<title id="map-title">{system}: context map · 컨텍스트 맵</title>
<defs>
<marker id="map-pub" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#e65100"/></marker>
<marker id="map-sync" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c2185b"/></marker>
<style>.pub{{stroke:#e65100;stroke-width:1.6;fill:none}} .sync{{stroke:#c2185b;stroke-width:2.4;stroke-dasharray:8 5;fill:none}} .label{{font-size:11px}}</style>
</defs>
<rect width="100%" height="100%" fill="#fafafa"/>
<text x="30" y="34" font-size="20" font-weight="700">{system}: context map · 컨텍스트 맵</text>
<text x="30" y="58" font-size="12">pub/sub (이벤트 발행·구독, subject = {key}) <tspan fill="#e65100">━━▶</tspan>   request-response behind a circuit breaker (동기 호출 · 서킷 브레이커) <tspan fill="#c2185b">╍╍▶</tspan></text>
"##,
        system = xml(&model.manifest.name),
        key = xml(&model.manifest.correlation_key),
    );
    // Edges first, then their labels, then the boxes on top.
    let mut labels = String::new();
    for (to, subscriber) in model.parts.iter().enumerate() {
        for (from, publisher) in model.parts.iter().enumerate() {
            let events: Vec<Contract> = subscriber
                .model
                .reacts_to
                .iter()
                .filter(|c| publisher.model.publishes().contains(c))
                .copied()
                .collect();
            if events.is_empty() || from == to {
                continue;
            }
            let names: Vec<String> = events.iter().map(event_words).collect();
            edge(
                (&mut out, &mut labels),
                centres[from],
                centres[to],
                "pub",
                &names,
                &format!("subject = {}", model.manifest.correlation_key),
            );
        }
        for callee in &subscriber.model.calls {
            if let Some(target) = model.parts.iter().position(|p| p.name() == callee) {
                edge(
                    (&mut out, &mut labels),
                    centres[to],
                    centres[target],
                    "sync",
                    &["request-response".to_owned()],
                    "circuit breaker · 503 fallback",
                );
            }
        }
    }
    out.push_str(&labels);
    for (part, &(x, y)) in model.parts.iter().zip(&centres) {
        let (fill, stroke, tag) = style(part.entry.domain);
        let role = match part.model.role {
            Role::Context if part.external() => " · external 외부",
            Role::Context => "",
            Role::ReadModel => " · read model 조회 모델",
            Role::Notifier => " · notifier 알림",
        };
        let _ = write!(
            out,
            r#"<g><rect x="{:.0}" y="{:.0}" width="{BOX_W}" height="{BOX_H}" rx="10" fill="{fill}" stroke="{stroke}" stroke-width="3"/><text x="{x:.0}" y="{:.0}" text-anchor="middle" font-size="15" font-weight="700">{} · {}</text><text x="{x:.0}" y="{:.0}" text-anchor="middle" font-size="11">{tag}{role}</text></g>"#,
            x - BOX_W / 2.0,
            y - BOX_H / 2.0,
            y - 6.0,
            xml(&words(part.name())),
            xml(&model.korean(part.name())),
            y + 16.0,
        );
    }
    out.push_str("</svg>\n");
    out
}

fn edge(
    (out, labels): (&mut String, &mut String),
    from: (f64, f64),
    to: (f64, f64),
    class: &str,
    lines: &[String],
    note: &str,
) {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let length = (dx * dx + dy * dy).sqrt().max(1.0);
    // Two directions between the same pair run side by side, each on its own right; a call
    // runs further out than the events between the same pair.
    let side = if class == "sync" { 34.0 } else { 14.0 };
    let (nx, ny) = (-dy / length * side, dx / length * side);
    let leave = border(dx, dy);
    let start = (from.0 + dx * leave + nx, from.1 + dy * leave + ny);
    let end = (to.0 - dx * leave + nx, to.1 - dy * leave + ny);
    let _ = write!(
        out,
        r#"<path class="{class}" d="M{:.0},{:.0} L{:.0},{:.0}" marker-end="url(#map-{class})"/>"#,
        start.0, start.1, end.0, end.1
    );
    // The label sits nearer the source, so that edges crossing in the middle keep theirs apart.
    let along = if class == "sync" { 0.5 } else { 0.3 };
    let (mx, my) = (
        start.0 + (end.0 - start.0) * along + nx * 1.5,
        start.1 + (end.1 - start.1) * along + ny * 1.5,
    );
    let colour = if class == "sync" {
        "#c2185b"
    } else {
        "#bf360c"
    };
    let rows = lines.len() as f64 + 1.0;
    let _ = write!(
        labels,
        r##"<rect x="{:.0}" y="{:.0}" width="180" height="{:.0}" rx="4" fill="#ffffffdd" stroke="{colour}" stroke-width="0.6"/>"##,
        mx - 90.0,
        my - 12.0,
        rows * 13.0 + 6.0
    );
    for (i, line) in lines
        .iter()
        .chain(std::iter::once(&note.to_owned()))
        .enumerate()
    {
        let _ = write!(
            labels,
            r#"<text class="label" x="{mx:.0}" y="{:.0}" text-anchor="middle" fill="{colour}">{}</text>"#,
            my + i as f64 * 13.0,
            xml(line)
        );
    }
}
