import Mustache

/// The web pages' Mustache templates. Every value is written with `{{ }}` (HTML-escaped by
/// swift-mustache); there is no triple mustache anywhere. Each page fills the `layout`'s blocks
/// (`{{<layout}}…{{/layout}}`). Every form that posts carries the `csrf` hidden field.
enum WebTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            do {
                try library.register(text, named: name)
            } catch {
                preconditionFailure("web template \(name) does not parse: \(error)")  // a programmer error, caught by the tests
            }
        }
        return library
    }()

    static let all: [(String, String)] = [
        ("layout", layout), ("signin", signin), ("account", account), ("admin-signin", adminSignin),
        ("admin", admin), ("admin-domain", adminDomain), ("message", message),
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{{$title}}Sealbox{{/title}} · {{hostname}}</title>
        <link rel="stylesheet" href="/static/sealbox.css">
        <script src="/static/sealbox.js" defer></script>
        </head>
        <body>
        <header class="top">
        <span class="brand">Sealbox · {{hostname}}</span>
        {{#signedInAs}}
        <form method="post" action="{{signOutAction}}" class="inline">
        <span class="who">{{signedInAs}}</span>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Sign out</button>
        </form>
        {{/signedInAs}}
        </header>
        <main>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{$main}}{{/main}}
        </main>
        <footer><p>Sealbox mail server · <a href="/">home</a></p></footer>
        </body>
        </html>

        """

    static let signin = """
        {{<layout}}
        {{$title}}Sign in{{/title}}
        {{$main}}
        <h1>Sign in to your mailbox</h1>
        <form method="post" action="/signin" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="address">Address</label>
        <input id="address" name="address" type="email" autocomplete="username" required maxlength="320" value="{{address}}"></p>
        <p><label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"></p>
        <p><button type="submit">Sign in</button></p>
        </form>
        <p class="hint">Use your address and one of its passwords (the one your mail app uses works).
        Administrators: <a href="/admin/signin">sign in with an admin token</a>.</p>
        {{/main}}
        {{/layout}}
        """

    static let account = """
        {{<layout}}
        {{$title}}Your mailbox{{/title}}
        {{$main}}
        <h1>{{address}}</h1>
        <nav class="toc" aria-label="Sections">
        <a href="#passwords">Passwords</a> · <a href="#forwards">Forwards and webhooks</a> ·
        <a href="#usage">Usage</a> · <a href="#export">Export</a> · <a href="#setup">Mail app setup</a>
        </nav>

        {{#newPassword}}
        <section class="card new-password" aria-labelledby="new-password-title">
        <h2 id="new-password-title">New password{{#label}} “{{label}}”{{/label}}</h2>
        <p>It is shown only this once: copy it into your mail app now.</p>
        <p><label for="new-password">Password</label>
        <input id="new-password" class="secret" type="text" readonly value="{{password}}" size="40" autocomplete="off" spellcheck="false">
        <button type="button" class="copy" data-copy="new-password" hidden>Copy</button></p>
        </section>
        {{/newPassword}}

        <section id="passwords" aria-labelledby="passwords-title">
        <h2 id="passwords-title">Passwords</h2>
        <table>
        <thead><tr><th scope="col">Label</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="sr">Action</span></th></tr></thead>
        <tbody>
        {{#passwords}}
        <tr>
        <td>{{label}}{{#current}} <em>(this session)</em>{{/current}}</td>
        <td>{{created}}</td>
        <td>{{lastUsed}}</td>
        <td>
        <form method="post" action="/account/passwords/revoke" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="id" value="{{id}}">
        {{#current}}<input type="hidden" name="force" value="1">{{/current}}
        <button type="submit" class="danger" aria-label="Revoke {{label}}">Revoke</button>
        </form>
        </td>
        </tr>
        {{/passwords}}
        </tbody>
        </table>
        <form method="post" action="/account/passwords" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="label">Label for a new password (e.g. the device it is for)</label>
        <input id="label" name="label" type="text" maxlength="100"></p>
        <p><button type="submit">Generate a password</button></p>
        </form>
        </section>

        <section id="forwards" aria-labelledby="forwards-title">
        <h2 id="forwards-title">Forwards and webhooks</h2>
        <h3>Forward a copy to</h3>
        <ul class="plain">
        {{#forwards}}
        <li>{{.}}
        <form method="post" action="/account/forwards/remove" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="address" value="{{.}}">
        <button type="submit" class="danger" aria-label="Stop forwarding to {{.}}">Remove</button>
        </form></li>
        {{/forwards}}
        {{^forwards}}<li>No forwards.</li>{{/forwards}}
        </ul>
        <form method="post" action="/account/forwards" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="forward">Address to forward to</label>
        <input id="forward" name="address" type="email" required maxlength="320"></p>
        <p><button type="submit">Add forward</button></p>
        </form>
        <h3>Webhooks (each message is posted to)</h3>
        <ul class="plain">
        {{#webhooks}}
        <li><code>{{.}}</code>
        <form method="post" action="/account/webhooks/remove" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="url" value="{{.}}">
        <button type="submit" class="danger" aria-label="Remove webhook {{.}}">Remove</button>
        </form></li>
        {{/webhooks}}
        {{^webhooks}}<li>No webhooks.</li>{{/webhooks}}
        </ul>
        <form method="post" action="/account/webhooks" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="webhook">Webhook URL (https)</label>
        <input id="webhook" name="url" type="url" required maxlength="2048" placeholder="https://"></p>
        <p><button type="submit">Add webhook</button></p>
        </form>
        </section>

        <section id="usage" aria-labelledby="usage-title">
        <h2 id="usage-title">Usage</h2>
        {{#usage}}
        <p>{{used}} used{{#quota}} of {{quota}} ({{percent}}%){{/quota}}{{^quota}}, no quota{{/quota}}.</p>
        {{#quota}}<p><meter min="0" max="100" value="{{percent}}" aria-label="Storage used">{{percent}}%</meter></p>{{/quota}}
        <table>
        <thead><tr><th scope="col">Folder</th><th scope="col">Messages</th><th scope="col">Unseen</th><th scope="col">Size</th></tr></thead>
        <tbody>
        {{#folders}}<tr><td>{{path}}</td><td>{{messages}}</td><td>{{unseen}}</td><td>{{size}}</td></tr>{{/folders}}
        </tbody>
        </table>
        {{/usage}}
        </section>

        <section id="export" aria-labelledby="export-title">
        <h2 id="export-title">Export</h2>
        <ul>
        <li><a href="/account/export?format=mbox" download>INBOX as mbox</a></li>
        <li><a href="/account/export?format=eml-zip" download>Every folder as a zip of .eml files</a></li>
        </ul>
        <form method="post" action="/account/export" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="format" value="sqlite">
        <p>The encrypted mailbox database (SQLite, sqlite3mc), keyed with a password of yours:</p>
        <p><label for="export-password">Password</label>
        <input id="export-password" name="password" type="password" autocomplete="current-password" required maxlength="1024"></p>
        <p><button type="submit">Download the encrypted database</button></p>
        </form>
        </section>

        <section id="setup" aria-labelledby="setup-title">
        <h2 id="setup-title">Mail app setup</h2>
        <p>User name: <code>{{address}}</code> · password: one of the passwords above.</p>
        <table>
        <thead><tr><th scope="col">Use</th><th scope="col">Server</th><th scope="col">Port</th><th scope="col">Security</th></tr></thead>
        <tbody>
        {{#servers}}<tr><td>{{use}}</td><td><code>{{hostname}}</code></td><td>{{port}}</td><td>{{security}}</td></tr>{{/servers}}
        </tbody>
        </table>
        <p>Apple devices: <a href="/account/setup.mobileconfig" download>download a configuration profile</a>
        (IMAP and SMTP; it holds no password: the device asks for it).
        Thunderbird and Outlook find these settings themselves from your address
        (autoconfig and Autodiscover).</p>
        </section>
        {{/main}}
        {{/layout}}
        """

    static let adminSignin = """
        {{<layout}}
        {{$title}}Administrator sign-in{{/title}}
        {{$main}}
        <h1>Administrator sign-in</h1>
        <form method="post" action="/admin/signin" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="off" required maxlength="512"></p>
        <p><button type="submit">Sign in</button></p>
        </form>
        <p class="hint">Make a token on the server with <code>sealbox admin token create</code>.
        Mailbox owners: <a href="/signin">sign in here</a>.</p>
        {{/main}}
        {{/layout}}
        """

    static let admin = """
        {{<layout}}
        {{$title}}Administration{{/title}}
        {{$main}}
        <h1>Administration</h1>
        <section id="domains" aria-labelledby="domains-title">
        <h2 id="domains-title">Domains</h2>
        <ul>
        {{#domains}}<li><a href="/admin/domains/{{name}}">{{unicode}}</a> — DNS records and a live check</li>{{/domains}}
        {{^domains}}<li>No domains yet.</li>{{/domains}}
        </ul>
        <form method="post" action="/admin/domains" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="domain">Add a domain</label>
        <input id="domain" name="domain" type="text" required maxlength="253"></p>
        <p><button type="submit">Add domain</button></p>
        </form>
        </section>
        <section id="aliases" aria-labelledby="aliases-title">
        <h2 id="aliases-title">Aliases</h2>
        <table>
        <thead><tr><th scope="col">Address</th><th scope="col">Mailbox</th><th scope="col">Forwards to</th><th scope="col">Webhooks</th><th scope="col"><span class="sr">Action</span></th></tr></thead>
        <tbody>
        {{#aliases}}
        <tr>
        <td>{{address}}</td>
        <td>{{#hasMailbox}}yes{{/hasMailbox}}{{^hasMailbox}}{{#store}}not yet (no password){{/store}}{{^store}}no{{/store}}{{/hasMailbox}}</td>
        <td>{{#forwardTo}}{{.}}<br>{{/forwardTo}}</td>
        <td>{{webhookCount}}</td>
        <td>
        <form method="post" action="/admin/aliases/remove" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="address" value="{{address}}">
        {{#hasMailbox}}<label><input type="checkbox" name="purge" value="1"> and its mail</label>{{/hasMailbox}}
        <button type="submit" class="danger" aria-label="Remove {{address}}">Remove</button>
        </form>
        </td>
        </tr>
        {{/aliases}}
        </tbody>
        </table>
        <form method="post" action="/admin/aliases" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="alias-address">New address</label>
        <input id="alias-address" name="address" type="email" required maxlength="320"></p>
        <p><label for="alias-forward">Forward to (optional; leave empty for a mailbox only)</label>
        <input id="alias-forward" name="forward" type="email" maxlength="320"></p>
        <p><label><input type="checkbox" name="nostore" value="1"> forward only (no mailbox)</label></p>
        <p><button type="submit">Add alias</button></p>
        </form>
        <p class="hint">A new mailbox gets its first password with <code>sealbox password generate ADDRESS</code> (or the API).</p>
        </section>
        {{/main}}
        {{/layout}}
        """

    static let adminDomain = """
        {{<layout}}
        {{$title}}DNS of {{domain}}{{/title}}
        {{$main}}
        <p><a href="/admin">← Administration</a></p>
        <h1>DNS records of {{domain}}</h1>
        {{#checked}}<p class="{{summaryClass}}" role="status">{{summary}}</p>{{/checked}}
        {{^checked}}<p><a class="button" href="/admin/domains/{{domain}}?check=1">Check what DNS publishes now</a></p>{{/checked}}
        <table class="records">
        <thead><tr>{{#checked}}<th scope="col">State</th>{{/checked}}<th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value</th><th scope="col">Note</th></tr></thead>
        <tbody>
        {{#records}}
        <tr>
        {{#checked}}<td class="state-{{state}}">{{state}}{{#detail}}<br><small>{{detail}}</small>{{/detail}}</td>{{/checked}}
        <td><code>{{name}}</code></td><td>{{type}}</td><td><code class="wrap">{{value}}</code></td><td>{{comment}}</td>
        </tr>
        {{/records}}
        </tbody>
        </table>
        {{#zoneText}}
        <h2>As a zone file</h2>
        <pre class="wrap">{{zoneText}}</pre>
        {{/zoneText}}
        {{/main}}
        {{/layout}}
        """

    static let message = """
        {{<layout}}
        {{$title}}{{heading}}{{/title}}
        {{$main}}
        <h1>{{heading}}</h1>
        <p>{{text}}</p>
        <p><a href="{{back}}">Back</a></p>
        {{/main}}
        {{/layout}}
        """
}
