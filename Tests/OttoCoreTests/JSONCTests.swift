import Foundation
import OttoContracts
import Testing

@testable import OttoCore

@Suite struct JSONCTests {
    @Test func commentsAndTrailingCommasAreAccepted() throws {
        let text = """
            // leading comment
            {
              /* block
                 comment */ "a": 1, // after a value
              "b": [1, 2, 3,],
              "c": {"d": "x//not a comment", "e": "/* nor this */",},
            }
            """
        let root = try JSONC.parse(text)
        guard case .number(1, true) = root.member("a")?.kind else {
            Issue.record("a should be 1")
            return
        }
        guard case .string("x//not a comment") = root.member("c")?.member("d")?.kind,
            case .string("/* nor this */") = root.member("c")?.member("e")?.kind
        else {
            Issue.record("strings must keep comment-like text")
            return
        }
    }

    @Test func escapesAndUnicodeAreDecoded() throws {
        let root = try JSONC.parse(#"{"s": "a\"b\\c\n\u00e9\ud83d\ude00–"}"#)
        guard case .string(let value) = root.member("s")?.kind else {
            Issue.record("expected a string")
            return
        }
        #expect(value == "a\"b\\c\né😀–")
    }

    @Test(arguments: [
        ("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "expected \",\" or \"}\""),
        ("{\"a\": }", 1, 7, "expected a value"),
        ("{\"a\": 1", 1, 1, "never closed"),
        ("{} {}", 1, 4, "after the end"),
        ("{\"a\": 1 /* open", 1, 9, "never closed"),
        ("{'a': 1}", 1, 2, "expected a quoted key"),
    ])
    func syntaxErrorsNameLineAndColumn(text: String, line: Int, column: Int, reason: String) {
        let error = #expect(throws: JSONCSyntaxError.self) { try JSONC.parse(text) }
        #expect(error?.line == line)
        #expect(error?.column == column)
        #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "")")
    }

    @Test func editingAValueKeepsEveryOtherByte() throws {
        let text = """
            {
              // my favourite model
              "modelManagement": {
                "flowDefaults": {
                  "heartbeat": null, // cheap one later
                  "scheduledTasks": "a/b"
                }
              },
              "myOwnKey": { "x": [1, 2] },
            }
            """
        let edited = try JSONCEditor.setting(
            ["modelManagement", "flowDefaults", "heartbeat"],
            to: "\"openai/gpt-5 mini\"",
            in: Array(text.utf8)
        )
        let expected = text.replacingOccurrences(
            of: "\"heartbeat\": null", with: "\"heartbeat\": \"openai/gpt-5 mini\"")
        #expect(String(decoding: edited, as: UTF8.self) == expected)
    }

    @Test func missingMembersAndObjectsAreInserted() throws {
        let text = """
            {
              "version": 1, // keep me
              "modelManagement": {
                "catalogRefreshIntervalSeconds": 60
              }
            }
            """
        let edited = try JSONCEditor.setting(
            ["modelManagement", "flowDefaults", "heartbeat"],
            to: "\"a/b\"",
            in: Array(text.utf8)
        )
        let result = String(decoding: edited, as: UTF8.self)
        #expect(
            result == """
                {
                  "version": 1, // keep me
                  "modelManagement": {
                    "catalogRefreshIntervalSeconds": 60,
                    "flowDefaults": {
                      "heartbeat": "a/b"
                    }
                  }
                }
                """
        )
        let again = try JSONCEditor.setting(
            ["modelManagement", "flowDefaults", "scheduledTasks"],
            to: "null",
            in: edited
        )
        let root = try JSONC.parse(again)
        #expect(root.member("modelManagement")?.member("flowDefaults")?.member("scheduledTasks") != nil)
        #expect(String(decoding: again, as: UTF8.self).contains("// keep me"))
    }

    @Test func insertingRespectsATrailingCommaAndCompactObjects() throws {
        let trailing = try JSONCEditor.setting(["b"], to: "2", in: Array("{\n  \"a\": 1,\n}".utf8))
        #expect(String(decoding: trailing, as: UTF8.self) == "{\n  \"a\": 1,\n  \"b\": 2,\n}")
        let compact = try JSONCEditor.setting(["b"], to: "2", in: Array(#"{"a":1}"#.utf8))
        #expect(try JSONC.parse(compact).member("b") != nil)
        let empty = try JSONCEditor.setting(["b"], to: "2", in: Array("{}".utf8))
        #expect(String(decoding: empty, as: UTF8.self) == "{\n  \"b\": 2\n}")
    }

    @Test func aPathThroughANonObjectIsAnError() {
        let error = #expect(throws: JSONCEditor.EditError.self) {
            try JSONCEditor.setting(
                ["modelManagement", "flowDefaults"], to: "{}", in: Array(#"{"modelManagement": 3}"#.utf8))
        }
        #expect(error == .notAnObject(path: "modelManagement", found: "a number"))
    }
}

@Suite struct StrictJSONTests {
    @Test func strictModeRejectsCommentsAndTrailingCommasButAcceptsPlainJSON() throws {
        _ = try JSONC.parse(Array(#"{"a": [1, 2], "b": {"c": null}}"#.utf8), strict: true)
        _ = try JSONC.parse(Array(#"{}"#.utf8), strict: true)
        _ = try JSONC.parse(Array(#"[]"#.utf8), strict: true)
        #expect(throws: JSONCSyntaxError.self) { try JSONC.parse(Array(#"{"a": 1,}"#.utf8), strict: true) }
        #expect(throws: JSONCSyntaxError.self) { try JSONC.parse(Array(#"[1,]"#.utf8), strict: true) }
        #expect(throws: JSONCSyntaxError.self) { try JSONC.parse(Array("{\"a\": 1 // no\n}".utf8), strict: true) }
    }
}
