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

/* area: flags */

/* area: targeted monitoring, suppressions, retention */

/* area: dashboard, ops, audit */
`;
