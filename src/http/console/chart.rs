//! The overview's chart: events in and commands out per minute over the last hour, as inline
//! SVG (no script, no external asset), from the inbox and outbox rows the daemon keeps.

use maud::{Markup, html};

use crate::store::throughput::Minute;

const BAR: usize = 10;
const HEIGHT: i64 = 80;

/// Bar height for `n` of at most `max`: at least 1 px for any non-zero count.
fn height(n: i64, max: i64) -> i64 {
    if n <= 0 || max <= 0 {
        0
    } else {
        (n * HEIGHT / max).max(1)
    }
}

pub fn throughput(minutes: &[Minute]) -> Markup {
    let max = minutes
        .iter()
        .map(|m| m.events_in.max(m.sent + m.dead))
        .max()
        .unwrap_or(0);
    let total = |f: fn(&Minute) -> i64| minutes.iter().map(f).sum::<i64>();
    let width = minutes.len() * BAR;
    html! {
        figure #throughput.card {
            figcaption {
                "Last hour, per minute: " span.in { (total(|m| m.events_in)) " events in" }
                " · " span.out { (total(|m| m.sent)) " commands sent" }
                @if total(|m| m.dead) > 0 { " · " span.bad { (total(|m| m.dead)) " dead-lettered" } }
            }
            svg viewBox=(format!("0 0 {width} {HEIGHT}")) preserveAspectRatio="none" role="img"
                aria-label="events in and commands out per minute over the last hour" {
                @for (i, m) in minutes.iter().enumerate() {
                    @let x = i * BAR;
                    @let (h_in, h_out) = (height(m.events_in, max), height(m.sent + m.dead, max));
                    rect x=(x) y=(HEIGHT - h_in) width="4" height=(h_in) fill="#3b6fb6" {
                        title { (m.events_in) " in" }
                    }
                    rect x=(x + 5) y=(HEIGHT - h_out) width="4" height=(h_out)
                        fill=(if m.dead > 0 { "#a1151b" } else { "#2f8f4e" }) {
                        title { (m.sent) " sent, " (m.dead) " dead" }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_minute_and_totals_are_shown() {
        let mut minutes = vec![Minute::default(); 60];
        minutes[10] = Minute {
            events_in: 40,
            sent: 20,
            dead: 0,
        };
        minutes[59] = Minute {
            events_in: 1,
            sent: 0,
            dead: 2,
        };
        let svg = throughput(&minutes).into_string();
        assert!(svg.contains("41 events in"), "{svg}");
        assert!(svg.contains("20 commands sent"), "{svg}");
        assert!(svg.contains("2 dead-lettered"), "{svg}");
        assert!(
            svg.contains(r##"<rect x="100" y="0" width="4" height="80" fill="#3b6fb6">"##),
            "the busiest minute is full height"
        );
        assert!(
            svg.contains(r##"<rect x="105" y="40" width="4" height="40" fill="#2f8f4e">"##),
            "half of it"
        );
        assert!(
            svg.contains(r##"<rect x="590" y="78" width="4" height="2" fill="#3b6fb6">"##),
            "one of 40 shows"
        );
        assert_eq!(svg.matches("<rect").count(), 120, "two bars a minute");
    }
}
