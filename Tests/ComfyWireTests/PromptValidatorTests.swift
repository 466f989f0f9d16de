import Testing

@testable import ComfyWire

/// PromptValidator's INT coercion and range checks, against classes read from `/object_info` entries
/// (AcceptanceWork as recorded from ComfyUI 0.8.0, EmptyImage and SaveImage as the simulated node sends them).
@Suite struct PromptValidatorTests {
    private static let objectInfo = #"""
        {"EmptyImage":{"input":{"required":{"width":["INT",{"default":512,"min":1,"max":16384,"step":1}],"height":["INT",{"default":512,"min":1,"max":16384,"step":1}],"batch_size":["INT",{"default":1,"min":1,"max":4096}],"color":["INT",{"default":0,"min":0,"max":16777215,"step":1,"display":"color"}]}},"output":["IMAGE"],"output_name":["IMAGE"],"name":"EmptyImage","output_node":false},
         "AcceptanceWork":{"input":{"required":{"image":["IMAGE"],"steps":["INT",{"default":10,"min":1,"max":100000}],"seconds_per_step":["FLOAT",{"default":0.1,"min":0.0,"max":600.0,"step":0.01}]},"optional":{"seed":["INT",{"default":0,"min":0,"max":18446744073709551615}],"preview":["BOOLEAN",{"default":true}]}},"output":["IMAGE"],"output_name":["image"],"name":"AcceptanceWork","output_node":false},
         "SaveImage":{"input":{"required":{"images":["IMAGE"],"filename_prefix":["STRING",{"default":"ComfyUI"}]},"hidden":{"prompt":"PROMPT","extra_pnginfo":"EXTRA_PNGINFO"}},"output":[],"output_name":[],"name":"SaveImage","output_node":true}}
        """#

    private func validate(width: String = "8", seed: String) throws -> PromptValidator.Outcome {
        var catalog: [String: NodeClass] = [:]
        for (name, info) in try #require(try JSONValue(parsing: Self.objectInfo).objectValue) {
            let nodeClass = try #require(NodeClass(name: name, objectInfo: info))
            catalog[name] = nodeClass
        }
        let validator = PromptValidator(catalog: catalog, context: CatalogContext(), fileExists: { _ in false })
        let prompt = try JSONValue(
            parsing: """
                {"1":{"class_type":"EmptyImage","inputs":{"width":\(width),"height":8,"batch_size":1,"color":0}},\
                "2":{"class_type":"AcceptanceWork","inputs":{"image":["1",0],"steps":1,"seconds_per_step":0,"seed":\(seed)}},\
                "3":{"class_type":"SaveImage","inputs":{"images":["2",0],"filename_prefix":"x"}}}
                """)
        return validator.validate(prompt)
    }

    /// The first error ComfyUI would list for `node`, or nil when the prompt was accepted.
    private func firstError(_ outcome: PromptValidator.Outcome, node: String) -> JSONValue? {
        guard case .rejected(let body) = outcome else { return nil }
        return body["node_errors"]?[node]?["errors"]?[0]
    }

    /// Found by Tests/Fuzz: `"seed": 63e18` trapped converting the float to Int64. Python's `int(val)`
    /// gives the exact integer, which the range check then refuses.
    @Test(arguments: [
        ("63e18", "Value 63000000000000000000 bigger than max of 18446744073709551615"),
        ("1e30", "Value 1000000000000000019884624838656 bigger than max of 18446744073709551615"),
        ("-1e30", "Value -1000000000000000019884624838656 smaller than min of 0"),
        ("-9.3e18", "Value -9300000000000000000 smaller than min of 0")
    ])
    func intFromAFloatBeyondInt64IsRangeCheckedInsteadOfTrapping(seed: String, message: String) throws {
        let error = try #require(firstError(try validate(seed: seed), node: "2"))
        #expect(error["message"]?.stringValue == message)
        #expect(error["details"]?.stringValue == "seed")
    }

    @Test func intFromAFloatInRangeIsTruncatedExactly() throws {
        guard case .accepted(let prompt, let outputs, _) = try validate(width: "64.9", seed: "1e19") else {
            Issue.record("rejected")
            return
        }
        #expect(outputs == ["3"])
        #expect(prompt["1"]?["inputs"]?["width"] == JSONValue.int(64))
        #expect(prompt["2"]?["inputs"]?["seed"]?.numberValue?.literal == "10000000000000000000")
    }

    @Test func integerLiteralsBeyondUInt64AreComparedExactly() throws {
        #expect(firstError(try validate(seed: "18446744073709551615"), node: "2") == nil)
        #expect(
            firstError(try validate(seed: "18446744073709551616"), node: "2")?["message"]?.stringValue
                == "Value 18446744073709551616 bigger than max of 18446744073709551615")
        #expect(
            firstError(try validate(width: "100000000000000000000", seed: "0"), node: "1")?["message"]?.stringValue
                == "Value 100000000000000000000 bigger than max of 16384")
        #expect(
            firstError(try validate(width: "-100000000000000000000", seed: "0"), node: "1")?["message"]?.stringValue
                == "Value -100000000000000000000 smaller than min of 1")
    }

    /// A chain SaveImage ← AcceptanceWork × n ← EmptyImage.
    private func chain(_ length: Int) throws -> PromptValidator.Outcome {
        var catalog: [String: NodeClass] = [:]
        for (name, info) in try #require(try JSONValue(parsing: Self.objectInfo).objectValue) {
            catalog[name] = try #require(NodeClass(name: name, objectInfo: info))
        }
        var nodes: [String] = [#""0":{"class_type":"EmptyImage","inputs":{"width":8,"height":8,"batch_size":1,"color":0}}"#]
        for index in 1...length {
            nodes.append(#""\#(index)":{"class_type":"AcceptanceWork","inputs":{"image":["\#(index - 1)",0],"steps":1,"seconds_per_step":0}}"#)
        }
        nodes.append(#""out":{"class_type":"SaveImage","inputs":{"images":["\#(length)",0],"filename_prefix":"x"}}"#)
        let validator = PromptValidator(catalog: catalog, context: CatalogContext(), fileExists: { _ in false })
        return validator.validate(try JSONValue(parsing: "{" + nodes.joined(separator: ",") + "}"))
    }

    /// Found by reading the code after fuzzing: validation recursed once per link, and a chain of ~7,000 nodes
    /// (450 KB of JSON) overflowed the stack. Now a chain deeper than the limit is a validation error, as ComfyUI's
    /// RecursionError is; one within it validates.
    @Test func aChainTooDeepToValidateIsAnErrorNotACrash() throws {
        if case .rejected(let body) = try chain(ValidationRun.maximumDepth - 2) {
            Issue.record("a chain within the limit was refused: \(body)")
        }
        for length in [ValidationRun.maximumDepth + 1, 20_000] {
            guard case .rejected(let body) = try chain(length) else {
                Issue.record("a chain of \(length) was accepted")
                continue
            }
            let error = body["node_errors"]?["out"]?["errors"]?[0]
            #expect(error?["extra_info"]?["exception_type"] == "RecursionError")
        }
    }
}
