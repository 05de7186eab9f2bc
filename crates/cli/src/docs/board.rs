//! The event-storming board as SVG: a column per bounded context, its stickers in the usual
//! colours — commands (blue) and policies (lilac) into the aggregate (yellow), the domain events
//! it publishes (orange), read models (green), external systems (pink) — with the arrows event →
//! policy into the next context and each synchronous call drawn dashed. Every sticker says its
//! English name over its Korean one.

use super::{SystemModel, command_key, event_key, event_words, words, xml};
use kernel::model::{Contract, Role};
use std::fmt::Write as _;

const STICKER_W: i64 = 210;
const STICKER_H: i64 = 50;
const COLUMN_W: i64 = 250;
const GAP: i64 = 90;
const TOP: i64 = 250;
const STEP: i64 = STICKER_H + 14;

const BLUE: &str = "#90caf9";
const LILAC: &str = "#ce93d8";
const YELLOW: &str = "#fff176";
const ORANGE: &str = "#ffb74d";
const GREEN: &str = "#a5d6a7";
const PINK: &str = "#f48fb1";

/// A sticker placed on the board.
struct Sticker {
    colour: &'static str,
    english: String,
    korean: String,
    /// What a pointer over it says (a command's route and summary).
    tip: String,
    x: i64,
    y: i64,
}

impl Sticker {
    fn left(&self) -> (i64, i64) {
        (self.x, self.y + STICKER_H / 2)
    }

    fn right(&self) -> (i64, i64) {
        (self.x + STICKER_W, self.y + STICKER_H / 2)
    }
}

/// What one column holds, with the stickers' indices.
struct Column {
    x: i64,
    bottom: i64,
    inputs: Vec<usize>,
    /// Per aggregate: its sticker and its events' stickers with their contracts.
    aggregates: Vec<(usize, Vec<(usize, Contract)>)>,
    /// The policies by the contract they react to.
    reactions: Vec<(usize, Contract)>,
    /// A read model's feeds: its sticker per context it folds events of, with that column.
    feeds: Vec<(usize, usize)>,
    /// The middle of the column's top edge, where synchronous calls leave and arrive.
    header: (i64, i64),
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    if lines.len() > 2 {
        let rest = lines.split_off(1).join(" ");
        let mut second: String = rest.chars().take(width.saturating_sub(1)).collect();
        second.push('…');
        lines.push(second);
    }
    lines
}

fn sticker_svg(out: &mut String, sticker: &Sticker) {
    let _ = write!(
        out,
        r##"<g class="sticker"><title>{}</title><rect x="{}" y="{}" width="{STICKER_W}" height="{STICKER_H}" rx="3" fill="{}" stroke="#00000033"/>"##,
        xml(&sticker.tip),
        sticker.x,
        sticker.y,
        sticker.colour
    );
    let english = wrap(&sticker.english, 30);
    let mut y = sticker.y + if english.len() > 1 { 15 } else { 21 };
    for line in &english {
        let _ = write!(
            out,
            r#"<text x="{}" y="{y}" font-size="12" font-weight="600">{}</text>"#,
            sticker.x + 8,
            xml(line)
        );
        y += 14;
    }
    let _ = write!(
        out,
        r##"<text x="{}" y="{y}" font-size="11" fill="#333">{}</text></g>"##,
        sticker.x + 8,
        xml(&sticker.korean)
    );
}

fn arrow(out: &mut String, from: (i64, i64), to: (i64, i64), class: &str, bend: i64) {
    let (c1, c2) = if class == "flow" {
        ((from.0 - bend, from.1), (to.0 - bend, to.1))
    } else {
        ((from.0 + bend, from.1), (to.0 - bend, to.1))
    };
    let _ = write!(
        out,
        r#"<path class="{class}" d="M{},{} C{},{} {},{} {},{}" marker-end="url(#head-{class})"/>"#,
        from.0, from.1, c1.0, c1.1, c2.0, c2.1, to.0, to.1
    );
}

/// Puts a sticker at `(x, y)` and moves `y` below it.
fn place(
    stickers: &mut Vec<Sticker>,
    colour: &'static str,
    english: String,
    korean: String,
    x: i64,
    y: &mut i64,
) -> usize {
    stickers.push(Sticker {
        colour,
        tip: english.clone(),
        english,
        korean,
        x,
        y: *y,
    });
    *y += STEP;
    stickers.len() - 1
}

