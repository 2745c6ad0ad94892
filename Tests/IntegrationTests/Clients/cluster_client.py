"""Clients of a Sealbox cluster for ClusterServeTests: each subcommand drives the frontends with
Python's imaplib, smtplib and poplib and prints what it saw; every wait is bounded.

    cluster_client.py flow F1_IMAP F1_POP3 F2_IMAP F2_SMTP        (passwords in ONE_PW / TWO_PW)
    cluster_client.py partial-append F2_IMAP MESSAGE_ID             (prints SENT, then waits)
    cluster_client.py append-once F1_IMAP MESSAGE_ID
    cluster_client.py smtp-burst F1_SMTP F1_IMAP COUNT               (prints HALF after COUNT/2)
    cluster_client.py move-load F1_IMAP F2_SMTP SECONDS              (prints STARTED; one@ under load)
    cluster_client.py smtp-once SMTP MESSAGE_ID                      (one message to one@; ACKED or the reply)
    cluster_client.py count IMAP MESSAGE_ID                          (COUNT n in one@'s INBOX; retried 60 s)
"""
import imaplib, os, poplib, smtplib, socket, sys, time

HOST = '127.0.0.1'
ONE, TWO = 'one@example.com', 'two@example.com'


def message(subject, mid, to=ONE):
    return (f'From: sender@example.org\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n'
            f'Date: Mon, 07 Dec 2026 01:00:00 +0000\r\n\r\nbody of {subject}\r\n').encode()


def login(port, user, password):
    m = imaplib.IMAP4(HOST, port, timeout=30)
    m.login(user, password)
    return m


def raw_login(port, user, password):
    """A plain socket logged in (for what imaplib cannot do: IDLE, half a literal); (socket, file)."""
    s = socket.create_connection((HOST, port), timeout=30)
    f = s.makefile('rwb')
    f.readline()
    f.write(f'a LOGIN {user} "{password}"\r\n'.encode()); f.flush()
    while not f.readline().startswith(b'a '):
        pass
    return s, f


def count_mid(m, mid):
    m.select('INBOX')
    typ, data = m.uid('SEARCH', None, 'HEADER', 'Message-ID', f'<{mid}>')
    return len(data[0].split())


def flow(f1_imap, f1_pop3, f2_imap, f2_smtp):
    one_pw, two_pw = os.environ['ONE_PW'], os.environ['TWO_PW']
    # Mailboxes on two storage nodes, both through frontend A.
    a1 = login(f1_imap, ONE, one_pw)
    a1.append('INBOX', None, None, message('appended to one', 'a1@test'))
    typ, data = a1.select('INBOX')
    print('ONE EXISTS', data[0].decode())
    a2 = login(f1_imap, TWO, two_pw)
    a2.append('INBOX', None, None, message('appended to two', 'a2@test', TWO))
    # Frontend B sees what went in through A.
    b2 = login(f2_imap, TWO, two_pw)
    typ, data = b2.select('INBOX')
    print('TWO EXISTS VIA B', data[0].decode())
    b2.logout()
    # IDLE on A for one@, mail to both through B's MX.
    idle, f = raw_login(f1_imap, ONE, one_pw)
    f.write(b'b SELECT INBOX\r\n'); f.flush()
    while not f.readline().startswith(b'b '):
        pass
    f.write(b'c IDLE\r\n'); f.flush()
    assert f.readline().startswith(b'+')
    with smtplib.SMTP(HOST, f2_smtp, timeout=30) as s:
        s.sendmail('sender@example.org', [ONE, TWO], message('through B', 'b@test', f'{ONE}, {TWO}'))
    print('SMTP 250 through B')
    started = time.time()
    idle.settimeout(20)
    seen = False
    while time.time() - started < 20:
        line = f.readline()
        if not line:
            break
        if line.endswith(b'EXISTS\r\n') and line.startswith(b'* 2 '):
            seen = True
            break
    print('IDLE ON A SAW', 'EXISTS 2' if seen else 'nothing', f'after {time.time() - started:.2f} s')
    f.write(b'DONE\r\n'); f.flush()
    idle.close()
    # POP3 on A for two@: the APPEND and the SMTP message.
    p = poplib.POP3(HOST, f1_pop3, timeout=30)
    p.user(TWO); p.pass_(two_pw)
    print('POP3 STAT', p.stat()[0])
    p.quit()
    a1.logout(); a2.logout()


