/// The web pages' only assets, served by the node itself (`/static/…`): no external fonts,
/// scripts or images. The script is optional: every page works without it (it only shows the copy
/// button next to a new password; without it the field is selectable).
enum WebAssets {
    static let css = """
        :root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #5b6470; --line: #d5dae0;
          --accent: #1f5fbf; --danger: #b42318; --ok: #1a7f37; --warn: #9a6700; --card: #f6f8fa; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6e9ed; --bg: #14171b; --muted: #9aa4af; --line: #353b43; --accent: #6ea8fe;
            --danger: #ff7b72; --ok: #56d364; --warn: #e3b341; --card: #1d2127; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
        header.top { display: flex; justify-content: space-between; align-items: center; gap: 1em; padding: .6em 1.2em;
          border-bottom: 1px solid var(--line); }
        .brand { font-weight: 600; }
        .who { color: var(--muted); margin-right: .5em; }
        main { max-width: 60em; margin: 0 auto; padding: 1em 1.2em 3em; }
        footer { color: var(--muted); font-size: .9em; text-align: center; padding: 1em; border-top: 1px solid var(--line); }
        h1 { font-size: 1.6em; margin: .6em 0; overflow-wrap: anywhere; }
        h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid var(--line); padding-bottom: .2em; }
        h3 { font-size: 1.05em; }
        a { color: var(--accent); }
        .toc { color: var(--muted); }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .4em 1em; margin: 1em 0; max-width: 36em; }
        .card h2 { margin-top: .5em; }
        label { display: block; font-weight: 500; margin-bottom: .2em; }
        label:has(input[type=checkbox]) { display: inline; font-weight: normal; }
        input[type=text], input[type=email], input[type=password], input[type=url] { width: 100%; max-width: 30em; padding: .45em .6em;
          font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; }
        input:focus-visible, button:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
        button, a.button { font: inherit; padding: .4em .9em; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent);
          color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
        button.danger { background: transparent; color: var(--danger); border-color: var(--danger); padding: .15em .6em; }
        header button { background: transparent; color: var(--accent); }
        form.inline { display: inline; margin: 0; }
        table { border-collapse: collapse; width: 100%; margin: .6em 0; }
        th, td { text-align: left; padding: .35em .5em; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; }
        code, pre, .secret { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .92em; }
        .wrap { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all; }
        pre { background: var(--card); border: 1px solid var(--line); padding: .8em; border-radius: 6px; }
        ul.plain { list-style: none; padding-left: 0; }
        ul.plain li { padding: .2em 0; }
        .notice { border-left: 4px solid var(--ok); padding: .4em .8em; background: var(--card); }
        .error { border-left: 4px solid var(--danger); padding: .4em .8em; background: var(--card); }
        .warning { border-left: 4px solid var(--warn); padding: .4em .8em; background: var(--card); }
        .new-password { border-color: var(--ok); }
        .new-password .secret { font-size: 1.1em; width: auto; max-width: 100%; }
        .hint { color: var(--muted); }
        .state-ok { color: var(--ok); font-weight: 600; }
        .state-missing, .state-wrong { color: var(--danger); font-weight: 600; }
        .state-unknown { color: var(--warn); font-weight: 600; }
        meter { width: 100%; max-width: 30em; height: 1.2em; }
        .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        [hidden] { display: none !important; }

        """

    static let javascript = """
        // Sealbox: the copy button next to a new password. Optional: without it the field is
        // selectable and the button stays hidden.
        "use strict";
        document.addEventListener("DOMContentLoaded", function () {
          document.querySelectorAll("button[data-copy]").forEach(function (button) {
            var field = document.getElementById(button.getAttribute("data-copy"));
            if (!field) { return; }
            button.hidden = false;
            field.addEventListener("focus", function () { field.select(); });
            button.addEventListener("click", function () {
              var done = function () { button.textContent = "Copied"; };
              var fallback = function () { field.select(); try { document.execCommand("copy"); done(); } catch (e) { } };
              if (navigator.clipboard && window.isSecureContext) {
                navigator.clipboard.writeText(field.value).then(done, fallback);
              } else {
                fallback();
              }
            });
          });
        });

        """
}