/// The board of `model`.
pub(crate) fn render(model: &SystemModel) -> String {
    let mut stickers: Vec<Sticker> = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    for (index, part) in model.parts.iter().enumerate() {
        let x = 30 + index as i64 * (COLUMN_W + GAP) + (COLUMN_W - STICKER_W) / 2;
        let mut y = TOP;
        let mut column = Column {
            x,
            bottom: 0,
            inputs: Vec::new(),
            aggregates: Vec::new(),
            reactions: Vec::new(),
            feeds: Vec::new(),
            header: (x + STICKER_W / 2, TOP),
        };
        if part.external() {
            place(
                &mut stickers,
                PINK,
                format!("External system: {}", words(part.name())),
                format!("외부 시스템: {}", model.korean(part.name())),
                x,
                &mut y,
            );
        }
        for command in &part.commands {
            let sticker = place(
                &mut stickers,
                BLUE,
                words(&command.operation),
                model.korean(&command_key(part, command)),
                x,
                &mut y,
            );
            stickers[sticker].tip = format!("{}: {}", command.route, command.summary);
            column.inputs.push(sticker);
        }
        for contract in &part.model.reacts_to {
            let (english, korean) = match part.model.role {
                Role::Context => (
                    format!("When {}", event_words(contract).to_lowercase()),
                    format!("{} 시", model.korean(&event_key(contract))),
                ),
                Role::ReadModel => continue,
                Role::Notifier => (
                    format!("Notify: {}", event_words(contract).to_lowercase()),
                    format!("알림: {}", model.korean(&event_key(contract))),
                ),
            };
            let sticker = place(&mut stickers, LILAC, english, korean, x, &mut y);
            column.inputs.push(sticker);
            column.reactions.push((sticker, *contract));
        }
        match part.model.role {
            Role::Context => {
                for aggregate in &part.model.aggregates {
                    let sticker = place(
                        &mut stickers,
                        YELLOW,
                        words(aggregate.kind),
                        model.korean(aggregate.kind),
                        x,
                        &mut y,
                    );
                    let events = aggregate
                        .publishes
                        .iter()
                        .map(|contract| {
                            let event = place(
                                &mut stickers,
                                ORANGE,
                                event_words(contract),
                                model.korean(&event_key(contract)),
                                x,
                                &mut y,
                            );
                            (event, *contract)
                        })
                        .collect();
                    column.aggregates.push((sticker, events));
                }
            }
            Role::ReadModel | Role::Notifier => {
                let (english, korean) = if part.model.role == Role::ReadModel {
                    (
                        format!("{} (read model)", words(part.name())),
                        format!("{} (조회 모델)", model.korean(part.name())),
                    )
                } else {
                    (
                        "Notifications".to_owned(),
                        format!("{} (알림함)", model.korean(part.name())),
                    )
                };
                place(&mut stickers, GREEN, english, korean, x, &mut y);
                if part.model.role == Role::ReadModel {
                    // One feed per context it reads from, not an arrow per event.
                    for (source, publisher) in model.parts.iter().enumerate() {
                        let published = publisher.model.publishes();
                        let count = part
                            .model
                            .reacts_to
                            .iter()
                            .filter(|c| published.contains(c))
                            .count();
                        if count == 0 {
                            continue;
                        }
                        let feed = place(
                            &mut stickers,
                            GREEN,
                            format!(
                                "Folds {count} {} event{}",
                                words(publisher.name()),
                                if count == 1 { "" } else { "s" }
                            ),
                            format!("{} 이벤트 {count}종", model.korean(publisher.name())),
                            x,
                            &mut y,
                        );
                        column.feeds.push((feed, source));
                    }
                }
            }
        }
        column.bottom = y;
        columns.push(column);
    }
    let width = 30 + model.parts.len() as i64 * (COLUMN_W + GAP);
    let height = columns.iter().map(|c| c.bottom).max().unwrap_or(TOP) + 40;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="'Noto Sans KR', 'Noto Sans CJK KR', 'Malgun Gothic', sans-serif" role="img" aria-labelledby="board-title">
<title id="board-title">{system}: event-storming board · 이벤트 스토밍 보드</title>
<defs>
<marker id="head-flow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>
<marker id="head-event" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#e65100"/></marker>
<marker id="head-sync" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c2185b"/></marker>
<style>.flow{{fill:none;stroke:#555;stroke-width:1.3}} .event{{fill:none;stroke:#e65100;stroke-width:1.4;opacity:.55}} .sync{{fill:none;stroke:#c2185b;stroke-width:2.2;stroke-dasharray:7 4}} text{{font-family:inherit}}</style>
</defs>
<rect width="100%" height="100%" fill="#fafafa"/>
<text x="30" y="34" font-size="20" font-weight="700">{system}: event-storming board · 이벤트 스토밍 보드</text>
"##,
        system = xml(&model.manifest.name)
    );
    let legend = [
        (BLUE, "command 커맨드"),
        (YELLOW, "aggregate 애그리거트"),
        (ORANGE, "domain event 도메인 이벤트"),
        (LILAC, "policy 정책"),
        (GREEN, "read model 조회 모델"),
        (PINK, "external system 외부 시스템"),
    ];
    for (i, (colour, label)) in legend.iter().enumerate() {
        let x = 30 + (i as i64 % 3) * 230;
        let row = 50 + (i as i64 / 3) * 26;
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{row}" width="18" height="18" fill="{colour}" stroke="#00000033"/><text x="{}" y="{}" font-size="12">{label}</text>"##,
            x + 24,
            row + 14
        );
    }
    let _ = write!(
        out,
        r##"<path class="sync" d="M{},59 h40" marker-end="url(#head-sync)"/><text x="{}" y="64" font-size="12">synchronous call, circuit breaker 동기 호출 · 서킷 브레이커</text><text x="{}" y="112" font-size="12" fill="#555">commands and policies move the aggregate, which publishes its events · 커맨드와 정책이 애그리거트를 움직이고, 애그리거트가 이벤트를 발행합니다</text>"##,
        30 + 3 * 230,
        30 + 3 * 230 + 50,
        30,
    );
    for (part, column) in model.parts.iter().zip(&columns) {
        let lane_x = column.x - (COLUMN_W - STICKER_W) / 2;
        let _ = write!(
            out,
            r##"<rect x="{lane_x}" y="{}" width="{COLUMN_W}" height="{}" rx="8" fill="#ffffff" stroke="#cfd8dc"/><text x="{}" y="{}" font-size="15" font-weight="700">{} · {}</text><text x="{}" y="{}" font-size="11" fill="#546e7a">{} domain · {}</text>"##,
            TOP - 78,
            column.bottom - TOP + 88,
            column.x,
            TOP - 54,
            xml(&words(part.name())),
            xml(&model.korean(part.name())),
            column.x,
            TOP - 36,
            part.entry.domain.as_str(),
            match part.model.role {
                Role::Context => "bounded context",
                Role::ReadModel => "read model (CQRS)",
                Role::Notifier => "notifications",
            }
        );
    }
    // Within a context: what comes in moves its aggregates (a context keeping several gets a
    // bus that reaches each: the declarations do not say which input moves which); an aggregate
    // publishes its events.
    for column in &columns {
        if let Some(&(target, _)) = column.aggregates.first() {
            for &input in &column.inputs {
                arrow(
                    &mut out,
                    stickers[input].left(),
                    stickers[target].left(),
                    "flow",
                    24,
                );
            }
            let (x, top) = stickers[target].left();
            for (other, _) in column.aggregates.iter().skip(1) {
                let (_, y) = stickers[*other].left();
                let _ = write!(
                    out,
                    r#"<path class="flow" d="M{},{top} V{y} H{x}" marker-end="url(#head-flow)"/>"#,
                    x - 18,
                );
            }
        }
        for (aggregate, events) in &column.aggregates {
            for (event, _) in events {
                let from = stickers[*aggregate].right();
                let to = stickers[*event].right();
                let _ = write!(
                    out,
                    r#"<path class="flow" d="M{},{} C{},{} {},{} {},{}" marker-end="url(#head-flow)"/>"#,
                    from.0,
                    from.1,
                    from.0 + 22,
                    from.1,
                    to.0 + 22,
                    to.1,
                    to.0,
                    to.1
                );
            }
        }
    }
    // Across contexts: an event to each policy (or read model) that reacts to it.
    for (to_index, column) in columns.iter().enumerate() {
        for (reaction, contract) in &column.reactions {
            for (from_index, source) in columns.iter().enumerate() {
                for (_, events) in &source.aggregates {
                    for (event, published) in events {
                        if published != contract {
                            continue;
                        }
                        let (from, to) = if from_index < to_index {
                            (stickers[*event].right(), stickers[*reaction].left())
                        } else {
                            (stickers[*event].left(), stickers[*reaction].right())
                        };
                        let bend = if from_index < to_index { 60 } else { -60 };
                        arrow(&mut out, from, to, "event", bend);
                    }
                }
            }
        }
    }
    // A read model's feeds: from the aggregate of each context it reads.
    for (to_index, column) in columns.iter().enumerate() {
        for &(feed, from_index) in &column.feeds {
            let Some(&(source, _)) = columns[from_index].aggregates.first() else {
                continue;
            };
            let (from, to) = if from_index < to_index {
                (stickers[source].right(), stickers[feed].left())
            } else {
                (stickers[source].left(), stickers[feed].right())
            };
            let bend = if from_index < to_index { 60 } else { -60 };
            arrow(&mut out, from, to, "event", bend);
        }
    }
    // Synchronous calls: from the caller's context to the callee's.
    for (part, column) in model.parts.iter().zip(&columns) {
        for callee in &part.model.calls {
            let Some(target) = model.parts.iter().position(|p| p.name() == callee) else {
                continue;
            };
            let (from, to) = (column.header, columns[target].header);
            let (from_x, to_x) = if from.0 < to.0 {
                (from.0 + 40, to.0 - 40)
            } else {
                (from.0 - 40, to.0 + 40)
            };
            let _ = write!(
                out,
                r##"<path class="sync" d="M{from_x},{y} C{from_x},{peak} {to_x},{peak} {to_x},{y}" marker-end="url(#head-sync)"><title>{} → {}: request-response behind a circuit breaker</title></path><text x="{}" y="{}" font-size="11" fill="#c2185b" text-anchor="middle">{} → {} sync · breaker</text>"##,
                xml(part.name()),
                xml(callee),
                (from_x + to_x) / 2,
                TOP - 118,
                xml(part.name()),
                xml(callee),
                y = TOP - 80,
                peak = TOP - 125,
            );
        }
    }
    for sticker in &stickers {
        sticker_svg(&mut out, sticker);
    }
    out.push_str("</svg>\n");
    out
}