def partial_append(f2_imap, mid):
    one_pw = os.environ['ONE_PW']
    s, f = raw_login(f2_imap, ONE, one_pw)
    body = message('killed mid-APPEND', mid)
    f.write(f'b APPEND INBOX {{{len(body)}}}\r\n'.encode()); f.flush()
    assert f.readline().startswith(b'+')
    f.write(body[: len(body) // 2]); f.flush()
    print('SENT', flush=True)
    s.settimeout(60)
    try:
        rest = s.recv(100)
        print('CONNECTION', 'closed' if not rest else 'answered')
    except OSError as e:
        print('CONNECTION', type(e).__name__)


def append_once(f1_imap, mid):
    m = login(f1_imap, ONE, os.environ['ONE_PW'])
    before = count_mid(m, mid)
    m.append('INBOX', None, None, message('killed mid-APPEND', mid))
    print('BEFORE', before, 'AFTER', count_mid(m, mid))
    m.logout()


def smtp_burst(f1_smtp, f1_imap, count):
    first_try, retried = [], []
    deadline = time.time() + 240
    slowest = 0.0
    for i in range(count):
        mid = f'burst-{i}@test'
        attempts = 0
        while True:
            attempts += 1
            started = time.time()
            try:
                with smtplib.SMTP(HOST, f1_smtp, timeout=90) as s:
                    s.sendmail('sender@example.org', [TWO], message(f'burst {i}', mid, TWO))
                slowest = max(slowest, time.time() - started)
                break
            except (smtplib.SMTPException, OSError) as e:
                code = getattr(e, 'smtp_code', None) or (list(e.recipients.values())[0][0] if isinstance(e, smtplib.SMTPRecipientsRefused) else None)
                if code is not None and not (400 <= code < 500):
                    print('PERMANENT', i, code)
                    sys.exit(1)
                if time.time() > deadline:
                    print('GAVE UP', i)
                    sys.exit(1)
                time.sleep(0.5)
        (first_try if attempts == 1 else retried).append(mid)
        if i == count // 2 - 1:
            print('HALF', flush=True)
        time.sleep(0.25)   # a steady pace: the test's fault lands in the middle of the deliveries
    print('RETRIED', len(retried))
    print(f'SLOWEST DELIVERY {slowest:.1f} s')
    bad, missing, m = None, None, None
    check_deadline = time.time() + 120
    while bad is None and time.time() < check_deadline:
        try:
            m = login(f1_imap, TWO, os.environ['TWO_PW'])
            bad = [(mid, n) for mid in first_try if (n := count_mid(m, mid)) != 1]
            missing = [mid for mid in retried if count_mid(m, mid) < 1]
        except (imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError):
            time.sleep(0.5)
    print('FIRST-TRY NOT EXACTLY ONCE', bad)
    print('RETRIED MISSING', missing)
    if m is not None:
        m.logout()


def move_load(f1_imap, f2_smtp, seconds):
    """SMTP deliveries through B and APPENDs through A to one@ for SECONDS while the test moves the
    mailbox: every acknowledged message must be there once (at least once if it was retried)."""
    import threading
    one_pw = os.environ['ONE_PW']
    acked, lock = {}, threading.Lock()   # message id -> attempts
    disruptions = {'smtp': 0, 'imap': 0}
    began = time.time()
    stop = began + seconds

    def smtp_loop():
        i = 0
        while time.time() < stop:
            mid, attempts = f'move-smtp-{i}@test', 0
            while True:
                attempts += 1
                try:
                    with smtplib.SMTP(HOST, f2_smtp, timeout=30) as s:
                        s.sendmail('sender@example.org', [ONE], message(f'move smtp {i}', mid))
                    break
                except (smtplib.SMTPException, OSError):
                    disruptions['smtp'] += 1
                    if time.time() > stop + 60:
                        return
                    time.sleep(0.2)
            with lock:
                acked[mid] = (attempts, round(time.time() - began, 1))
            i += 1

    def imap_loop():
        i, m = 0, None
        while time.time() < stop:
            mid, attempts = f'move-imap-{i}@test', 0
            while True:
                attempts += 1
                try:
                    if m is None:
                        m = login(f1_imap, ONE, one_pw)
                    typ, _ = m.append('INBOX', None, None, message(f'move imap {i}', mid))
                    if typ == 'OK':
                        break
                    disruptions['imap'] += 1
                except (imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError):
                    disruptions['imap'] += 1
                    try:
                        m and m.shutdown()
                    except Exception:
                        pass
                    m = None
                if time.time() > stop + 60:
                    return
                time.sleep(0.2)
            with lock:
                acked[mid] = (attempts, round(time.time() - began, 1))
            i += 1
        if m is not None:
            try:
                m.logout()
            except Exception:
                pass

    threads = [threading.Thread(target=smtp_loop), threading.Thread(target=imap_loop)]
    for t in threads:
        t.start()
    print('STARTED', flush=True)
    for t in threads:
        t.join()
    m = None
    deadline = time.time() + 60
    while m is None and time.time() < deadline:
        try:
            m = login(f1_imap, ONE, one_pw)
        except (imaplib.IMAP4.error, OSError):
            time.sleep(0.5)
    m.select('INBOX')
    typ, data = m.uid('SEARCH', None, 'ALL')
    counts = {}
    uids = data[0].split()
    if uids:
        typ, data = m.uid('FETCH', b','.join(uids).decode(), '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
        for item in data:
            if isinstance(item, tuple):
                header = item[1].decode(errors='replace')
                if '<' in header:
                    mid = header[header.index('<') + 1:header.index('>')]
                    counts[mid] = counts.get(mid, 0) + 1
    # Each wrong one with how many copies are there, its attempts and when it was acknowledged
    # (seconds after STARTED): a failure says lost from doubled, before the move from after it.
    bad = [(mid, counts.get(mid, 0), attempts, at) for mid, (attempts, at) in acked.items()
           if (counts.get(mid, 0) != 1 if attempts == 1 else counts.get(mid, 0) < 1)]
    print('ACKED', len(acked), 'SMTP', sum(1 for k in acked if 'smtp' in k), 'IMAP', sum(1 for k in acked if 'imap' in k))
    print('DISRUPTIONS', disruptions['smtp'], disruptions['imap'])
    print('WRONG', bad)
    m.logout()


def smtp_once(smtp, mid):
    try:
        with smtplib.SMTP(HOST, smtp, timeout=90) as s:
            s.sendmail('sender@example.org', [ONE], message('held delivery', mid))
        print('ACKED', flush=True)
    except smtplib.SMTPException as e:
        print('REFUSED', e, flush=True)


def count(imap, mid):
    deadline = time.time() + 60
    while True:
        try:
            m = login(imap, ONE, os.environ['ONE_PW'])
            print('COUNT', count_mid(m, mid))
            m.logout()
            return
        except (imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError):
            if time.time() > deadline:
                raise
            time.sleep(0.5)


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'flow':
        flow(*map(int, args))
    elif cmd == 'partial-append':
        partial_append(int(args[0]), args[1])
    elif cmd == 'append-once':
        append_once(int(args[0]), args[1])
    elif cmd == 'move-load':
        move_load(int(args[0]), int(args[1]), float(args[2]))
    elif cmd == 'smtp-burst':
        smtp_burst(int(args[0]), int(args[1]), int(args[2]))
    elif cmd == 'smtp-once':
        smtp_once(int(args[0]), args[1])
    elif cmd == 'count':
        count(int(args[0]), args[1])
