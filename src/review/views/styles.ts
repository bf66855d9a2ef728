/**
 * The review UI's one stylesheet, served at STYLESHEET_PATH. Plain CSS, no framework: the pages
 * are server-rendered tables and forms. Sections are marked by area; each page's styles go in
 * its own section.
 */
export const STYLESHEET = `
/* base */
:root { --ink: #1d2329; --muted: #5b6670; --line: #d5dbe0; --bg: #f6f7f9; --card: #fff; --accent: #1f5f99;
  --urgent: #a4161a; --severe: #d9480f; --moderate: #b08900; --minor: #5b6670; --ok: #2b8a3e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
header.top { display: flex; align-items: center; gap: 1.2rem; padding: .6rem 1.2rem; background: #14324f; color: #fff; flex-wrap: wrap; }
header.top a { color: #fff; text-decoration: none; }
header.top .brand { font-weight: 700; letter-spacing: .03em; }
header.top nav { display: flex; gap: .9rem; flex-wrap: wrap; flex: 1; }
header.top nav a[aria-current="page"] { text-decoration: underline; }
header.top .signout { display: flex; gap: .6rem; align-items: center; }
header.top .who { opacity: .85; font-size: .9em; }
main { padding: 1rem 1.4rem 3rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f4; font-weight: 600; font-size: .9em; }
tr:hover td { background: #fafbfc; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
form.inline { display: inline; }
form.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; margin-bottom: 1rem; }
label { display: flex; flex-direction: column; font-size: .85em; color: var(--muted); gap: .15rem; }
input, select, textarea, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--ink); }
textarea { min-height: 5rem; width: 100%; }
button, .button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--urgent); border-color: var(--urgent); }
.notice { background: #e7f5ec; border: 1px solid #b7e1c4; padding: .5rem .8rem; border-radius: 4px; }
.error { background: #fdecec; border: 1px solid #f2b8b8; padding: .5rem .8rem; border-radius: 4px; }
.warning { background: #fff6db; border: 1px solid #f0d98c; padding: .5rem .8rem; border-radius: 4px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: .8em; border: 1px solid var(--line); background: #fff; white-space: nowrap; }
.sev-urgent { background: var(--urgent); color: #fff; border-color: var(--urgent); }
.sev-severe { background: var(--severe); color: #fff; border-color: var(--severe); }
.sev-moderate { background: var(--moderate); color: #fff; border-color: var(--moderate); }
.sev-minor { background: #e9ecef; color: var(--ink); }
.status-new { background: #e7f0fa; }
.status-escalated { background: #fdecec; }
.status-false_positive, .status-no_further_action { background: #eef1f4; }
.status-actioned { background: #e7f5ec; }
.pager { display: flex; gap: 1rem; align-items: center; margin-top: .8rem; }
mark { background: #ffe066; padding: 0 .1em; }
pre.text { white-space: pre-wrap; word-break: break-word; background: #fff; border: 1px solid var(--line); padding: .8rem; max-height: 40rem; overflow: auto; }

/* area: sign-in and users */
.signin { max-width: 24rem; }
.signin form { display: flex; flex-direction: column; gap: .7rem; }
.signin .oidc { margin: 1rem 0 0; }
form.user-form { display: flex; flex-direction: column; gap: .6rem; max-width: 32rem; }
form.user-form button { align-self: flex-start; }
.user-disabled { background: #eef1f4; color: var(--muted); }
.user-locked { background: #fff6db; }
.user-active { background: #e7f5ec; }

/* area: flags */
strong.sev-urgent { text-transform: uppercase; letter-spacing: .03em; }
table.flags td.when, table.history td.when { white-space: nowrap; }
.category { display: inline-block; font-size: .85em; background: #eef1f4; border-radius: 3px; padding: 0 .3em; margin: 0 .2em .1em 0; }
a.similar { font-size: .85em; white-space: nowrap; }
.party { word-break: break-all; }
.finding h3 { font-size: 1rem; margin: 0 0 .3rem; display: flex; gap: .6rem; align-items: center; }
ul.evidence { list-style: none; padding: 0; margin: .6rem 0 0; }
ul.evidence li { margin: .3rem 0; }
ul.evidence .where { display: block; font-size: .8em; color: var(--muted); }
q.excerpt { quotes: none; display: block; background: #fbfbf4; border-left: 3px solid var(--moderate); padding: .3rem .6rem; white-space: pre-wrap; word-break: break-word; }
td.note { white-space: pre-wrap; word-break: break-word; }
.badge.delivery-failed, .badge.delivery-uncertain { background: #fdecec; }
.badge.delivery-sent { background: #e7f5ec; }
form.outcome, form.suppression { display: flex; flex-direction: column; gap: .6rem; max-width: 44rem; }
form.outcome h2, form.suppression h3 { margin: 0; }
fieldset.escalate { border: 1px solid var(--line); border-radius: 4px; display: flex; gap: 1rem; flex-wrap: wrap; }
label.check { flex-direction: row; align-items: center; gap: .35rem; color: var(--ink); font-size: 1em; }
.suppress form.suppression { margin-bottom: .8rem; }
p.exports { margin-top: 1.4rem; }
p.exports .button, form.filters .button { padding: .3rem .7rem; border: 1px solid var(--accent); border-radius: 4px; }
.flag-page .card > h2:first-child { margin-top: 0; }
form.outcome { margin-top: 1.4rem; }
form.outcome button, form.suppression button { align-self: flex-start; }
p.empty { color: var(--muted); font-style: italic; }
table.precision .num { text-align: right; font-variant-numeric: tabular-nums; }
table.precision td.low { color: var(--urgent); font-weight: 600; }

/* area: targeted monitoring, suppressions, retention */
.reminders { margin-bottom: 1rem; }
.reminders ul { margin: .3rem 0 0; padding-left: 1.2rem; }
.rule-note { max-width: 60rem; }
.authorisation-form .fields { display: grid; gap: .6rem; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); margin-bottom: .6rem; }
.authorisation-form button { margin-top: .6rem; }
.field-error { color: var(--urgent); font-size: .95em; }
input[aria-invalid="true"] { border-color: var(--urgent); }
tr.suppression-revoked td, tr.suppression-expired td, tr.authorisation-ended td { color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.note { max-width: 28rem; white-space: pre-wrap; }
table.purges .count { display: inline-block; margin-right: .8rem; white-space: nowrap; }
ul.attachments { padding-left: 1.2rem; }

/* area: dashboard, ops, audit */
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.attention { color: var(--urgent); font-weight: 600; }
.tiles { display: flex; gap: 1rem; flex-wrap: wrap; margin: 0 0 1rem; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; margin: 0; color: var(--ink); text-decoration: none; min-width: 10rem; }
.tile-number { display: block; font-size: 1.6rem; font-weight: 700; }
.tile-urgent { border-color: var(--urgent); color: var(--urgent); }
.grid.charts { grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); margin-bottom: 1rem; }
figure.chart { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
figure.chart-vertical { grid-column: 1 / -1; }
svg.bars { flex: 1 1 100%; min-width: 0; height: auto; display: block; }
figure.chart-vertical svg.bars { flex: 2 1 420px; }
svg.bars rect.bar { fill: var(--accent); }
svg.bars rect.bar:hover { fill: #14324f; }
.chart-status svg.bars rect.bar { fill: var(--ok); }
svg.bars text { font-size: 14px; fill: var(--ink); }
svg.bars text.bar-value { fill: var(--muted); }
svg.bars text.bar-empty { fill: var(--muted); font-size: 16px; }
table.chart-data { flex: 1 1 200px; font-size: .85em; }
table.chart-data th, table.chart-data td { padding: .2rem .5rem; }
table.chart-data caption { text-align: left; font-weight: 600; padding: 0 0 .3rem; }
section.pipeline h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.ops-section { margin-bottom: 1.6rem; }
td.id { font-family: ui-monospace, monospace; font-size: .85em; word-break: break-all; }
td.details { font-family: ui-monospace, monospace; font-size: .85em; white-space: pre-wrap; word-break: break-word; }
td.when { white-space: nowrap; }
.badge.stale { background: #fff6db; border-color: #f0d98c; }
.badge.delivery-failed { background: #fdecec; border-color: #f2b8b8; }
.badge.delivery-uncertain { background: #fff6db; border-color: #f0d98c; }
`;
