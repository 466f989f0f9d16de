import ComfyWire
import Testing

@Suite struct JSONValueTests {
    private func compactRoundTrip(_ text: String) throws -> String {
        try JSONValue(parsing: text).jsonString(.compact)
    }

    @Test func largestUInt64SeedSurvivesARoundTrip() throws {
        let value = try JSONValue(parsing: #"{"seed":18446744073709551615}"#)
        #expect(value["seed"]?.numberValue?.uint64 == UInt64.max)
        #expect(value.jsonString(.compact) == #"{"seed":18446744073709551615}"#)
    }

    @Test func smallestInt64AndNegativeIntegersSurviveARoundTrip() throws {
        let value = try JSONValue(parsing: "[-9223372036854775808,-42,0,-0]")
        #expect(value[0]?.numberValue?.int64 == Int64.min)
        #expect(value[1]?.intValue == -42)
        #expect(value.jsonString(.compact) == "[-9223372036854775808,-42,0,-0]")
    }

    @Test func floatsKeepTheirLiteralText() throws {
        let text = "[0.2,1e-05,104857600.0,1.0,-0.5,1E+300,2.50]"
        #expect(try compactRoundTrip(text) == text)
        #expect(try JSONValue(parsing: "1.0") != JSONValue(parsing: "1"))
    }

    @Test func doublesAreFormattedLikePythonRepr() {
        #expect(JSONNumber(0.2).literal == "0.2")
        #expect(JSONNumber(1e-05).literal == "1e-05")
        #expect(JSONNumber(104857600.0).literal == "104857600.0")
        #expect(JSONNumber(1.0).literal == "1.0")
        #expect(JSONNumber(9.1e15).literal == "9100000000000000.0")
        #expect(JSONNumber(-9.1e15).literal == "-9100000000000000.0")
        #expect(JSONNumber(1e16).literal == "1e+16")
        #expect(JSONNumber(Double.nan).literal == "NaN")
    }

    @Test func pythonStyleEscapesNonASCIIAsUTF16Units() throws {
        let value = try JSONValue(parsing: #"{"title":"正向提示词","emoji":"🎨","mixed":"café ✓"}"#)
        #expect(
            value.jsonString(.python)
                == #"{"title": "\u6b63\u5411\u63d0\u793a\u8bcd", "emoji": "\ud83c\udfa8", "mixed": "caf\u00e9 \u2713"}"#
        )
    }

    @Test func compactStyleKeepsUTF8() throws {
        let text = #"{"title":"正向提示词","emoji":"🎨"}"#
        #expect(try compactRoundTrip(text) == text)
    }

    @Test func escapedSurrogatePairsDecodeToOneCharacter() throws {
        let value = try JSONValue(parsing: #"["\ud83c\udfa8","\u6b63\u5411\u63d0\u793a\u8bcd"]"#)
        #expect(value == ["🎨", "正向提示词"])
    }

    @Test func nestedObjectsKeepKeyOrder() throws {
        let text = #"{"z":{"b":1,"a":2},"a":[{"y":null,"x":true}],"m":{}}"#
        #expect(try compactRoundTrip(text) == text)
        #expect(try JSONValue(parsing: text).objectValue?.keys == ["z", "a", "m"])
    }

    @Test func escapesAreDecodedAndWrittenAsPythonDoes() throws {
        let value = try JSONValue(parsing: #""q\" b\\ n\n t\t c\u0001 s\/ e\u007f""#)
        #expect(value == .string("q\" b\\ n\n t\t c\u{01} s/ e\u{7F}"))
        #expect(value.jsonString(.python) == #""q\" b\\ n\n t\t c\u0001 s/ e\u007f""#)
    }

    @Test func pythonStyleSeparatesWithSpaces() throws {
        #expect(try JSONValue(parsing: #"{"a":[1,2],"b":null}"#).jsonString(.python) == #"{"a": [1, 2], "b": null}"#)
    }

    @Test(arguments: [
        "", "{", #"{"a":}"#, "[1,]", "{'a':1}", #""unterminated"#, "1.", "-", "tru", "nul", "[1 2]",
        #"{"a" 1}"#, "\"tab\there\"", #""\x""#, #""\u12""#, "+1", ".5"
    ])
    func invalidJSONIsRejected(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test(arguments: [#"{"a":1} x"#, "[1] [2]", "01", "true false", "{}}"])
    func trailingGarbageIsRejected(text: String) throws {
        let error = try #require(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        #expect(error.message == "unexpected trailing characters")
    }

    @Test func surroundingWhitespaceIsAccepted() throws {
        #expect(try JSONValue(parsing: " \n\t[1]\r\n ") == [1])
    }

    @Test func nestingUpToTheDepthLimitIsAcceptedAndDeeperIsRejected() throws {
        let limit = JSONValue.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(try JSONValue(parsing: deepest).jsonString(.compact) == deepest)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        let error = try #require(throws: JSONParseError.self) { try JSONValue(parsing: tooDeep) }
        #expect(error.message.contains("nesting"))
    }

    @Test func pythonSpecialFloatsAreAccepted() throws {
        let text = "[NaN,Infinity,-Infinity]"
        #expect(try compactRoundTrip(text) == text)
    }
}
