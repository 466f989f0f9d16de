import ComfyWire
import ConductorClient
import ConductorCore
import Testing

/// `--set`, node lookup and seed randomisation, on plain values.
@Suite("Editing a workflow before it is queued")
struct WorkflowEditingTests {
    static func workflow() throws -> Workflow {
        try Workflow(json: Fixtures.workflow(), source: "test.json")
    }

    @Test("--set by node id replaces a string input and keeps everything else")
    func setByID() throws {
        var workflow = try Self.workflow()
        try workflow.apply(InputAssignment(parsing: "6.text=a cat, sitting"))
        #expect(workflow.prompt["6"]?["inputs"]?["text"] == "a cat, sitting")
        #expect(workflow.prompt["6"]?["inputs"]?["clip"] == ["4", 1])
        #expect(workflow.prompt["6"]?["_meta"]?["title"] == "Positive Prompt")
    }

    @Test("--set by title, and by a class that appears once; a value may contain '=' and a title '.'")
    func setByTitleAndClass() throws {
        var workflow = try Self.workflow()
        try workflow.apply(InputAssignment(parsing: "Positive Prompt.text=x=1"))
        try workflow.apply(InputAssignment(parsing: "KSampler.steps=12"))
        #expect(workflow.prompt["6"]?["inputs"]?["text"] == "x=1")
        #expect(workflow.prompt["3"]?["inputs"]?["steps"] == 12)
        let dotted = try InputAssignment(parsing: "SD v1.5 Loader.ckpt_name=a.safetensors")
        #expect(dotted.target == "SD v1.5 Loader" && dotted.input == "ckpt_name" && dotted.value == "a.safetensors")
    }

    @Test("a value takes the type of the value it replaces")
    func typing() throws {
        var workflow = try Self.workflow()
        try workflow.apply(InputAssignment(parsing: "3.cfg=6.5"))
        try workflow.apply(InputAssignment(parsing: "Positive Prompt.text=42"))
        #expect(workflow.prompt["3"]?["inputs"]?["cfg"] == .number(JSONNumber(literal: "6.5")))
        #expect(workflow.prompt["6"]?["inputs"]?["text"] == "42")
        #expect(throws: ClientError.self) { try workflow.apply(InputAssignment(parsing: "3.steps=many")) }
    }

    @Test("mistakes are refused with what to do: unknown node, unknown input, a link, an ambiguous class, no '='")
    func mistakes() throws {
        var workflow = try Self.workflow()
        func message(_ text: String) -> String {
            do {
                try workflow.apply(InputAssignment(parsing: text))
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(message("42.text=x").contains("No node has the id, title or class \"42\""))
        #expect(message("42.text=x").contains("6 \"Positive Prompt\" (CLIPTextEncode)"))
        #expect(message("3.step=3").contains("has no input \"step\". Its inputs: seed, steps"))
        #expect(message("6.clip=x").contains("is a link from node 4"))
        #expect(message("CLIPTextEncode.text=x").contains("2 nodes are CLIPTextEncode (6, 7)"))
        #expect(message("6.text").contains("expected NODE.INPUT=VALUE"))
    }

    @Test("--randomize gives every seed a new value from the random source; chosen nodes only with --randomize-node")
    func seeds() throws {
        var generator = SplitMix64(seed: 7)
        var workflow = try Self.workflow()
        let changes = try workflow.randomizeSeeds(using: &generator)
        #expect(changes.map(\.nodeID) == ["3"] && changes[0].input == "seed")
        #expect(workflow.prompt["3"]?["inputs"]?["seed"] == .number(JSONNumber(changes[0].value)))
        #expect(changes[0].value < Workflow.seedLimit)
        var again = SplitMix64(seed: 7)
        var copy = try Self.workflow()
        #expect(try copy.randomizeSeeds(only: ["Sampler"], using: &again) == changes)
        #expect(throws: ClientError.self) { try copy.randomizeSeeds(only: ["Positive Prompt"], using: &again) }
    }

    @Test("a /prompt body file keeps its client_id and extra_data; a UI-format file is refused with how to export")
    func fileShapes() throws {
        let body: JSONValue = ["client_id": "readme", "prompt": Fixtures.workflow(), "extra_data": ["extra_pnginfo": ["workflow": [:]]]]
        let workflow = try Workflow(json: body, source: "body.json")
        #expect(workflow.clientID == "readme" && workflow.extraData["extra_pnginfo"] != nil && workflow.classType(of: "3") == "KSampler")
        #expect {
            try Workflow(json: ["nodes": [], "links": []], source: "ui.json")
        } throws: { ($0 as? ClientError)?.description.contains("Export (API)") == true }
    }
}
