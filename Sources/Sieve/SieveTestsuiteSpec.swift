/// The `vnd.dovecot.testsuite` commands and tests (Pigeonhole's test language), accepted only when
/// `SieveCompileOptions.testsuite` is set. They run through `SieveTestHarness` (test-only).
extension SieveCommandSpec {
    static let testsuiteCommands: [String: SieveCommandSpec] = [
        "test": command(nil, [.string], block: true),
        "test_fail": command(nil, [.string]),
        "test_set": command(nil, [.string, .string]),
        "test_message": command(nil, tags: [
            "smtp": Tag(ext: nil, param: .none, group: "source"),
            "folder": Tag(ext: nil, param: .none, group: "source"),
        ], [.string, .number], optionalLeading: 1),
        "test_result_reset": command(nil),
        "test_result_print": command(nil),
        "test_message_print": command(nil),
        "test_mailbox_create": command(nil, [.string]),
        "test_binary_load": command(nil, [.string]),
        "test_binary_save": command(nil, [.string]),
        "test_config_set": command(nil, [.string, .string]),
        "test_config_unset": command(nil, [.string]),
        "test_config_reload": command(nil, tags: ["extension": Tag(ext: nil, param: .string, group: nil)]),
        "test_imap_metadata_set": command(nil, tags: [
            "mailbox": Tag(ext: nil, param: .string, group: nil),
        ], [.string, .string]),
    ]
    static let testsuiteTests: [String: SieveCommandSpec] = [
        "test_script_compile": test(nil, [.string]),
        "test_script_run": test(nil, tags: ["append_result": Tag(ext: nil, param: .none, group: nil)]),
        "test_multiscript": test(nil, [.stringList]),
        "test_error": test(nil, tags: merge(matchTags, ["index": Tag(ext: nil, param: .number, group: nil)]), [.stringList]),
        "test_result_action": test(nil, tags: merge(matchTags, ["index": Tag(ext: nil, param: .number, group: nil)]), [.stringList]),
        "test_result_execute": test(nil),
        "test_message": test(nil, tags: [
            "smtp": Tag(ext: nil, param: .none, group: "source"),
            "folder": Tag(ext: nil, param: .none, group: "source"),
        ], [.string, .number], optionalLeading: 1),
    ]

    private static func merge(_ a: [String: Tag], _ b: [String: Tag]) -> [String: Tag] { a.merging(b) { x, _ in x } }
}
