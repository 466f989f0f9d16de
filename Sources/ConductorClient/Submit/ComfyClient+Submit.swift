import ComfyWire
import NIOHTTP1

extension ComfyClient {
    /// `POST /prompt`. A 400 becomes `ClientError.promptRejected`, rendered per node with `workflow`'s titles.
    public func submit(_ request: PromptRequest, workflow: Workflow? = nil) async throws(ClientError) -> SubmitResult {
        let answer = try await send(.POST, "/prompt", json: request.json)
        let body = try? JSONValue(parsing: answer.body)
        if answer.status == 400, let body {
            throw .promptRejected(PromptRejection(json: body, workflow: workflow, server: server.description))
        }
        try expectOK(answer, "POST /prompt")
        guard let body, let id = body["prompt_id"]?.stringValue else {
            throw .badAnswer(server: server.description, request: "POST /prompt", reason: "no prompt_id in \(answer.text.prefix(200))")
        }
        return SubmitResult(
            promptID: id, number: body["number"]?.numberValue ?? JSONNumber(0),
            nodeErrors: body["node_errors"]?.objectValue ?? [:], json: body)
    }
}
