import ManageSieveCore
import Testing

private func parse(_ text: String) -> Result<ManageSieveCommand, ManageSieveParseError> {
    ManageSieveParser.parse(Array(text.utf8))
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("ManageSieve command parser")
struct ManageSieveParserTests {
    @Test("every command form (RFC 5804 §2), verbs in any case", arguments: [
        ("AUTHENTICATE \"PLAIN\"", ManageSieveCommand.authenticate(mechanism: "PLAIN", initialResponse: nil)),
        ("authenticate \"plain\" \"AGEAYg==\"", .authenticate(mechanism: "PLAIN", initialResponse: bytes("AGEAYg=="))),
        ("AUTHENTICATE \"PLAIN\" {8+}\r\nAGEAYg==", .authenticate(mechanism: "PLAIN", initialResponse: bytes("AGEAYg=="))),
        ("AUTHENTICATE PLAIN {8}\r\nAGEAYg==", .authenticate(mechanism: "PLAIN", initialResponse: bytes("AGEAYg=="))),
        ("Authenticate \"LOGIN\"", .authenticate(mechanism: "LOGIN", initialResponse: nil)),
        ("STARTTLS", .startTLS),
        ("LogOut", .logout),
        ("CAPABILITY", .capability),
        ("HAVESPACE \"myscript\" 999999", .haveSpace(name: "myscript", size: 999_999)),
        ("HAVESPACE {3+}\r\nabc 0", .haveSpace(name: "abc", size: 0)),
        ("PUTSCRIPT \"a\" {6+}\r\nkeep;\n", .putScript(name: "a", content: bytes("keep;\n"))),
        ("PUTSCRIPT \"a\" \"keep;\"", .putScript(name: "a", content: bytes("keep;"))),
        ("PUTSCRIPT {1+}\r\na {0+}\r\n", .putScript(name: "a", content: [])),
        ("PUTSCRIPT \"Ünïcode\" {6+}\r\nkeep;\n", .putScript(name: "Ünïcode", content: bytes("keep;\n"))),
        ("LISTSCRIPTS", .listScripts),
        ("SETACTIVE \"a\"", .setActive(name: "a")),
        ("SETACTIVE \"\"", .setActive(name: "")),
        ("GETSCRIPT \"q\\\"n\\\\x\"", .getScript(name: "q\"n\\x")),
        ("DELETESCRIPT \"a\"", .deleteScript(name: "a")),
        ("RENAMESCRIPT \"a\" \"b\"", .renameScript(from: "a", to: "b")),
        ("CHECKSCRIPT {6+}\r\nkeep;\n", .checkScript(content: bytes("keep;\n"))),
        ("NOOP", .noop(tag: nil)),
        ("NOOP \"probe-1\"", .noop(tag: bytes("probe-1"))),
        ("NOOP {3+}\r\nabc", .noop(tag: bytes("abc"))),
        ("UNAUTHENTICATE", .unauthenticate),
        ("LISTSCRIPTS  ", .listScripts),
    ])
    func forms(text: String, expected: ManageSieveCommand) {
        #expect(parse(text) == .success(expected))
    }

    @Test("a literal's data is bytes as sent: CRLF, quotes and braces inside are data")
    func literalData() {
        let script = "if header :contains \"subject\" \"{5}\" {\r\n  discard;\r\n}\r\n"
        let command = "PUTSCRIPT \"x\" {\(script.utf8.count)+}\r\n\(script)"
        #expect(parse(command) == .success(.putScript(name: "x", content: bytes(script))))
    }

    @Test("malformed commands are refused with Dovecot's words", arguments: [
        ("FROBNICATE", "Error in MANAGESIEVE command FROBNICATE: Unknown command."),
        ("PUTSCRIPT \"y\"", "Error in MANAGESIEVE command PUTSCRIPT: Invalid arguments."),
        ("PUTSCRIPT x {6+}\r\nkeep;\n", "Error in MANAGESIEVE command PUTSCRIPT: Invalid arguments."),
        ("PUTSCRIPT \"y\" \"keep;\" \"z\"", "Error in MANAGESIEVE command PUTSCRIPT: Too many command arguments."),
        ("PUTSCRIPT \"bad\\x\" {6+}\r\nkeep;\n", "Error in MANAGESIEVE command PUTSCRIPT: Escaped quoted-string character is not a QUOTED-SPECIAL."),
        ("NOOP \"line1\\nline2\"", "Error in MANAGESIEVE command NOOP: Escaped quoted-string character is not a QUOTED-SPECIAL."),
        ("NOOP \"x\" \"y\"", "Error in MANAGESIEVE command NOOP: Too many command arguments."),
        ("HAVESPACE \"y\" abc", "Error in MANAGESIEVE command HAVESPACE: Invalid scriptsize argument."),
        ("HAVESPACE \"y\" \"100\"", "Error in MANAGESIEVE command HAVESPACE: Invalid scriptsize argument."),
        ("HAVESPACE \"y\" 99999999999", "Error in MANAGESIEVE command HAVESPACE: Invalid scriptsize argument."),
        ("CHECKSCRIPT", "Error in MANAGESIEVE command CHECKSCRIPT: Invalid arguments."),
        ("GETSCRIPT \"unterminated", "Error in MANAGESIEVE command GETSCRIPT: Missing '\"'."),
        ("GETSCRIPT \"a\"\"b\"", "Error in MANAGESIEVE command GETSCRIPT: Invalid arguments."),
        ("GETSCRIPT {10+}\r\nabc", "Error in MANAGESIEVE command GETSCRIPT: Literal is shorter than its size."),
        ("GETSCRIPT {x}", "Error in MANAGESIEVE command GETSCRIPT: Invalid literal size."),
        ("LISTSCRIPTS extra", "Error in MANAGESIEVE command LISTSCRIPTS: Too many command arguments."),
        ("AUTHENTICATE", "Error in MANAGESIEVE command AUTHENTICATE: Invalid arguments."),
        ("AUTHENTICATE \"\"", "Error in MANAGESIEVE command AUTHENTICATE: Invalid authentication mechanism."),
        ("(", "Error in MANAGESIEVE command : Invalid command."),
    ])
    func malformed(text: String, message: String) {
        guard case .failure(let error) = parse(text) else { Issue.record("accepted \(text.debugDescription)"); return }
        #expect(error.description == message)
    }

    @Test("a name that is not UTF-8 is refused; a NUL inside a quoted string too")
    func invalidBytes() {
        guard case .failure(let e) = ManageSieveParser.parse(bytes("GETSCRIPT \"") + [0xC3, 0x28] + bytes("\"")) else { Issue.record("accepted"); return }
        #expect(e.message == "Script name is not valid UTF-8.")
        guard case .failure(let nul) = ManageSieveParser.parse(bytes("NOOP \"a") + [0] + bytes("b\"")) else { Issue.record("accepted"); return }
        #expect(nul.message == "Invalid character in quoted string.")
    }

    @Test("too many arguments stop the tokenizer early")
    func argumentLimit() {
        let text = "NOOP" + String(repeating: " \"x\"", count: 100)
        guard case .failure(let e) = parse(text) else { Issue.record("accepted"); return }
        #expect(e.message == "Too many command arguments.")
    }

    @Test("SASL responses: a quoted string or a literal; \"*\" cancels")
    func saslResponses() {
        #expect(ManageSieveParser.parseSASLResponse(bytes("\"AGEAYg==\"")) == .success(bytes("AGEAYg==")))
        #expect(ManageSieveParser.parseSASLResponse(bytes("{8+}\r\nAGEAYg==")) == .success(bytes("AGEAYg==")))
        #expect(ManageSieveParser.parseSASLResponse(bytes("\"*\"")) == .success(nil))
        #expect(ManageSieveParser.parseSASLResponse(bytes("*")) == .success(nil))
        #expect(ManageSieveParser.parseSASLResponse(bytes("\"\"")) == .success([]))
        if case .success = ManageSieveParser.parseSASLResponse(bytes("AGEAYg==")) { Issue.record("bare atom accepted") }
        if case .success = ManageSieveParser.parseSASLResponse(bytes("\"a\" \"b\"")) { Issue.record("two strings accepted") }
        if case .success = ManageSieveParser.parseSASLResponse([]) { Issue.record("empty line accepted") }
    }
}
